//! `pool_accept_operator`: step 2 of the two-step operator transfer.

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

/// Makes the signer the operator, if the current operator proposed it, and the settlement
/// authority too: neither the previous operator nor its bridge key can lock, settle or reject
/// any longer (a new operator names its own bridge key with `pool_set_exchange`). Requests the
/// old key locked stay its to settle or reject (it may have paid them off chain); their users may
/// cancel once the lock expires, as always.
///
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
