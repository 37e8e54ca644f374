-- The idempotency key a request's payout is made (and looked up) under, stored with the row
-- when it is discovered and read from it ever after. New rows name the request's instance:
-- `allot-payout-<address>-<created_at>`, so a later request at a closed request's address (its
-- id taken again) is never answered with the earlier request's payment. A row without one
-- (stored before this migration) was paid under the address alone, and keeps that key
-- (`StoredRequest::payout_key`).
ALTER TABLE requests ADD COLUMN payout_key TEXT;
-- A bridge of an older version, still running on a shared database, would pay under the
-- address-only key a row this version may have paid under its own key (and the reverse): one
-- payment under each key; and its ingester would store rows without a key. An older binary
-- refuses to start on this database (it does not know this migration); the renames below stop
-- one already running: its claims and its count of a provider call before making it name
-- `payout_attempts`, its inserts of new requests `discovered_signature`, and they fail.
ALTER TABLE requests RENAME COLUMN payout_attempts TO payout_calls;
ALTER TABLE requests RENAME COLUMN discovered_signature TO discovered_in_signature;
