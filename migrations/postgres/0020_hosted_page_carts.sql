-- The cart a storefront session's hosted pages show: the one whose redirect link the
-- shopper opened last, and whether it opened as the embedded checkout. It moves with the
-- session when sign-in or sign-out replaces it, and goes with it.
CREATE TABLE shopper_page_carts (
    session_id TEXT PRIMARY KEY REFERENCES shopper_sessions(id) ON DELETE CASCADE,
    store_id BIGINT NOT NULL,
    cart_id TEXT NOT NULL,
    embedded BIGINT NOT NULL DEFAULT 0
);
