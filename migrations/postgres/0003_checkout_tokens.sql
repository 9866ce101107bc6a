-- Checkout tokens (POST /checkouts/{id}/token): kept as SHA-256 hashes, each bound to
-- one cart, valid until `expires_at` and for at most `max_uses` redemptions.
CREATE TABLE checkout_tokens (
    token_hash TEXT PRIMARY KEY,
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_uses BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX checkout_tokens_cart ON checkout_tokens (cart_id);
