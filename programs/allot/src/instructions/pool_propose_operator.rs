//! `pool_propose_operator`: step 1 of the two-step operator transfer.

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

/// Proposes `new_operator`; nothing changes until it signs `pool_accept_operator`.
/// Proposing again replaces the pending proposal.
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
