//! Accounts and handler of `allocation_record_close`. What it does, who signs it and its hazards
//! are said once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_ALLOCATION;
use crate::events::AllocationRecordClosed;
use crate::state::{AllocationRecord, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct AllocationRecordClose<'info> {
    /// The record's pool (must be retired).
    pub pool: Box<Account<'info, Pool>>,
    /// The record to close: this pool's (its seeds name the pool and the user it stores).
    #[account(
        mut,
        has_one = pool,
        has_one = rent_payer,
        close = rent_payer,
        seeds = [SEED_ALLOCATION, pool.key().as_ref(), record.user.as_ref()],
        bump = record.bump,
    )]
    pub record: Box<Account<'info, AllocationRecord>>,
    /// CHECK: whoever paid the record's rent (`AllocationRecord::rent_payer`, checked by
    /// `has_one`); receives it. Need not sign: anyone may send the close.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

/// Checks: the pool is retired; the record no longer counts requests of the current period nor
/// the holding time of its last allocation, and (in a transferable pool) its user owes no
/// clawback debt (`AllocationRecord::check_can_close`).
pub fn handler(ctx: Context<AllocationRecordClose>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    require!(pool.is_retired(), crate::error::AllotError::PoolNotRetired);
    let record = &ctx.accounts.record;
    record.check_can_close(
        pool.period_at(now)?,
        now,
        pool.exchange.min_holding_seconds,
        pool.transferable,
    )?;
    emit_cpi!(AllocationRecordClosed {
        pool: pool.key(),
        user: record.user,
        record: record.key(),
        rent_payer: record.rent_payer,
        lamports: record.to_account_info().lamports(),
    });
    Ok(())
}
