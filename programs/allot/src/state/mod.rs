//! Account types of the allot program, one file each, with the pure functions that decide things.

pub mod allocation_eligibility;
pub mod allocation_record;
pub mod allocation_shard;
pub mod attestation;
pub mod clawback_decision;
pub mod credential;
pub mod exchange;
pub mod exchange_eligibility;
pub mod exchange_request;
pub mod pool;
pub mod profit_report;
pub mod rule;
pub mod user_list;
pub mod verifier;

pub use allocation_eligibility::*;
pub use allocation_record::*;
pub use allocation_shard::*;
pub use attestation::*;
pub use clawback_decision::*;
pub use credential::*;
pub use exchange::*;
pub use exchange_eligibility::*;
pub use exchange_request::*;
pub use pool::*;
pub use profit_report::*;
pub use rule::*;
pub use user_list::*;
pub use verifier::*;
