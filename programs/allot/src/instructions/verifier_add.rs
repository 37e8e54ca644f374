//! `verifier_add`: the operator authorises a verifier for the pool.

use anchor_lang::prelude::*;

use crate::constants::SEED_VERIFIER;
use crate::error::AllotError;
use crate::events::VerifierAdded;
use crate::state::{Pool, Verifier};

#[event_cpi]
#[derive(Accounts)]
#[instruction(authority: Pubkey)]
pub struct VerifierAdd<'info> {
    /// The pool's operator; pays the verifier account's rent.
    #[account(mut)]
    pub operator: Signer<'info>,
    /// The pool the verifier will write credentials for.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
    /// The new verifier authorisation (fails if this key was already added: use `verifier_set_active`).
    #[account(
        init,
        payer = operator,
        space = 8 + Verifier::INIT_SPACE,
        seeds = [SEED_VERIFIER, pool.key().as_ref(), authority.as_ref()],
        bump,
    )]
    pub verifier: Box<Account<'info, Verifier>>,
    pub system_program: Program<'info, System>,
}

/// Authorises `authority` to issue, update and revoke credentials in this pool.
pub fn handler(ctx: Context<VerifierAdd>, authority: Pubkey) -> Result<()> {
    let pool_key = ctx.accounts.pool.key();
    ctx.accounts.verifier.set_inner(Verifier {
        bump: ctx.bumps.verifier,
        pool: pool_key,
        authority,
        active: true,
        added_at: Clock::get()?.unix_timestamp,
        credentials_issued: 0,
    });
    let pool = &mut ctx.accounts.pool;
    pool.active_verifiers = pool
        .active_verifiers
        .checked_add(1)
        .ok_or(AllotError::MathOverflow)?;
    emit_cpi!(VerifierAdded {
        pool: pool_key,
        verifier: authority,
    });
    Ok(())
}
