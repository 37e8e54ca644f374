//! Accounts and handler of `exchange_cancel`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::constants::{SEED_ALLOCATION, SEED_EXCHANGE_REQUEST};
use crate::error::AllotError;
use crate::events::ExchangeCancelled;
use crate::exchange_refund::EscrowRefund;
use crate::pda_account::{load_if_exists, store};
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{AllocationRecord, ExchangeRequest, Pool, RequestStatus};

#[event_cpi]
#[derive(Accounts)]
pub struct ExchangeCancel<'info> {
    /// The user who made the request.
    pub user: Signer<'info>,
    /// The request's pool.
    #[account(mut, has_one = mint, has_one = escrow)]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's escrow.
    #[account(mut)]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
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
    /// The request to cancel (the signer's own).
    #[account(
        mut,
        has_one = pool,
        has_one = user @ AllotError::NotRequestUser,
        seeds = [SEED_EXCHANGE_REQUEST, pool.key().as_ref(), &request.id.to_le_bytes()],
        bump = request.bump,
    )]
    pub request: Box<Account<'info, ExchangeRequest>>,
    pub token_program: Program<'info, Token2022>,
}

/// Checks: the signer made the request; it is pending and past its own `cancel_after`, or
/// locked and past its lock's expiry (the request's frozen terms, not the pool's current ones).
pub fn handler(ctx: Context<ExchangeCancel>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.request.check_can_cancel(now)?;
    let a = &mut *ctx.accounts;
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
        RequestStatus::Cancelled,
        now,
    )?;
    if let Some(record) = &record {
        store(&a.record, record)?;
    }
    let request = &ctx.accounts.request;
    emit_cpi!(ExchangeCancelled {
        pool: request.pool,
        request: request.key(),
        id: request.id,
        user: request.user,
        amount: request.amount,
        cancelled_at: now,
    });
    Ok(())
}
