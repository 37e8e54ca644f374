//! The operator's published user list for one period: a Merkle root of (user, indicator value).

use anchor_lang::prelude::*;

/// A user list root. PDA: `[SEED_USER_LIST, pool, period (u64 LE)]`.
/// Replaceable by the operator until the first allocation or clawback uses it, then frozen.
#[account]
#[derive(InitSpace, Debug)]
pub struct UserList {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool the list belongs to.
    pub pool: Pubkey,
    /// The allocation period the list covers.
    pub period: u64,
    /// Merkle root over leaves `leaf_hash(pool, period, user, value)` (see `merkle.rs`).
    pub root: [u8; 32],
    /// Number of users in the list (informational, for auditors).
    pub user_count: u32,
    /// When the root was (last) published, unix seconds.
    pub published_at: i64,
    /// Allocations that used this root; once non-zero the root is frozen.
    pub allocations: u64,
    /// Clawbacks that used this root; once non-zero the root is frozen too (units taken on a
    /// root's word cannot be followed by another root).
    pub clawbacks: u64,
}

impl UserList {
    /// Whether an allocation or a clawback has used the root: it can no longer be replaced, and
    /// sharded allocations may rely on it.
    pub fn is_sealed(&self) -> bool {
        self.allocations > 0 || self.clawbacks > 0
    }
}
