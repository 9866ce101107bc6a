-- What an unpaid order holds (stock, coupon uses, gift-certificate and store-credit
-- balances) until it is paid, or until its reservation expires or it is cancelled.
-- The held amounts themselves are listed in the order document (`held`), so releasing
-- can give back exactly what placing took.

-- Unix seconds after which an unpaid order's reservation lapses (0 = nothing reserved
-- any more: paid, or released).
ALTER TABLE orders ADD COLUMN reserved_until BIGINT NOT NULL DEFAULT 0;
-- 1 once what the order held has been given back; never given back twice.
ALTER TABLE orders ADD COLUMN released BIGINT NOT NULL DEFAULT 0;
CREATE INDEX orders_reservation ON orders (reserved_until);

-- Transactional outbox: events written in the same transaction as the change they
-- describe, delivered to webhooks afterwards (at least once, in order per resource).
CREATE TABLE webhook_outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
