//! Accounts and handler of `exchange_reject`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::constants::{SEED_ALLOCATION, SEED_EXCHANGE_REQUEST};
use crate::error::AllotError;
use crate::events::ExchangeRejected;
use crate::exchange_refund::EscrowRefund;
use crate::pda_account::{load_if_exists, store};
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{AllocationRecord, ExchangeRequest, Pool, RequestStatus};

#[event_cpi]
#[derive(Accounts)]
pub struct ExchangeReject<'info> {
    /// The pool's settlement authority, or the key that locked the request while
    /// it is locked (`ExchangeRequest::check_may_finish`).
    pub settlement_authority: Signer<'info>,
    /// The request's pool.
    #[account(
        mut,
        has_one = mint,
        has_one = escrow,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's escrow.
    #[account(mut)]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the request's user; only its key is used, and it must be the request's user.
    #[account(address = request.user @ AllotError::NotRequestUser)]
    pub user: UncheckedAccount<'info>,
    /// The user's associated token account (receives the units back).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = user,
        associated_token::token_program = token_program,
    )]
    pub user_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the user's allocation record PDA (address checked by the seeds), read by
    /// `pda_account::load_if_exists`: a record, or an empty address once it was closed after the
    /// pool's retirement (`allocation_record_close`).
    #[account(
        mut,
        seeds = [SEED_ALLOCATION, pool.key().as_ref(), user.key().as_ref()],
        bump,
    )]
    pub record: UncheckedAccount<'info>,
    /// The request to reject.
    #[account(
        mut,
        has_one = pool,
        seeds = [SEED_EXCHANGE_REQUEST, pool.key().as_ref(), &request.id.to_le_bytes()],
        bump = request.bump,
        constraint = request
            .check_may_finish(&pool.exchange.settlement_authority, &settlement_authority.key())
            .is_ok() @ AllotError::NotSettlementAuthority,
    )]
    pub request: Box<Account<'info, ExchangeRequest>>,
    pub token_program: Program<'info, Token2022>,
}

/// Checks: the request is the one the signer read (`expected_created_at`); request open; signer
/// is the settlement authority while it is pending, the key that locked it while it is locked.
pub fn handler(ctx: Context<ExchangeReject>, expected_created_at: i64, reason: u16) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    a.request.check_is_instance(expected_created_at)?;
    let refund = EscrowRefund {
        tokens: PoolTokenAccounts::new(
            a.pool.to_account_info(),
            a.mint.to_account_info(),
            a.token_program.to_account_info(),
        ),
        escrow: a.escrow.to_account_info(),
        user_token: a.user_token.to_account_info(),
    };
    let mut record = load_if_exists::<AllocationRecord>(&a.record)?;
    refund.apply(
        &mut a.pool,
        record.as_mut(),
        &mut a.request,
        RequestStatus::Rejected,
        now,
    )?;
    if let Some(record) = &record {
        store(&a.record, record)?;
    }
    a.request.reject_reason = reason;
    let request = &ctx.accounts.request;
    emit_cpi!(ExchangeRejected {
        pool: request.pool,
        request: request.key(),
        id: request.id,
        user: request.user,
        amount: request.amount,
        reason,
        rejected_at: now,
    });
    Ok(())
}
