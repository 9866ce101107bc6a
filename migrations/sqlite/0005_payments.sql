-- Payment access tokens (POST /payments/access_tokens): SHA-256 hashes, each bound to one
-- order, valid for an hour and redeemed by at most one successful payment.
CREATE TABLE payment_access_tokens (
    token_hash TEXT PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    order_id INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

-- Every payment attempt on an order, approved or not. Never a card number or CVV: only
-- the brand and the last four digits.
CREATE TABLE order_transactions (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL,
    currency_code TEXT NOT NULL,
    gateway TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE INDEX order_transactions_order ON order_transactions (store_id, order_id);

-- While a payment is with the gateway, the order is held (unix seconds; 0 = not held), so
-- two payments for one order can never both be sent.
ALTER TABLE orders ADD COLUMN payment_started_at INTEGER NOT NULL DEFAULT 0;
