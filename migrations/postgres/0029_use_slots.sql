-- A coupon or promotion without a use limit is still counted, and on a busy day every
-- order counts it at once. With one row per coupon every placement queued on that row's
-- lock until the previous one's commit was flushed. Unlimited uses are now spread over
-- several rows (slots 1 and up, chosen by the order id) and summed when read; a limited
-- use is still claimed on slot 0, checked against the sum of all slots.
ALTER TABLE promotion_uses ADD COLUMN slot BIGINT NOT NULL DEFAULT 0;
ALTER TABLE promotion_uses DROP CONSTRAINT promotion_uses_pkey,
    ADD PRIMARY KEY (store_id, kind, ref_id, customer_id, slot);
