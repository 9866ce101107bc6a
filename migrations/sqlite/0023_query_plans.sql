-- Indexes that let the busiest lookups reach their rows directly. Without them SQLite's
-- planner walked every order (or transaction) of the store to honour an ORDER BY on
-- the primary key, so each checkout cost more as the store's history grew.
DROP INDEX orders_cart;
CREATE INDEX orders_cart ON orders (store_id, cart_id, id);
CREATE INDEX orders_customer ON orders (store_id, customer_id);
DROP INDEX order_transactions_order;
CREATE INDEX order_transactions_order ON order_transactions (store_id, order_id, number);
