-- Storefront shoppers: a session per browser (the cookie's token is kept only as a hash),
-- the session that owns a storefront cart and the order placed from it, and the domain
-- that picks a store from the Host header.
CREATE TABLE shopper_sessions (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX shopper_sessions_expiry ON shopper_sessions (expires_at);

ALTER TABLE carts ADD COLUMN shopper_id TEXT;
CREATE INDEX carts_shopper ON carts (store_id, shopper_id);
ALTER TABLE orders ADD COLUMN shopper_id TEXT;

ALTER TABLE stores ADD COLUMN storefront_domain TEXT;
CREATE UNIQUE INDEX stores_storefront_domain ON stores (storefront_domain);
