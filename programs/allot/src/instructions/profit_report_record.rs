//! Accounts and handler of `profit_report_record`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_PROFIT_REPORT;
use crate::error::AllotError;
use crate::events::{ProfitReported, RateUpdated};
use crate::pda_account::{load_or_create, store};
use crate::state::{Pool, Pricing, ProfitReport, profit_share_rate_round_down};

/// A period's profit statement.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct ProfitReportArgs {
    /// The period reported (not later than the current one).
    pub period: u64,
    /// Profit in the currency's minor units.
    pub amount: u64,
    /// ISO 4217 code; must be the pool's exchange currency.
    pub currency: [u8; 3],
    /// Hash of the off-chain profit statement.
    pub evidence_hash: [u8; 32],
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: ProfitReportArgs)]
pub struct ProfitReportRecord<'info> {
    /// The pool's operator; pays the report's rent.
    #[account(mut)]
    pub operator: Signer<'info>,
    /// The pool whose profit is reported.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
    /// CHECK: the report PDA for `args.period` (address checked by the seeds), created here by
    /// `pda_account::load_or_create`; refused if a report for the period exists.
    #[account(
        mut,
        seeds = [SEED_PROFIT_REPORT, pool.key().as_ref(), &args.period.to_le_bytes()],
        bump,
    )]
    pub report: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Checks: period not in the future; currency matches; one report per period.
pub fn handler(ctx: Context<ProfitReportRecord>, args: ProfitReportArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    require!(
        args.period <= ctx.accounts.pool.period_at(now)?,
        AllotError::PeriodInFuture
    );
    require!(
        args.currency == ctx.accounts.pool.exchange.currency,
        AllotError::CurrencyMismatch
    );
    let period = args.period.to_le_bytes();
    let bump = [ctx.bumps.report];
    let seeds: &[&[u8]] = &[SEED_PROFIT_REPORT, pool_key.as_ref(), &period, &bump];
    let existing: ProfitReport = load_or_create(
        &ctx.accounts.report,
        &ctx.accounts.operator,
        &ctx.accounts.system_program,
        8 + ProfitReport::INIT_SPACE,
        &[seeds],
    )?;
    require_keys_eq!(
        existing.pool,
        Pubkey::default(),
        AllotError::ProfitReportExists
    );

    let pool = &mut ctx.accounts.pool;
    let previous = pool.exchange_state.rate;
    let rate_after = match pool.exchange.pricing {
        Pricing::FixedPrice => previous,
        Pricing::ProfitShare { share_bps } => {
            profit_share_rate_round_down(args.amount, share_bps, pool.held_by_users())?
        }
    };
    if rate_after != previous {
        pool.exchange_state.rate = rate_after;
        pool.exchange_state.rate_updated_at = now;
    }
    store(
        &ctx.accounts.report,
        &ProfitReport {
            bump: ctx.bumps.report,
            pool: pool_key,
            period: args.period,
            amount: args.amount,
            currency: args.currency,
            evidence_hash: args.evidence_hash,
            reported_at: now,
            rate_after,
        },
    )?;
    emit_cpi!(ProfitReported {
        pool: pool_key,
        period: args.period,
        amount: args.amount,
        currency: args.currency,
        evidence_hash: args.evidence_hash,
        rate_after,
    });
    if rate_after != previous {
        emit_cpi!(RateUpdated {
            pool: pool_key,
            previous,
            rate: rate_after,
            report_period: Some(args.period),
        });
    }
    Ok(())
}
