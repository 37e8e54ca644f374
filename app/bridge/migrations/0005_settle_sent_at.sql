-- When a request's stored settle transaction was last sent, or about to be (unix ms; stored
-- with the transaction just before its first send, and by each resend before it is made). A
-- transaction not seen yet is sent again only once this is a few seconds old: the node retries
-- what it was sent on its own in between, and every worker following the transaction reads and
-- takes the same time.
ALTER TABLE requests ADD COLUMN settle_sent_ms BIGINT;
