-- Every V2 coupon's name, trimmed and lower-cased (the name must be unique per store,
-- compared without regard to case). The primary key makes two coupons with one name
-- impossible, however close together their writes; `owner` is the coupon (`coupon:5`).
-- The names already stored, and the discount codes again, are keyed by Kassa itself
-- when this migration runs (src/store/migrate.rs): SQL's lower() cannot be trusted with
-- letters beyond ASCII (SQLite's lower() changes only A-Z). A name two coupons already
-- share stays with the first; the other must be renamed at its next change.
CREATE TABLE coupon_names (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    name_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (store_id, name_key)
);
CREATE INDEX coupon_names_by_owner ON coupon_names (store_id, owner);
