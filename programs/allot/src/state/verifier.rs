//! A verifier: a third party the operator authorises to write credentials for one pool.

use anchor_lang::prelude::*;

/// Authorisation of one verifier key for one pool. PDA: `[SEED_VERIFIER, pool, authority]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Verifier {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool this verifier may write credentials for.
    pub pool: Pubkey,
    /// The key that signs the verifier's credential instructions.
    pub authority: Pubkey,
    /// Only an active verifier may issue, update or revoke credentials.
    pub active: bool,
    /// When the operator added it (unix seconds).
    pub added_at: i64,
    /// Credentials issued or updated by this verifier.
    pub credentials_issued: u64,
}
