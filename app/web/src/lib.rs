//! allot-web: the page where users connect their wallet (Phantom, through Wallet Standard) and
//! sign their own allocate, exchange and cancel transactions, and the Solana Actions endpoints
//! that build them. Transactions are built here, in Rust, by the client library.

pub mod account_status;
pub mod actions;
pub mod api_error;
pub mod app;
pub mod cli;
pub mod server;
