//! Accounts and handler of `pool_set_paused`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::events::PoolPauseChanged;
use crate::state::Pool;

#[event_cpi]
#[derive(Accounts)]
pub struct PoolSetPaused<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool to pause or unpause.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
}

/// Checks: none beyond the accounts' (the operator signs).
pub fn handler(ctx: Context<PoolSetPaused>, paused: bool) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    pool.paused = paused;
    emit_cpi!(PoolPauseChanged {
        pool: pool.key(),
        paused,
    });
    Ok(())
}
