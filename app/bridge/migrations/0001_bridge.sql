-- The bridge's durable state. Portable SQL: the same file runs on SQLite and PostgreSQL.
-- Keys and signatures are base58 text; amounts are BIGINT (the bridge refuses values above
-- i64::MAX before storing them); times are unix milliseconds unless named otherwise.

-- One row per exchange request, keyed by the ExchangeRequest account address: the idempotency
-- key of everything the bridge does for it.
CREATE TABLE requests (
    address TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    request_id BIGINT NOT NULL,
    user_key TEXT NOT NULL,
    amount BIGINT NOT NULL,
    rate BIGINT NOT NULL,
    -- The quote in the event / account: funds owed, minor units.
    quoted BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- On-chain unix seconds of the request.
    created_at BIGINT NOT NULL,
    -- Where it was found: the transaction (NULL when the reconcile pass found it) and its slot.
    discovered_signature TEXT,
    discovered_slot BIGINT NOT NULL,
    discovered_at_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    -- The amount to pay, fixed once when quoted.
    quote BIGINT,
    -- The payment provider's id of the payment (HTTP adapter).
    payment_id TEXT,
    payout_attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL DEFAULT 0,
    -- The signed settle transaction (base64), stored before it is first sent; resent unchanged
    -- until its blockhash has provably expired.
    settle_tx TEXT,
    settle_signature TEXT,
    settle_last_valid_height BIGINT,
    settled_at_ms BIGINT,
    review_reason TEXT,
    -- Which worker holds the request, until when.
    claimed_by TEXT,
    claim_expires_ms BIGINT,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX requests_by_state ON requests (state, next_attempt_ms);

-- Every state change, in order: the audit trail of each request.
CREATE TABLE transitions (
    address TEXT NOT NULL,
    -- 0 for the first transition of the address, then 1, 2, …
    seq BIGINT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    worker TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX transitions_by_address ON transitions (address, seq);

-- How far the authoritative history has been read: the newest ingested transaction.
CREATE TABLE ingest_cursor (
    program TEXT PRIMARY KEY,
    signature TEXT NOT NULL,
    slot BIGINT NOT NULL
);

-- Named leases (the ingester's): one holder until it expires.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
