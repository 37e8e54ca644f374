//! Accounts and handler of `exchange_lock`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_EXCHANGE_REQUEST;
use crate::error::AllotError;
use crate::events::ExchangeLocked;
use crate::state::{ExchangeRequest, Pool, RequestStatus};

#[event_cpi]
#[derive(Accounts)]
pub struct ExchangeLock<'info> {
    /// The pool's settlement authority (the bridge key).
    pub settlement_authority: Signer<'info>,
    /// The request's pool (read only: locks of different requests do not contend).
    #[account(
        constraint = pool.exchange.settlement_authority == settlement_authority.key()
            @ AllotError::NotSettlementAuthority,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// The request to lock.
    #[account(
        mut,
        has_one = pool,
        seeds = [SEED_EXCHANGE_REQUEST, pool.key().as_ref(), &request.id.to_le_bytes()],
        bump = request.bump,
    )]
    pub request: Box<Account<'info, ExchangeRequest>>,
}

/// Checks: signer is the settlement authority; the request is the one the signer read
/// (`expected_created_at`); request pending and paid off chain (no payout mint in its terms).
pub fn handler(ctx: Context<ExchangeLock>, expected_created_at: i64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let request = &mut ctx.accounts.request;
    request.check_is_instance(expected_created_at)?;
    request.check_can_lock()?;
    request.status = RequestStatus::Locked;
    request.locked_at = now;
    request.locked_by = ctx.accounts.settlement_authority.key();
    let cancel_after_lock = request
        .cancel_from()?
        .ok_or(AllotError::InvariantViolated)?;
    emit_cpi!(ExchangeLocked {
        pool: request.pool,
        request: request.key(),
        id: request.id,
        user: request.user,
        locked_at: now,
        cancel_after_lock,
        locked_by: request.locked_by,
    });
    Ok(())
}
