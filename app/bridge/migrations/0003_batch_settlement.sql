-- Batched settlement: a worker gathers the requests of one pool waiting in one state, and marks
-- settled every request a landed settle transaction carried.
CREATE INDEX requests_by_pool_state ON requests (pool, state);
CREATE INDEX requests_by_settle_signature ON requests (settle_signature);
