-- A customer's storefront password, as `pbkdf2-sha256$<rounds>$<salt>$<key>`; empty when
-- the customer has none (such a customer cannot sign in).
ALTER TABLE customers ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
