-- Orders V3 gives transactions integer ids. Each transaction gets one when it is written:
-- order id × 1000 + its place among the order's transactions, so ids are unique per store,
-- increase within an order, and need no store-wide counter row (which every payment would
-- otherwise queue on). Transactions written before this migration are numbered the same way.
ALTER TABLE order_transactions ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
UPDATE order_transactions SET number = order_id * 1000 + (
    SELECT COUNT(*) FROM order_transactions t
    WHERE t.store_id = order_transactions.store_id AND t.order_id = order_transactions.order_id
      AND (t.created_at < order_transactions.created_at
           OR (t.created_at = order_transactions.created_at AND t.id <= order_transactions.id)));
CREATE INDEX order_transactions_number ON order_transactions (store_id, number);
