-- Abandoned carts: when a cart was marked abandoned (0 = not yet; set once, so
-- `store/cart/abandoned` fires once per cart), and the token of its recovery link.
ALTER TABLE carts ADD COLUMN abandoned_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE carts ADD COLUMN abandoned_token TEXT;
CREATE UNIQUE INDEX carts_abandoned_token ON carts (abandoned_token);
CREATE INDEX carts_abandonment ON carts (abandoned_at, updated_at);

-- Abandoned-cart settings: channel_id 0 holds the store-wide values, other rows a
-- channel's overrides. `doc` is the JSON object of the settings that are set.
CREATE TABLE abandoned_cart_settings (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, channel_id)
);
