//! One file per role: each turns its subcommands into checked, signed transactions.

pub mod crank;
pub mod migrate;
pub mod operator;
pub mod operator_shards;
pub mod settlement;
pub mod user;
pub mod verifier;

use sha2::{Digest, Sha256};

/// SHA-256 of an off-chain reference (report id, payment id): what the program stores.
pub fn reference_hash(reference: &str) -> [u8; 32] {
    Sha256::digest(reference.as_bytes()).into()
}
