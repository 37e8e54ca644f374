//! Accounts and handler of `exchange_close`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_EXCHANGE_REQUEST;
use crate::error::AllotError;
use crate::events::ExchangeRequestClosed;
use crate::state::ExchangeRequest;

#[event_cpi]
#[derive(Accounts)]
pub struct ExchangeClose<'info> {
    /// The final request to close.
    #[account(
        mut,
        close = rent_payer,
        seeds = [SEED_EXCHANGE_REQUEST, request.pool.as_ref(), &request.id.to_le_bytes()],
        bump = request.bump,
        constraint = request.is_final() @ AllotError::RequestNotFinal,
    )]
    pub request: Box<Account<'info, ExchangeRequest>>,
    /// CHECK: receives the rent; must be the key that paid it (checked against the request).
    #[account(mut, address = request.rent_payer)]
    pub rent_payer: UncheckedAccount<'info>,
}

/// Checks: the request is final (settled, cancelled or rejected); the rent goes to its
/// `rent_payer`.
pub fn handler(ctx: Context<ExchangeClose>) -> Result<()> {
    let request = &ctx.accounts.request;
    emit_cpi!(ExchangeRequestClosed {
        pool: request.pool,
        request: request.key(),
        id: request.id,
        rent_payer: request.rent_payer,
        lamports: request.to_account_info().lamports(),
    });
    Ok(())
}
