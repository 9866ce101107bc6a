-- The catalog products a cart's lines name, comma-separated, kept with every cart write so
-- PostgreSQL can hand a cart change its products in the statement that reads the cart.
-- Carts written before keep '' and have their products read on their own.
ALTER TABLE carts ADD COLUMN product_ids TEXT NOT NULL DEFAULT '';
