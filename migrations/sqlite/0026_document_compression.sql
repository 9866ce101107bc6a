-- PostgreSQL only (lz4 compression of documents); SQLite stores documents uncompressed.
SELECT 1;
