//! Accounts and handler of `exchange_settle`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

use crate::constants::SEED_EXCHANGE_REQUEST;
use crate::error::AllotError;
use crate::events::ExchangeSettled;
use crate::payout_mint::check_payout_mint;
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{ExchangeRequest, Pool, RequestStatus, SettleAction, payout_base_units};

/// What the bridge paid.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct ExchangeSettleArgs {
    /// Hash of the payment platform's transaction id (for on-chain payouts: any reference the
    /// bridge chooses; the transfer itself is in this transaction).
    pub payout_reference: [u8; 32],
    /// Funds paid, the currency's minor units; must equal the request's quote.
    pub paid_amount: u64,
    /// The request's `created_at` as the signer read it: the settlement is refused on any other
    /// request at the id (`RequestInstanceMismatch`), such as a later one opened after the paid
    /// request was cancelled and closed.
    pub expected_created_at: i64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct ExchangeSettle<'info> {
    /// The pool's settlement authority (the bridge key), or the key that locked the request while
    /// it is locked (`ExchangeRequest::check_may_finish`); also the owner of the payout treasury.
    pub settlement_authority: Signer<'info>,
    /// The request's pool.
    #[account(
        mut,
        has_one = mint,
        has_one = escrow,
        has_one = vault,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    #[account(mut)]
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's escrow (source of the settled units).
    #[account(mut)]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The pool's vault (receives the units when the pool returns them instead of burning).
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The request to settle.
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
    /// On-chain payout (exactly when the request's terms name one): the request's payout mint.
    pub payout_mint: Option<Box<InterfaceAccount<'info, Mint>>>,
    /// On-chain payout: the settlement authority's treasury token account of `payout_mint`.
    #[account(mut)]
    pub treasury: Option<Box<InterfaceAccount<'info, TokenAccount>>>,
    /// On-chain payout: the user's token account of `payout_mint`.
    #[account(mut)]
    pub user_payout: Option<Box<InterfaceAccount<'info, TokenAccount>>>,
    /// On-chain payout: the token program of `payout_mint` (SPL Token or Token-2022).
    pub payout_token_program: Option<Interface<'info, TokenInterface>>,
}

/// Checks: the request is the one the signer read (`expected_created_at`); request open; signer
/// is the settlement authority while it is pending, the key that locked it while it is locked;
/// paid amount equals the quote; payout accounts passed exactly
/// when the request's terms name a payout mint, and they match that mint and the request's user;
/// the mint pays in full.
pub fn handler(ctx: Context<ExchangeSettle>, args: ExchangeSettleArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let request = &ctx.accounts.request;
    request.check_is_instance(args.expected_created_at)?;
    request.check_is_open()?;
    require!(
        args.paid_amount == request.quoted,
        AllotError::PaidAmountMismatch
    );
    let payout_base_units = pay_on_chain(&ctx, request)?;

    let amount = request.amount;
    let tokens = PoolTokenAccounts::new(
        ctx.accounts.pool.to_account_info(),
        ctx.accounts.mint.to_account_info(),
        ctx.accounts.token_program.to_account_info(),
    );
    let escrow = ctx.accounts.escrow.to_account_info();
    let units_burned = ctx.accounts.pool.exchange.settle_action == SettleAction::Burn;
    if units_burned {
        tokens.burn(&ctx.accounts.pool, &escrow, amount)?;
    } else {
        let vault = ctx.accounts.vault.to_account_info();
        tokens.transfer(&ctx.accounts.pool, &escrow, &vault, amount)?;
    }
    let quoted = ctx.accounts.request.quoted;
    let pool = &mut ctx.accounts.pool;
    pool.record_settlement(amount, quoted, units_burned)?;
    pool.invariant()?;

    let request = &mut ctx.accounts.request;
    request.status = RequestStatus::Settled;
    request.finalized_at = now;
    request.payout_reference = args.payout_reference;
    request.paid_amount = args.paid_amount;
    request.payout_base_units = payout_base_units;
    emit_cpi!(ExchangeSettled {
        pool: request.pool,
        request: request.key(),
        id: request.id,
        user: request.user,
        amount,
        quoted,
        paid_amount: args.paid_amount,
        payout_mint: request.payout_mint,
        payout_base_units,
        payout_reference: args.payout_reference,
        onchain_payout: request.payout_mint.is_some(),
        units_burned,
        settled_at: now,
    });
    Ok(())
}

/// Pays the request on chain when its frozen terms name a payout mint: `quoted` minor units
/// scaled to the mint's base units, from the treasury to the user. Returns the base units paid
/// (0 for an off-chain payout, which must pass none of the payout accounts).
fn pay_on_chain(ctx: &Context<ExchangeSettle>, request: &ExchangeRequest) -> Result<u64> {
    let a = &ctx.accounts;
    let passed = (
        &a.payout_mint,
        &a.treasury,
        &a.user_payout,
        &a.payout_token_program,
    );
    let (mint, treasury, user_payout, program) = match (request.payout_mint, passed) {
        (None, (None, None, None, None)) => return Ok(0),
        (Some(_), (Some(m), Some(t), Some(u), Some(p))) => (m, t, u, p),
        _ => return err!(AllotError::PayoutTermsMismatch),
    };
    require!(
        request.payout_mint == Some(mint.key())
            && *mint.to_account_info().owner == program.key()
            && user_payout.mint == mint.key()
            && user_payout.owner == request.user
            && treasury.mint == mint.key(),
        AllotError::PayoutAccountsMismatch
    );
    check_payout_mint(mint, request.currency_digits)?;
    let base_units = payout_base_units(request.quoted, request.currency_digits, mint.decimals)?;
    token_interface::transfer_checked(
        CpiContext::new(
            program.key(),
            TransferChecked {
                from: treasury.to_account_info(),
                mint: mint.to_account_info(),
                to: user_payout.to_account_info(),
                authority: a.settlement_authority.to_account_info(),
            },
        ),
        base_units,
        mint.decimals,
    )?;
    Ok(base_units)
}
