//! Accounts and handler of `verifier_set_active`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_VERIFIER;
use crate::error::AllotError;
use crate::events::VerifierActiveChanged;
use crate::state::{Pool, Verifier};

#[event_cpi]
#[derive(Accounts)]
pub struct VerifierSetActive<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The verifier's pool.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
    /// The verifier authorisation to change (must belong to `pool`).
    #[account(
        mut,
        seeds = [SEED_VERIFIER, pool.key().as_ref(), verifier.authority.as_ref()],
        bump = verifier.bump,
        has_one = pool,
    )]
    pub verifier: Box<Account<'info, Verifier>>,
}

/// Checks: the flag actually changes (keeps `active_verifiers` exact).
pub fn handler(ctx: Context<VerifierSetActive>, active: bool) -> Result<()> {
    let verifier = &mut ctx.accounts.verifier;
    require!(
        verifier.active != active,
        AllotError::VerifierStateUnchanged
    );
    verifier.active = active;
    let pool = &mut ctx.accounts.pool;
    pool.active_verifiers = if active {
        pool.active_verifiers.checked_add(1)
    } else {
        pool.active_verifiers.checked_sub(1)
    }
    .ok_or(AllotError::MathOverflow)?;
    emit_cpi!(VerifierActiveChanged {
        pool: pool.key(),
        verifier: verifier.authority,
        active,
    });
    Ok(())
}
