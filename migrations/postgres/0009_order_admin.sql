-- Orders changed by the merchant (V2 Orders writes): archiving, a revision every
-- change is guarded by, and shipments.

-- 1 once archived (DELETE /v2/orders/{id}); archived orders stay readable.
ALTER TABLE orders ADD COLUMN is_deleted BIGINT NOT NULL DEFAULT 0;
-- Bumped by every merchant change; an UPDATE guarded by it applies only if nobody
-- changed the order since it was read.
ALTER TABLE orders ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- Shipments of an order's products. Ids are per store (the `shipment` counter).
CREATE TABLE order_shipments (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id BIGINT NOT NULL,
    order_id BIGINT NOT NULL,
    date_created BIGINT NOT NULL,
    -- Tracking, provider, comments, addresses and items, as JSON.
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE INDEX order_shipments_order ON order_shipments (store_id, order_id, id);
