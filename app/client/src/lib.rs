//! # allot-client
//!
//! The one place that knows the allot program from outside: PDA derivation ([`pdas`]),
//! instruction builders ([`instructions`]), event decoding from inner instructions ([`events`],
//! [`transaction_events`]), user-list Merkle trees
//! ([`merkle_tree`]), token-account amounts and addresses ([`token`]), reference hashes ([`reference`]) and error decoding
//! ([`errors`]). The CLI, the bridge, the web server, the
//! tests and the benchmarks all use it instead of re-deriving anything.

pub mod accounts;
pub mod attestation;
pub mod chain;
pub mod compute_budget;
pub mod currency;
pub mod decimal;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod merkle_tree;
pub mod pdas;
pub mod reference;
pub mod request_id;
pub mod rpc_chain;
#[cfg(feature = "sas-accounts")]
pub mod sas_accounts;
pub mod token;
pub mod transaction_events;

pub use allot;
pub use allot::ID as PROGRAM_ID;
