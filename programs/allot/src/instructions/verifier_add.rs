//! Accounts and handler of `verifier_add`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_VERIFIER;
use crate::error::AllotError;
use crate::events::VerifierAdded;
use crate::pda_account::{load_or_create, store};
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
    /// CHECK: the new verifier authorisation PDA (address checked by the seeds), created here by
    /// `pda_account::load_or_create` (tolerates a pre-funded address). Refused if the key was
    /// already added: use `verifier_set_active`.
    #[account(
        mut,
        seeds = [SEED_VERIFIER, pool.key().as_ref(), authority.as_ref()],
        bump,
    )]
    pub verifier: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Checks: the verifier is not already added.
pub fn handler(ctx: Context<VerifierAdd>, authority: Pubkey) -> Result<()> {
    let pool_key = ctx.accounts.pool.key();
    let bump = [ctx.bumps.verifier];
    let seeds: &[&[u8]] = &[SEED_VERIFIER, pool_key.as_ref(), authority.as_ref(), &bump];
    let existing: Verifier = load_or_create(
        &ctx.accounts.verifier,
        &ctx.accounts.operator,
        &ctx.accounts.system_program,
        8 + Verifier::INIT_SPACE,
        &[seeds],
    )?;
    require_keys_eq!(
        existing.pool,
        Pubkey::default(),
        AllotError::VerifierAlreadyAdded
    );
    let verifier = Verifier {
        bump: ctx.bumps.verifier,
        pool: pool_key,
        authority,
        active: true,
        added_at: Clock::get()?.unix_timestamp,
        credentials_issued: 0,
    };
    store(&ctx.accounts.verifier, &verifier)?;
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
