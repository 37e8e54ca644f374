//! `exchange_settle`: the settlement authority (the bridge) records the payment and settles a
//! pending request — optionally paying a stablecoin on chain in the same transaction.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions, ExtensionType, StateWithExtensions,
};
use anchor_spl::token_2022::spl_token_2022::state::Mint as MintState;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

use crate::constants::SEED_EXCHANGE_REQUEST;
use crate::error::AllotError;
use crate::events::ExchangeSettled;
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{ExchangeRequest, Pool, RequestStatus, SettleAction};

/// What the bridge paid.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct ExchangeSettleArgs {
    /// Hash of the payment platform's transaction id (for on-chain payouts: any reference the
    /// bridge chooses; the transfer itself is in this transaction).
    pub payout_reference: [u8; 32],
    /// Funds paid, minor units; must equal the request's quote.
    pub paid_amount: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct ExchangeSettle<'info> {
    /// The pool's settlement authority (the bridge key); also the owner of the payout treasury.
    pub settlement_authority: Signer<'info>,
    /// The request's pool.
    #[account(
        mut,
        has_one = mint,
        has_one = escrow,
        has_one = vault,
        constraint = pool.exchange.settlement_authority == settlement_authority.key()
            @ AllotError::NotSettlementAuthority,
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
    )]
    pub request: Box<Account<'info, ExchangeRequest>>,
    pub token_program: Program<'info, Token2022>,
    /// On-chain payout (optional): the pool's configured payout mint.
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

/// Settles the request: Pending → Settled, records the payout, burns the escrowed units or
/// returns them to the vault. With the payout accounts, also transfers the quote from the
/// treasury to the user, atomically.
///
/// Checks: signer is the settlement authority; request pending; paid amount equals the quote;
/// payout accounts (all or none) match the pool's payout mint and the request's user; the payout
/// mint has no transfer fee or transfer hook (the user must receive exactly the quote).
pub fn handler(ctx: Context<ExchangeSettle>, args: ExchangeSettleArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let request = &ctx.accounts.request;
    require!(
        request.status == RequestStatus::Pending,
        AllotError::RequestNotPending
    );
    require!(
        args.paid_amount == request.quoted,
        AllotError::PaidAmountMismatch
    );
    let onchain_payout = pay_on_chain(&ctx, request.user, request.quoted)?;

    let amount = request.amount;
    let pool_info = ctx.accounts.pool.to_account_info();
    let tokens = PoolTokenAccounts {
        pool: &pool_info,
        mint: &ctx.accounts.mint.to_account_info(),
        token_program: &ctx.accounts.token_program.to_account_info(),
    };
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
    emit_cpi!(ExchangeSettled {
        pool: request.pool,
        request: request.key(),
        id: request.id,
        user: request.user,
        amount,
        quoted,
        paid_amount: args.paid_amount,
        payout_reference: args.payout_reference,
        onchain_payout,
        units_burned,
        settled_at: now,
    });
    Ok(())
}

/// Transfers `quoted` of the payout mint from the treasury to the user when the payout accounts
/// are passed; returns whether it did.
fn pay_on_chain(ctx: &Context<ExchangeSettle>, user: Pubkey, quoted: u64) -> Result<bool> {
    let a = &ctx.accounts;
    let (mint, treasury, user_payout, program) = match (
        &a.payout_mint,
        &a.treasury,
        &a.user_payout,
        &a.payout_token_program,
    ) {
        (None, None, None, None) => return Ok(false),
        (Some(m), Some(t), Some(u), Some(p)) => (m, t, u, p),
        _ => return err!(AllotError::PayoutAccountsMismatch),
    };
    require!(
        pays_in_full(&mint.to_account_info())?,
        AllotError::PayoutMintUnsupported
    );
    require!(
        a.pool.exchange.payout_mint == Some(mint.key())
            && *mint.to_account_info().owner == program.key()
            && user_payout.mint == mint.key()
            && user_payout.owner == user
            && treasury.mint == mint.key(),
        AllotError::PayoutAccountsMismatch
    );
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
        quoted,
        mint.decimals,
    )?;
    Ok(true)
}

/// Whether a transfer of the payout mint delivers exactly what is sent: no transfer fee (the
/// user would receive less than quoted) and no transfer hook (its extra accounts are not passed).
fn pays_in_full(mint: &AccountInfo) -> Result<bool> {
    if *mint.owner != anchor_spl::token_2022::ID {
        return Ok(true);
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<MintState>::unpack(&data)?;
    let extensions = state.get_extension_types()?;
    Ok(!extensions.iter().any(|e| {
        matches!(
            e,
            ExtensionType::TransferFeeConfig | ExtensionType::TransferHook
        )
    }))
}
