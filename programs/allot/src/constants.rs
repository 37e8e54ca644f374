//! Seeds and limits shared by the program and the client library.
//!
//! Seeds are defined here once; the client crate imports them (never retype a seed literal).

use anchor_lang::prelude::*;

/// Seed of a [`crate::state::Pool`]: `[SEED_POOL, creator, pool_id (u64 LE)]`.
#[constant]
pub const SEED_POOL: &[u8] = b"pool";
/// Seed of a pool's Token-2022 mint: `[SEED_MINT, pool]`.
#[constant]
pub const SEED_MINT: &[u8] = b"mint";
/// Seed of a [`crate::state::Verifier`]: `[SEED_VERIFIER, pool, verifier authority]`.
#[constant]
pub const SEED_VERIFIER: &[u8] = b"verifier";
/// Seed of a [`crate::state::Credential`]: `[SEED_CREDENTIAL, pool, user]`.
#[constant]
pub const SEED_CREDENTIAL: &[u8] = b"credential";
/// Seed of a [`crate::state::UserList`]: `[SEED_USER_LIST, pool, period (u64 LE)]`.
#[constant]
pub const SEED_USER_LIST: &[u8] = b"user_list";
/// Seed of an [`crate::state::AllocationRecord`]: `[SEED_ALLOCATION, pool, user]`.
#[constant]
pub const SEED_ALLOCATION: &[u8] = b"allocation";

/// Number of indicator slots a credential carries (e.g. payment volume, payment count…).
/// What each slot means is the pool operator's published convention; the rule names the slot.
#[constant]
pub const INDICATOR_COUNT: usize = 4;

/// Longest Merkle proof accepted (a tree of 2^32 users). Bounds the verification loop.
#[constant]
pub const MAX_PROOF_LEN: usize = 32;

/// Most decimals a pool mint may have (as SPL Token).
#[constant]
pub const MAX_DECIMALS: u8 = 9;

/// Shortest allocation period: one minute (prevents a rule that re-allocates every slot).
#[constant]
pub const MIN_PERIOD_SECONDS: i64 = 60;
