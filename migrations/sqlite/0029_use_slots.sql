-- The counter's slot (see the PostgreSQL migration). SQLite's one writer places orders
-- one at a time, so nothing queues on a counter row there: every use is counted on slot
-- 0, and the primary key stays as it was.
ALTER TABLE promotion_uses ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
