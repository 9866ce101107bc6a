-- Webhook subscriptions (`/v3/hooks`) and their delivery state. Delivery reads the
-- transactional outbox (0006): each event is fanned out once into one delivery row
-- per matching active hook; a delivery row is then sent, retried and leased on its own.

CREATE TABLE webhooks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL,
    destination TEXT NOT NULL,
    -- JSON object of custom headers, or NULL.
    headers TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_store ON webhooks (store_id, is_active);

-- Notification emails of `/v3/hooks/admin`, per store.
CREATE TABLE webhook_admin (
    store_id BIGINT PRIMARY KEY REFERENCES stores(id) ON DELETE CASCADE,
    emails TEXT NOT NULL DEFAULT '[]'
);

-- 1 once the event has been turned into delivery rows (or matched no hook).
ALTER TABLE webhook_outbox ADD COLUMN fanned_out BIGINT NOT NULL DEFAULT 0;
CREATE INDEX webhook_outbox_pending ON webhook_outbox (fanned_out, seq);

-- state: 0 pending, 1 delivered, 2 given up. Times in Unix milliseconds of the
-- delivering node's wall clock (they pace network retries, not business time).
CREATE TABLE webhook_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    store_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    resource_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    state BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (hook_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (hook_id, resource_id, state, seq);
