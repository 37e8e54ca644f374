//! Accounts and handler of `pool_accept_operator`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::events::OperatorTransferred;
use crate::state::Pool;

#[event_cpi]
#[derive(Accounts)]
pub struct PoolAcceptOperator<'info> {
    /// The proposed operator, accepting.
    pub new_operator: Signer<'info>,
    /// The pool whose operator changes.
    #[account(mut)]
    pub pool: Box<Account<'info, Pool>>,
}

/// Checks: a transfer is pending and names the signer.
pub fn handler(ctx: Context<PoolAcceptOperator>) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    let proposed = pool.pending_operator.ok_or(AllotError::NoPendingOperator)?;
    require_keys_eq!(
        proposed,
        ctx.accounts.new_operator.key(),
        AllotError::NotPendingOperator
    );
    let previous = pool.operator;
    pool.operator = proposed;
    pool.pending_operator = None;
    pool.exchange.settlement_authority = proposed;
    emit_cpi!(OperatorTransferred {
        pool: pool.key(),
        previous,
        operator: proposed,
        settlement_authority: pool.exchange.settlement_authority,
    });
    Ok(())
}
