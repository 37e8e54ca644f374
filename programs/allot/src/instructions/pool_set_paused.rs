//! `pool_set_paused`: the operator stops or resumes allocations.

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

/// Sets the paused flag. A paused pool refuses allocations; clawbacks keep working.
pub fn handler(ctx: Context<PoolSetPaused>, paused: bool) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    pool.paused = paused;
    emit_cpi!(PoolPauseChanged {
        pool: pool.key(),
        paused,
    });
    Ok(())
}
