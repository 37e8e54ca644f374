-- Requests whose address a later request took. Ids are the clients' choice: once a request is
-- final and closed on chain, its id (and so its address) can be taken by another request. A row
-- the bridge is done with (settled or withdrawn) gives the address to the later request when that
-- request is found (a later `created_at`), and is kept here, as it was, so that the audit, the
-- reconcile report and a person can still find what was paid for it. (A row still open, or in
-- manual review, keeps the address: the worker sends it to review, and `review close` ends it.)
CREATE TABLE earlier_requests (
    address TEXT NOT NULL,
    pool TEXT NOT NULL,
    request_id BIGINT NOT NULL,
    user_key TEXT NOT NULL,
    amount BIGINT NOT NULL,
    rate BIGINT NOT NULL,
    quoted BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    discovered_in_signature TEXT,
    discovered_slot BIGINT NOT NULL,
    discovered_at_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    quote BIGINT,
    payment_id TEXT,
    payout_calls BIGINT NOT NULL,
    settle_tx TEXT,
    settle_signature TEXT,
    settle_last_valid_height BIGINT,
    settled_at_ms BIGINT,
    review_reason TEXT,
    claimed_by TEXT,
    next_attempt_ms BIGINT NOT NULL,
    settle_sent_ms BIGINT,
    payout_key TEXT,
    updated_at_ms BIGINT NOT NULL,
    -- When the later request took the address (unix ms), and when that request was made (its
    -- on-chain `created_at`, unix seconds).
    replaced_at_ms BIGINT NOT NULL,
    replaced_by_created_at BIGINT NOT NULL,
    PRIMARY KEY (address, created_at)
);
