-- Claims read only the index entries up to the rows they take. A claim takes the oldest due
-- open requests no one holds (`Store::claim_next`, `Store::claim_due`); with only
-- `requests_by_state` it read every due open row and sorted them for each claim: 65 ms a claim
-- with 10,000 requests waiting, half the database's time in `bridge_figures`. Free open rows,
-- in claim order, with their due time last so that rows not due yet are passed over inside the
-- index.
CREATE INDEX requests_free_in_claim_order
    ON requests (discovered_at_ms, discovered_slot, address, next_attempt_ms)
    WHERE claimed_by IS NULL
      AND state IN ('discovered', 'quoted', 'payout_pending', 'paid', 'settle_sent');
-- Open rows someone holds (at most a few hundred: each lane's batch): a worker's own claims
-- after a restart, and claims that expired with their worker.
CREATE INDEX requests_held_by_expiry ON requests (claim_expires_ms)
    WHERE claimed_by IS NOT NULL
      AND state IN ('discovered', 'quoted', 'payout_pending', 'paid', 'settle_sent');
