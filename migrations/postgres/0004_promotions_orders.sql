-- Stored value, usage counters and orders. Money that changes atomically (balances,
-- totals) is kept as whole ten-thousandths (`_e4`: 12.5 = 125000) so both backends
-- compare and subtract it exactly in SQL.

-- How often a coupon, promotion or promotion code has been used, in total
-- (customer_id 0) and per customer. A use is claimed in the transaction that places
-- the order, with the limit in the UPDATE's WHERE clause, so no limit is ever exceeded.
CREATE TABLE promotion_uses (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, kind, ref_id, customer_id)
);

CREATE TABLE gift_certificates (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id BIGINT NOT NULL,
    code TEXT NOT NULL,
    -- Lower-cased code: codes match whatever case the shopper types.
    code_key TEXT NOT NULL,
    amount_e4 BIGINT NOT NULL,
    balance_e4 BIGINT NOT NULL,
    status TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    customer_id BIGINT NOT NULL DEFAULT 0,
    order_id BIGINT NOT NULL DEFAULT 0,
    purchase_date BIGINT NOT NULL,
    -- 0 = never expires.
    expiry_date BIGINT NOT NULL DEFAULT 0,
    -- Names, emails, template, message: everything the balance does not depend on.
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE UNIQUE INDEX gift_certificates_code ON gift_certificates (store_id, code_key);

-- Wrong gift-certificate codes tried on a checkout, for the storefront's rate limit.
CREATE TABLE gift_certificate_attempts (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL,
    code_key TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (store_id, cart_id, code_key)
);

CREATE TABLE customers (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id BIGINT NOT NULL,
    -- Lower-cased email, unique per store.
    email_key TEXT NOT NULL,
    store_credit_e4 BIGINT NOT NULL DEFAULT 0,
    date_created BIGINT NOT NULL,
    date_modified BIGINT NOT NULL,
    -- Everything else of the customer record, as JSON.
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE UNIQUE INDEX customers_email ON customers (store_id, email_key);

-- Orders: an immutable snapshot of the checkout (doc) plus the columns queries need.
CREATE TABLE orders (
    store_id BIGINT NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    id BIGINT NOT NULL,
    cart_id TEXT NOT NULL,
    status_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    currency_code TEXT NOT NULL,
    total_inc_tax_e4 BIGINT NOT NULL,
    date_created BIGINT NOT NULL,
    date_modified BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE INDEX orders_cart ON orders (store_id, cart_id);
