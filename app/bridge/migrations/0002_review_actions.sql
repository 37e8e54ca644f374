-- What people did with requests in manual review: who, when, why, and the state it went to.
CREATE TABLE review_actions (
    address TEXT NOT NULL,
    -- 0 for the first action on the address, then 1, 2, …
    seq BIGINT NOT NULL,
    -- retry | mark_paid | reject
    action TEXT NOT NULL,
    by_whom TEXT NOT NULL,
    reason TEXT NOT NULL,
    -- The provider's payment id a person recorded (mark_paid).
    payment_id TEXT,
    to_state TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX review_actions_by_address ON review_actions (address, seq);
