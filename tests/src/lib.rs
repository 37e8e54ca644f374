//! Test harness: the allot program running natively inside the real Agave runtime
//! (`solana-program-test`), with SPL Token-2022 and the Associated Token program as bytecode.
//!
//! Tests build their world with [`TestChain`] and the shipped client library (`allot-client`),
//! so the instruction builders and the event decoder are exercised by every test.

pub mod chain;
pub mod sas;
pub mod world;

pub use chain::{TestChain, TxFailure};
pub use world::PERIOD;
pub use world::{PoolFixture, exchange_config, list_evidence, pool_args, rule};
