-- A customer's address book (Customers V3 `/customers/addresses`). `address_key` is a hash
-- of the address's core fields (case-folded): one customer never holds the same address
-- twice, and a repeated create changes nothing. The rest of the address is in `doc`.
CREATE TABLE customer_addresses (
    store_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    address_key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX customer_addresses_key ON customer_addresses (store_id, customer_id, address_key);
