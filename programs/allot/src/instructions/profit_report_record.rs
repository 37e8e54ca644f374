//! `profit_report_record`: the operator records a period's service profit; under profit-share
//! pricing it sets the rate.

use anchor_lang::prelude::*;

use crate::constants::SEED_PROFIT_REPORT;
use crate::error::AllotError;
use crate::events::{ProfitReported, RateUpdated};
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
    /// The report PDA for `args.period`, created here (a pre-funded address is topped up, as
    /// Anchor's `init` does); an existing report is loaded only to refuse a second one.
    #[account(
        init_if_needed,
        payer = operator,
        space = 8 + ProfitReport::INIT_SPACE,
        seeds = [SEED_PROFIT_REPORT, pool.key().as_ref(), &args.period.to_le_bytes()],
        bump,
    )]
    pub report: Box<Account<'info, ProfitReport>>,
    pub system_program: Program<'info, System>,
}

/// Records the report. Under profit-share pricing the rate becomes
/// `amount × share_bps / 10,000 / outstanding units` (rounded down).
///
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
    // A report written earlier carries its pool; a fresh account is all zeros.
    require_keys_eq!(
        ctx.accounts.report.pool,
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
    **ctx.accounts.report = ProfitReport {
        bump: ctx.bumps.report,
        pool: pool_key,
        period: args.period,
        amount: args.amount,
        currency: args.currency,
        evidence_hash: args.evidence_hash,
        reported_at: now,
        rate_after,
    };
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
