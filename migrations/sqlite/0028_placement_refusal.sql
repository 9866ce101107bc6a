-- PostgreSQL only (the function that fails a one-statement order placement); SQLite places
-- orders in its one writer's transaction.
SELECT 1;
