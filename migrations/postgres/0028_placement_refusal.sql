-- An order is placed on PostgreSQL by one statement that commits by itself. When one of
-- its checks falls short (a coupon's use limit, a gift certificate's balance, the store
-- credit, the idempotency key) or the cart has an earlier unpaid order to give back, the
-- statement calls this and fails as a whole, so nothing it wrote stays; Kassa then
-- places the order in a transaction that finds out why. Its own SQLSTATE tells this
-- failure from any other.
CREATE FUNCTION kassa_refuse_placement() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'order placement refused: a check fell short; nothing was written'
        USING ERRCODE = 'KA001';
END
$$;
