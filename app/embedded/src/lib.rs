//! # allot-embedded
//!
//! The embedded chain: the real Agave runtime in-process (`solana-program-test`), with the allot
//! program registered as a native processor and SPL Token-2022 and the Associated Token program
//! running as their real bytecode. [`EmbeddedChain`] puts it behind the client library's
//! [`allot_client::chain::Chain`] trait, so the CLI and the crank run on it unchanged; the
//! `allot-demo` binary is the one-command main job.

pub mod chain;
pub mod counting;
pub mod program;

pub use chain::{EmbeddedChain, Touched};
pub use counting::Counting;
pub use program::{Embedded, SlotControl};
