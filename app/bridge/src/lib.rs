//! allot-bridge: the operator's service that turns exchange requests on chain into funds paid
//! to users and settlements on chain, exactly once, across crashes, restarts and lost
//! connections.
//!
//! Ingest ([`ingest`], with live hints from [`hints`]) stores each request once; the
//! [`worker`] moves it through the [`state`] machine, storing every step in the [`store`]
//! before the next outside effect; payouts go through the [`http_provider`] (idempotency key
//! per request) or on chain inside the [`settle`] transaction.

pub mod cli;
pub mod config;
pub mod crash;
pub mod held_looks;
pub mod hints;
pub mod http_provider;
pub mod ingest;
pub mod metrics;
pub mod recent;
pub mod reconcile;
pub mod review;
pub mod rpc_failure;
pub mod service;
pub mod settle;
pub mod state;
pub mod status;
pub mod store;
pub mod treasury;
pub mod worker;

#[cfg(feature = "test-support")]
pub mod test_support;
