//! Accounts and handler of `pool_set_exchange`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

use crate::error::AllotError;
use crate::events::{ExchangeConfigured, RateUpdated};
use crate::payout_mint::check_payout_mint;
use crate::state::{ExchangeConfig, Pool, Pricing};

#[event_cpi]
#[derive(Accounts)]
pub struct PoolSetExchange<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool to configure.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
    /// The configuration's payout mint, passed exactly when it names one (its decimals and
    /// extensions are checked here, once, instead of failing at the first settlement).
    pub payout_mint: Option<Box<InterfaceAccount<'info, Mint>>>,
}

/// Checks: the configuration is valid (window order, holding time, cancel and lock timeouts,
/// share, currency digits); the payout mint account is passed exactly when the configuration
/// names one, and can pay every quote exactly.
pub fn handler(ctx: Context<PoolSetExchange>, config: ExchangeConfig) -> Result<()> {
    config.validate()?;
    match (config.payout_mint, &ctx.accounts.payout_mint) {
        (None, None) => {}
        (Some(key), Some(mint)) if key == mint.key() => {
            check_payout_mint(mint, config.currency_digits)?;
        }
        _ => return err!(AllotError::PayoutAccountsMismatch),
    }
    let now = Clock::get()?.unix_timestamp;
    let pool = &mut ctx.accounts.pool;
    pool.exchange = config;
    let previous = pool.exchange_state.rate;
    let rate_changed = config.pricing == Pricing::FixedPrice && config.fixed_rate != previous;
    if rate_changed {
        pool.exchange_state.rate = config.fixed_rate;
        pool.exchange_state.rate_updated_at = now;
    }
    let pool_key = pool.key();
    emit_cpi!(ExchangeConfigured {
        pool: pool_key,
        config,
    });
    if rate_changed {
        emit_cpi!(RateUpdated {
            pool: pool_key,
            previous,
            rate: config.fixed_rate,
            report_period: None,
        });
    }
    Ok(())
}
