-- Stores, API accounts, catalog, carts. JSON documents live in TEXT columns; times are unix seconds.
CREATE TABLE stores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    config_version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE counters (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (store_id, name)
);

CREATE TABLE products (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    sku TEXT NOT NULL,
    doc TEXT NOT NULL,
    date_modified INTEGER NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE UNIQUE INDEX products_name ON products (store_id, name);

CREATE TABLE carts (
    id TEXT PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX carts_expiry ON carts (expires_at);

CREATE TABLE cart_redirect_tokens (
    token_hash TEXT PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX cart_redirect_tokens_cart ON cart_redirect_tokens (cart_id);

CREATE TABLE cart_metafields (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    cart_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    permission_set TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE UNIQUE INDEX cart_metafields_key ON cart_metafields (cart_id, namespace, key);

CREATE TABLE channel_cart_settings (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    allow_purchasing BOOLEAN,
    PRIMARY KEY (store_id, channel_id)
);
