//! One module per instruction: its accounts, its arguments and its handler.

// Every module has a `handler`; callers name it by module (`instructions::allocate::handler`).
#![allow(ambiguous_glob_reexports)]

pub mod allocate;
pub mod allocate_sharded;
pub mod allocation_record_close;
pub mod clawback;
pub mod credential_close;
pub mod credential_issue;
pub mod credential_revoke;
pub mod exchange_cancel;
pub mod exchange_close;
pub mod exchange_lock;
pub mod exchange_reject;
pub mod exchange_request;
pub mod exchange_settle;
pub mod pool_accept_operator;
pub mod pool_create;
pub mod pool_fund;
pub mod pool_propose_operator;
pub mod pool_retire;
pub mod pool_set_attestation;
pub mod pool_set_exchange;
pub mod pool_set_metadata;
pub mod pool_set_paused;
pub mod pool_set_transfers_paused;
pub mod pool_update_rule;
pub mod profit_report_record;
pub mod shard_create;
pub mod shard_drain;
pub mod shard_fund;
pub mod shard_sweep;
pub mod user_list_publish;
pub mod verifier_add;
pub mod verifier_set_active;

// Anchor's `#[program]` macro looks the generated client-account modules up at the crate root.
pub use allocate::*;
pub use allocate_sharded::*;
pub use allocation_record_close::*;
pub use clawback::*;
pub use credential_close::*;
pub use credential_issue::*;
pub use credential_revoke::*;
pub use exchange_cancel::*;
pub use exchange_close::*;
pub use exchange_lock::*;
pub use exchange_reject::*;
pub use exchange_request::*;
pub use exchange_settle::*;
pub use pool_accept_operator::*;
pub use pool_create::*;
pub use pool_fund::*;
pub use pool_propose_operator::*;
pub use pool_retire::*;
pub use pool_set_attestation::*;
pub use pool_set_exchange::*;
pub use pool_set_metadata::*;
pub use pool_set_paused::*;
pub use pool_set_transfers_paused::*;
pub use pool_update_rule::*;
pub use profit_report_record::*;
pub use shard_create::*;
pub use shard_drain::*;
pub use shard_fund::*;
pub use shard_sweep::*;
pub use user_list_publish::*;
pub use verifier_add::*;
pub use verifier_set_active::*;
