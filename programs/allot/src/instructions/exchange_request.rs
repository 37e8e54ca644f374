//! Accounts and handler of `exchange_request`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::{self, Token2022, TransferChecked};
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::allocation::RecordAccounts;
use crate::constants::{MAX_REQUEST_ID, SEED_ALLOCATION, SEED_EXCHANGE_REQUEST};
use crate::error::AllotError;
use crate::events::ExchangeRequested;
use crate::pda_account::{load_or_create, store};
use crate::state::{ExchangeRequest, Pool, RequestQuote, RequestStatus, check_can_request};

#[event_cpi]
#[derive(Accounts)]
#[instruction(id: u64)]
pub struct ExchangeRequestOpen<'info> {
    /// The user: owner of the units, signs in their wallet.
    pub user: Signer<'info>,
    /// Pays the request account's rent (the user, or a sponsor); gets it back at close.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The pool exchanged against.
    #[account(mut, has_one = mint, has_one = escrow, has_one = vault)]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's vault: receives the units that repay the user's debt, if any.
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's associated token account (source of the units).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = user,
        associated_token::token_program = token_program,
    )]
    pub user_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The pool's escrow token account.
    #[account(mut)]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the user's allocation record PDA (holding time, per-user cap, clawback bound;
    /// address checked by the seeds). Created empty, `payer` paying, for a user who has none: one
    /// who only received units, or whose record was closed after the pool's retirement.
    #[account(
        mut,
        seeds = [SEED_ALLOCATION, pool.key().as_ref(), user.key().as_ref()],
        bump,
    )]
    pub record: UncheckedAccount<'info>,
    /// CHECK: the new request PDA, `[SEED_EXCHANGE_REQUEST, pool, id]` with the id the client
    /// chose (address checked by the seeds), created here by `pda_account::load_or_create`; an
    /// address holding a request is refused (`RequestIdInUse`).
    #[account(
        mut,
        seeds = [SEED_EXCHANGE_REQUEST, pool.key().as_ref(), &id.to_le_bytes()],
        bump,
    )]
    pub request: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

impl<'info> ExchangeRequestOpen<'info> {
    /// Moves `amount` of the user's units from its token account to `to`, the user signing.
    fn send_from_user(&self, to: AccountInfo<'info>, amount: u64) -> Result<()> {
        token_2022::transfer_checked(
            CpiContext::new(
                self.token_program.key(),
                TransferChecked {
                    from: self.user_token.to_account_info(),
                    mint: self.mint.to_account_info(),
                    to,
                    authority: self.user.to_account_info(),
                },
            ),
            amount,
            self.pool.decimals,
        )
    }
}

/// Checks: the id is at most `MAX_REQUEST_ID`, the address holds no request account; those of
/// [`check_can_request`] (the page and the CLI ask the same function).
pub fn handler(ctx: Context<ExchangeRequestOpen>, id: u64, amount: u64) -> Result<()> {
    require!(id <= MAX_REQUEST_ID, AllotError::RequestIdTooLarge);
    // First: a request account at this id (another user's, or this one sent again) is never
    // replaced, and is named as such whatever else this request would be refused for. A closed
    // request's address is free again: the bridge tells the two apart by what the request says
    // (its `mismatch` check compares the id, user, amounts and `created_at`).
    require_keys_neq!(
        *ctx.accounts.request.owner,
        crate::ID,
        AllotError::RequestIdInUse
    );
    let now = Clock::get()?.unix_timestamp;
    let config = ctx.accounts.pool.exchange;
    let pool_key = ctx.accounts.pool.key();
    let user = ctx.accounts.user.key();
    let mut record = RecordAccounts {
        record: &ctx.accounts.record.to_account_info(),
        pool: &pool_key,
        user: &user,
        bump: ctx.bumps.record,
        payer: &ctx.accounts.payer.to_account_info(),
        system_program: &ctx.accounts.system_program.to_account_info(),
    }
    .load_or_create()?;
    let RequestQuote {
        quoted,
        rate,
        unit_value,
        period,
        cancel_after,
        debt_repaid,
        requested,
    } = check_can_request(
        &ctx.accounts.pool,
        &record,
        ctx.accounts.user_token.amount,
        amount,
        now,
    )?;
    let held = ctx.accounts.user_token.amount;
    let own_units = record.record_request(
        period,
        debt_repaid,
        requested,
        held.checked_sub(debt_repaid)
            .ok_or(AllotError::InvariantViolated)?,
        config.per_user_period_cap,
    )?;
    store(&ctx.accounts.record, &record)?;
    if debt_repaid > 0 {
        // The debt first, back to the vault as a clawback would have taken it.
        let vault = ctx.accounts.vault.to_account_info();
        ctx.accounts.send_from_user(vault, debt_repaid)?;
        ctx.accounts.pool.record_clawback(debt_repaid, false)?;
    }
    let amount = requested;
    ctx.accounts.pool.record_request(period, amount)?;

    let escrow = ctx.accounts.escrow.to_account_info();
    ctx.accounts.send_from_user(escrow, amount)?;

    let id_bytes = id.to_le_bytes();
    let bump = [ctx.bumps.request];
    let seeds: &[&[u8]] = &[SEED_EXCHANGE_REQUEST, pool_key.as_ref(), &id_bytes, &bump];
    let fresh: ExchangeRequest = load_or_create(
        &ctx.accounts.request,
        &ctx.accounts.payer,
        &ctx.accounts.system_program,
        8 + ExchangeRequest::INIT_SPACE,
        &[seeds],
    )?;
    // The owner check above left only an address without a request: created fresh here.
    require_keys_eq!(fresh.pool, Pubkey::default(), AllotError::InvariantViolated);
    store(
        &ctx.accounts.request,
        &ExchangeRequest {
            bump: ctx.bumps.request,
            pool: pool_key,
            id,
            user,
            rent_payer: ctx.accounts.payer.key(),
            amount,
            rate,
            quoted,
            created_at: now,
            status: RequestStatus::Pending,
            finalized_at: 0,
            payout_reference: [0; 32],
            paid_amount: 0,
            reject_reason: 0,
            payout_mint: config.payout_mint,
            currency: config.currency,
            currency_digits: config.currency_digits,
            cancel_after,
            lock_timeout_seconds: config.lock_timeout_seconds,
            locked_at: 0,
            payout_base_units: 0,
            locked_by: Pubkey::default(),
            own_units,
        },
    )?;
    ctx.accounts.pool.invariant()?;
    emit_cpi!(ExchangeRequested {
        pool: pool_key,
        request: ctx.accounts.request.key(),
        id,
        user,
        kind: ctx.accounts.pool.kind,
        amount,
        rate,
        unit_value,
        quoted,
        currency: config.currency,
        currency_digits: config.currency_digits,
        payout_mint: config.payout_mint,
        created_at: now,
        cancel_after,
        debt_repaid,
    });
    Ok(())
}
