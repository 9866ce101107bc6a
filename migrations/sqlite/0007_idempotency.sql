-- Idempotency keys: one row per (scope, key) a client sent with a POST. `scope` is the
-- store the request addressed (`store:{store_hash}`, or `host:{Host}` for paths that
-- carry no store hash). The first request claims the row (state 0, in flight); its
-- response is saved on it (state 1, done) and replayed to any retry that sends the same
-- request (`fingerprint`: SHA-256 of method, path and query, credentials and body).
-- `outcome` is written by a handler's own transaction ("order:123"), so a retry after a
-- crash can find what the first attempt already did. Rows live 24 hours.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- 0 = in flight, 1 = done (response saved).
    state BIGINT NOT NULL DEFAULT 0,
    -- Who holds the in-flight claim; a retry that takes an abandoned claim over changes it.
    lock_token TEXT NOT NULL,
    response_status BIGINT NOT NULL DEFAULT 0,
    -- JSON array of [name, value] pairs.
    response_headers TEXT NOT NULL DEFAULT '[]',
    response_body BLOB,
    outcome TEXT,
    created_at BIGINT NOT NULL,
    locked_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
