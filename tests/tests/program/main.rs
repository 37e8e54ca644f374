//! Native end-to-end tests of the allot program. One test binary (one link) with a module per
//! area; every test starts its own chain.

mod allocation;
mod attacks;
mod attestation;
mod catalogue;
mod clawback;
mod client;
mod credential;
mod exchange_cancel;
mod exchange_caps;
mod exchange_close;
mod exchange_rate;
mod exchange_reject;
mod exchange_request;
mod exchange_settle;
mod market;
mod money_path;
mod pausable;
mod pool;
mod retire;
mod shard;
mod user_list;
mod verifier;
