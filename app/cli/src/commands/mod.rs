//! One file per role: each turns its subcommands into checked, signed transactions.

pub mod crank;
pub mod migrate;
pub mod operator;
pub mod operator_attestations;
pub mod operator_shards;
pub mod settlement;
pub mod user;
pub mod verifier;

pub use allot_client::reference::reference_hash;
