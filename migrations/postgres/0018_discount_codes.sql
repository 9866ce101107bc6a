-- Every coupon code and promotion code of a store, trimmed and lower-cased as codes are
-- matched at checkout. The primary key is the unique index that makes two writes of one
-- code impossible, however close together; `owner` is the configuration document that
-- has the code (`coupon:5`, `promotion:3`).
CREATE TABLE discount_codes (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    code_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (store_id, code_key)
);
CREATE INDEX discount_codes_by_owner ON discount_codes (store_id, owner);

-- The codes stored so far (a code two documents already share stays with the first).
INSERT INTO discount_codes (store_id, code_key, owner)
SELECT store_id, lower(btrim(doc::jsonb ->> 'code')), 'coupon:' || id
FROM config_docs
WHERE kind = 'coupon' AND doc::jsonb ->> 'code' IS NOT NULL
ORDER BY store_id, id
ON CONFLICT DO NOTHING;

INSERT INTO discount_codes (store_id, code_key, owner)
SELECT d.store_id, lower(btrim(c ->> 'code')), 'promotion:' || d.id
FROM config_docs d, jsonb_array_elements(COALESCE(d.doc::jsonb -> 'codes', '[]'::jsonb)) c
WHERE d.kind = 'promotion' AND c ->> 'code' IS NOT NULL
ORDER BY d.store_id, d.id
ON CONFLICT DO NOTHING;
