-- Per-store payment settings: whether a payment authorizes only (captured later with
-- POST /v3/orders/{id}/payment_actions/capture) or authorizes and captures at once.
CREATE TABLE payment_settings (
    store_id INTEGER PRIMARY KEY REFERENCES stores(id) ON DELETE CASCADE,
    transaction_type TEXT NOT NULL DEFAULT 'authorization_and_capture'
);

-- Money moved on an order after placement, ten-thousandths. Each is changed by one
-- conditional UPDATE in the same transaction as the transaction row it stands for, so
-- concurrent refunds serialize on the order row and never exceed what was paid.
ALTER TABLE orders ADD COLUMN authorized_e4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN paid_e4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refunded_e4 INTEGER NOT NULL DEFAULT 0;

-- Refunds (POST /v3/orders/{id}/payment_actions/refunds); ids from the 'refund' counter.
CREATE TABLE order_refunds (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    order_id INTEGER NOT NULL,
    total_e4 INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE INDEX order_refunds_order ON order_refunds (store_id, order_id, id);
CREATE INDEX order_refunds_created ON order_refunds (store_id, created_at);

-- Stored cards (save_instrument: true): a random token standing for the card at the
-- gateway, bound to one customer. Never a card number or CVV: brand, last four, expiry.
CREATE TABLE stored_instruments (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    token TEXT NOT NULL,
    customer_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, token)
);
CREATE INDEX stored_instruments_customer ON stored_instruments (store_id, customer_id);
