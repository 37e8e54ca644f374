//! Accounts and handler of `credential_revoke`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::{SEED_CREDENTIAL, SEED_VERIFIER};
use crate::error::AllotError;
use crate::events::CredentialRevoked;
use crate::state::{Credential, Pool, Verifier};

#[event_cpi]
#[derive(Accounts)]
pub struct CredentialRevoke<'info> {
    /// The verifier's signing key.
    pub authority: Signer<'info>,
    /// The credential's pool.
    pub pool: Box<Account<'info, Pool>>,
    /// The signer's authorisation for this pool; must be active.
    #[account(
        seeds = [SEED_VERIFIER, pool.key().as_ref(), authority.key().as_ref()],
        bump = verifier.bump,
        has_one = pool,
        constraint = verifier.active @ AllotError::VerifierInactive,
    )]
    pub verifier: Box<Account<'info, Verifier>>,
    /// The credential to revoke (must belong to `pool`).
    #[account(
        mut,
        seeds = [SEED_CREDENTIAL, pool.key().as_ref(), credential.user.as_ref()],
        bump = credential.bump,
        has_one = pool,
    )]
    pub credential: Box<Account<'info, Credential>>,
}

/// Checks: the credential is not already revoked.
pub fn handler(ctx: Context<CredentialRevoke>) -> Result<()> {
    let credential = &mut ctx.accounts.credential;
    require!(!credential.revoked, AllotError::CredentialAlreadyRevoked);
    credential.revoked = true;
    emit_cpi!(CredentialRevoked {
        pool: credential.pool,
        user: credential.user,
        verifier: ctx.accounts.authority.key(),
        period: credential.period,
        revoked_at: Clock::get()?.unix_timestamp,
    });
    Ok(())
}
