//! Accounts and handler of `pool_propose_operator`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::events::OperatorTransferProposed;
use crate::state::Pool;

#[event_cpi]
#[derive(Accounts)]
pub struct PoolProposeOperator<'info> {
    /// The current operator.
    pub operator: Signer<'info>,
    /// The pool whose operator changes.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
}

/// Checks: the proposed operator is not the current one.
pub fn handler(ctx: Context<PoolProposeOperator>, new_operator: Pubkey) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    require_keys_neq!(new_operator, pool.operator, AllotError::OperatorUnchanged);
    pool.pending_operator = Some(new_operator);
    emit_cpi!(OperatorTransferProposed {
        pool: pool.key(),
        operator: pool.operator,
        proposed: new_operator,
    });
    Ok(())
}
