-- Metafields hang off carts and orders alike: the cart table becomes one table with the
-- resource's type beside its id, so one set of queries serves both. Existing rows are carts.
-- Order ids are stored as their decimal text, like cart UUIDs.
ALTER TABLE cart_metafields RENAME TO metafields;
ALTER TABLE metafields RENAME COLUMN cart_id TO resource_id;
ALTER TABLE metafields ADD COLUMN resource_type TEXT NOT NULL DEFAULT 'cart';
DROP INDEX cart_metafields_key;
-- The resource id leads so that deleting an expired cart's metafields (which knows only the
-- cart id) uses it; order ids repeat across stores, hence the store in the key.
CREATE UNIQUE INDEX metafields_key ON metafields (resource_id, resource_type, store_id, namespace, key);
