-- Store configuration that checkouts read (shipping zones and methods, pickup locations,
-- tax zones, classes and settings…), one JSON document per object. `kind` names the
-- collection; ids are per store and kind.
CREATE TABLE config_docs (
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, kind, id)
);
