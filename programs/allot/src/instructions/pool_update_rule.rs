//! Accounts and handler of `pool_update_rule`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::events::PoolRuleUpdated;
use crate::state::{AllocationRule, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct PoolUpdateRule<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool whose rule changes.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
}

/// Checks: the rule is valid and its amount within the supply cap.
pub fn handler(ctx: Context<PoolUpdateRule>, rule: AllocationRule) -> Result<()> {
    rule.validate()?;
    require!(
        ctx.accounts.pool.supply_cap >= rule.amount,
        AllotError::SupplyCapTooSmall
    );
    let pool = &mut ctx.accounts.pool;
    let previous = pool.rule;
    pool.rule = rule;
    emit_cpi!(PoolRuleUpdated {
        pool: pool.key(),
        previous,
        rule,
    });
    Ok(())
}
