-- The idempotency key a request's payout is made (and looked up) under, stored with the row
-- when it is discovered and read from it ever after. New rows name the request's instance:
-- `allot-payout-<address>-<created_at>`, so a later request at a closed request's address (its
-- id taken again) is never answered with the earlier request's payment. Rows stored before
-- keep the key they may already have been paid under: the address alone.
ALTER TABLE requests ADD COLUMN payout_key TEXT;
UPDATE requests SET payout_key = 'allot-payout-' || address;
