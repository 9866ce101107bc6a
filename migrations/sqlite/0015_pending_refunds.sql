-- A refund is claimed ('pending', counted against what is left to refund) before the
-- gateway is asked, and 'done' once it answered; recovery finds the pending ones here.
ALTER TABLE order_refunds ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
CREATE INDEX order_refunds_pending ON order_refunds (created_at) WHERE state = 'pending';
