//! Accounts and handler of `shard_sweep`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_SHARD;
use crate::events::ShardSwept;
use crate::state::{AllocationShard, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct ShardSweep<'info> {
    /// The pool whose totals learn of the shard's allocations.
    #[account(mut)]
    pub pool: Box<Account<'info, Pool>>,
    /// The shard to sweep: one of this pool's, at its canonical address.
    #[account(
        mut,
        has_one = pool,
        seeds = [SEED_SHARD, pool.key().as_ref(), &shard.index.to_le_bytes()],
        bump = shard.bump,
    )]
    pub shard: Box<Account<'info, AllocationShard>>,
}

/// Checks: none beyond the accounts' (the shard is the pool's).
pub fn handler(ctx: Context<ShardSweep>) -> Result<()> {
    let (units, allocations) = ctx.accounts.shard.sweep()?;
    let pool = &mut ctx.accounts.pool;
    pool.record_swept(units, allocations)?;
    pool.invariant()?;
    emit_cpi!(ShardSwept {
        pool: pool.key(),
        index: ctx.accounts.shard.index,
        units,
        allocations,
        pool_allocated: pool.totals.allocated,
        pool_outstanding: pool.held_by_users(),
    });
    Ok(())
}
