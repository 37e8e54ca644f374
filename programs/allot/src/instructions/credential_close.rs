//! Accounts and handler of `credential_close`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::{SEED_CREDENTIAL, SEED_VERIFIER};
use crate::error::AllotError;
use crate::events::CredentialClosed;
use crate::state::{Credential, Pool, Verifier};

#[event_cpi]
#[derive(Accounts)]
pub struct CredentialClose<'info> {
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
    /// The credential to close (must belong to `pool`); its lamports go to `rent_payer`.
    #[account(
        mut,
        close = rent_payer,
        seeds = [SEED_CREDENTIAL, pool.key().as_ref(), credential.user.as_ref()],
        bump = credential.bump,
        has_one = pool,
        has_one = rent_payer,
    )]
    pub credential: Box<Account<'info, Credential>>,
    /// CHECK: receives the rent; must be the key that paid it (`has_one` on the credential).
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

/// Checks: none beyond the accounts' (an active verifier of the pool signs; the rent goes to the
/// credential's `rent_payer`).
pub fn handler(ctx: Context<CredentialClose>) -> Result<()> {
    let credential = &ctx.accounts.credential;
    emit_cpi!(CredentialClosed {
        pool: credential.pool,
        user: credential.user,
        verifier: ctx.accounts.authority.key(),
        rent_payer: credential.rent_payer,
        lamports: credential.to_account_info().lamports(),
    });
    Ok(())
}
