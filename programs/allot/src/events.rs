//! Events: the program's public interface for indexers, the bridge and tests.
//!
//! Every event is emitted with `emit_cpi!`: it travels as the data of a self-invocation
//! (inner instruction) that logs cannot truncate.

use anchor_lang::prelude::*;

use crate::constants::INDICATOR_COUNT;
use crate::state::{AllocationRule, ClawbackReason, EvidenceKind, ResourceKind};

/// A pool was created.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCreated {
    pub pool: Pubkey,
    pub creator: Pubkey,
    pub pool_id: u64,
    pub operator: Pubkey,
    pub kind: ResourceKind,
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub decimals: u8,
    pub transferable: bool,
    pub supply_cap: u64,
    pub rule: AllocationRule,
    pub period_origin: i64,
    pub period_seconds: i64,
}

/// The operator changed the allocation rule.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRuleUpdated {
    pub pool: Pubkey,
    pub previous: AllocationRule,
    pub rule: AllocationRule,
}

/// The operator paused or unpaused allocations.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolPauseChanged {
    pub pool: Pubkey,
    pub paused: bool,
}

/// The operator minted units into the vault.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolFunded {
    pub pool: Pubkey,
    pub amount: u64,
    pub total_minted: u64,
}

/// The operator proposed a successor (step 1 of 2).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorTransferProposed {
    pub pool: Pubkey,
    pub operator: Pubkey,
    pub proposed: Pubkey,
}

/// The proposed successor accepted and is now the operator (step 2 of 2).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorTransferred {
    pub pool: Pubkey,
    pub previous: Pubkey,
    pub operator: Pubkey,
}

/// The operator authorised a verifier.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierAdded {
    pub pool: Pubkey,
    pub verifier: Pubkey,
}

/// The operator deactivated or reactivated a verifier.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierActiveChanged {
    pub pool: Pubkey,
    pub verifier: Pubkey,
    pub active: bool,
}

/// A verifier issued or updated a credential.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialIssued {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub verifier: Pubkey,
    pub period: u64,
    pub indicators: [u64; INDICATOR_COUNT],
    pub issued_at: i64,
    pub expires_at: i64,
    pub evidence_hash: [u8; 32],
}

/// A verifier revoked a credential.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRevoked {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub verifier: Pubkey,
    pub period: u64,
    pub revoked_at: i64,
}

/// The operator published (or replaced) a user list root.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct UserListPublished {
    pub pool: Pubkey,
    pub period: u64,
    pub root: [u8; 32],
    pub user_count: u32,
}

/// Units were allocated to a user.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct Allocated {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub period: u64,
    pub amount: u64,
    pub evidence: EvidenceKind,
    /// Units ever allocated to this user, after this allocation.
    pub user_allocated: u64,
    /// The pool's outstanding units, after this allocation.
    pub pool_outstanding: u64,
}

/// Units were recovered from a user.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ClawedBack {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub amount: u64,
    pub reason: ClawbackReason,
    pub evidence: EvidenceKind,
    /// True when the units were burned (non-transferable pool), false when returned to the vault.
    pub burned: bool,
    /// The pool's outstanding units, after this clawback.
    pub pool_outstanding: u64,
}
