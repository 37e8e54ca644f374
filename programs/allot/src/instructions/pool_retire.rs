//! Accounts and handler of `pool_retire`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::events::PoolRetired;
use crate::state::Pool;

#[event_cpi]
#[derive(Accounts)]
pub struct PoolRetire<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool to retire.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
}

/// Checks: the pool is not retired already (a retirement is final).
pub fn handler(ctx: Context<PoolRetire>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &mut ctx.accounts.pool;
    pool.check_not_retired()?;
    // `retired_at` 0 means "not retired"; a cluster clock is far past the epoch.
    require!(now > 0, AllotError::InvariantViolated);
    pool.retired_at = now;
    emit_cpi!(PoolRetired {
        pool: pool.key(),
        operator: ctx.accounts.operator.key(),
        retired_at: now,
    });
    Ok(())
}
