//! The whole decision of `exchange_request`, pure: may this user request an exchange of this many
//! units now, and at what quote. The handler calls it, and so do the page's status and the CLI's
//! check before sending, so none of them offers what the program would refuse.

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::state::{AllocationRecord, Pool, ResourceKind, quote_round_down, unit_value};

/// What a request accepted now is made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestQuote {
    /// Funds owed for the units, in minor units of the pool's currency (rounded down).
    pub quoted: u64,
    /// The rate it is quoted at (`RATE_SCALE` fixed point, minor units per base unit).
    pub rate: u64,
    /// What one base unit is worth at that rate (for an option: above its strike).
    pub unit_value: u64,
    /// The pool's period now (for the per-user and per-period caps).
    pub period: u64,
    /// When the user may cancel it while it is pending (unix seconds).
    pub cancel_after: i64,
    /// Units of the amount sent that repay the user's debt first (to the pool's vault).
    pub debt_repaid: u64,
    /// Units left to escrow and quote: the amount sent less `debt_repaid`.
    pub requested: u64,
}

/// Whether the holder of `held` units with allocation `record` may request an exchange of
/// `amount` units of `pool` at `now`, checked in the program's order (the first failing rule is
/// the refusal): transferable pool; an amount; exchange open (for options: inside the exercise
/// window); a rate; in the money; enough units; the minimum holding; the holding time since the
/// last allocation; more units than the user's debt, which they repay first (the rest is what is
/// quoted, escrowed and counted by the caps); a quote above zero; the per-user and per-period
/// caps.
pub fn check_can_request(
    pool: &Pool,
    record: &AllocationRecord,
    held: u64,
    amount: u64,
    now: i64,
) -> Result<RequestQuote> {
    let config = &pool.exchange;
    require!(pool.transferable, AllotError::ExchangeNeedsTransferablePool);
    require!(amount > 0, AllotError::ZeroAmount);
    require!(
        config.is_open_at(now),
        if pool.kind == ResourceKind::VirtualOption {
            AllotError::OutsideExerciseWindow
        } else {
            AllotError::ExchangeClosed
        }
    );
    let rate = pool.exchange_state.rate;
    require!(rate > 0, AllotError::RateNotSet);
    let value = unit_value(pool.kind, rate, config.strike);
    require!(value > 0, AllotError::OutOfTheMoney);
    require!(held >= amount, AllotError::InsufficientUnits);
    require!(held >= config.min_holding, AllotError::MinHoldingNotMet);
    let held_for = now.saturating_sub(record.last_allocated_at);
    require!(
        held_for >= config.min_holding_seconds,
        AllotError::HoldingTimeNotMet
    );
    let (debt_repaid, requested) = record.split_request(amount)?;
    let held = held.saturating_sub(debt_repaid);
    let amount = requested;
    let quoted = quote_round_down(amount, value)?;
    require!(quoted > 0, AllotError::QuoteIsZero);
    // Bounded by the configuration (at most a year), so this cannot overflow in practice.
    let cancel_after = now
        .checked_add(config.cancel_timeout_seconds)
        .ok_or(AllotError::MathOverflow)?;
    let period = pool.period_at(now)?;
    record.after_request(period, amount, held, config.per_user_period_cap)?;
    pool.after_request(period, amount)?;
    Ok(RequestQuote {
        quoted,
        rate,
        unit_value: value,
        period,
        cancel_after,
        debt_repaid,
        requested,
    })
}

/// The most units one request may take now without passing a cap: `held`, bounded by what is
/// left of the per-user and per-period caps (0 when one is used up).
pub fn max_request_amount(pool: &Pool, record: &AllocationRecord, held: u64, now: i64) -> u64 {
    let Ok(period) = pool.period_at(now) else {
        return 0;
    };
    let config = &pool.exchange;
    // A request repays the user's debt first: the caps bound only what is left after it.
    if held <= record.debt {
        return 0;
    }
    let debt = record.debt;
    let mut most = held.saturating_sub(debt);
    if config.per_user_period_cap > 0 {
        let used = match u32::try_from(period) {
            Ok(period) if record.exchange_period == period => record.period_requested,
            _ => 0,
        };
        most = most.min(config.per_user_period_cap.saturating_sub(used));
    }
    if config.per_period_cap > 0 {
        let x = &pool.exchange_state;
        let used = if x.period == period {
            x.period_requested
        } else {
            0
        };
        most = most.min(config.per_period_cap.saturating_sub(used));
    }
    if most == 0 {
        0
    } else {
        most.saturating_add(debt)
    }
}
