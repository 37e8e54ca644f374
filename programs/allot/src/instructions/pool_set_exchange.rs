//! `pool_set_exchange`: the operator sets the exchange conditions, pricing and payout settings.

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::events::{ExchangeConfigured, RateUpdated};
use crate::state::{ExchangeConfig, Pool, Pricing};

#[event_cpi]
#[derive(Accounts)]
pub struct PoolSetExchange<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool to configure.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
}

/// Replaces the exchange configuration. Under fixed pricing the rate becomes `fixed_rate`;
/// under profit-share pricing the rate changes with the next profit report.
///
/// Checks: the configuration is valid (window order, holding time, cancel timeout, share).
pub fn handler(ctx: Context<PoolSetExchange>, config: ExchangeConfig) -> Result<()> {
    config.validate()?;
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
