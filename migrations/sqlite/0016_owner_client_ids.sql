-- Each API account has a client id, recorded as the owner of the metafields it creates
-- (`owner_client_id`) and as its hooks' `client_id`. Existing accounts get a random one;
-- existing metafields have no known owner and keep ''.
ALTER TABLE api_tokens ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET client_id = lower(hex(randomblob(15)));
ALTER TABLE metafields ADD COLUMN owner_client_id TEXT NOT NULL DEFAULT '';
