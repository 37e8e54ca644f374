//! # allot-localnet
//!
//! The real Agave test validator (4.2.2: JSON-RPC on 8899, PubSub on 8900, a faucet) with the
//! allot program running as a **native builtin** at its declared id, and SPL Token, Token-2022
//! and the Associated Token program as their real bytecode. These machines cannot build SBF, so
//! this is the closest thing to `solana-test-validator` + `anchor deploy`: every client (the
//! `allot` CLI, the bridge, the web page, `curl`) talks to it over the real wire protocols.
//!
//! How the native program runs inside 4.2.2: Agave 4.2.2's program-test adapter
//! (`processor!`) serialises the accounts, calls the program's entry and writes the results
//! back; its syscall stubs (CPI, sysvars, logs, return data) are moved into the `solana-sysvar`
//! copy anchor uses by [`stubs`]. A start-up self-test creates a pool and funds it (a CPI into
//! Token-2022) and checks the vault balance, so a broken stub cannot go unnoticed.

pub mod self_test;
pub mod stubs;
pub mod validator;

pub use validator::{ExtraBuiltin, Localnet, LocalnetConfig};
