//! How a pool turns units into funds: its pricing, its exchange conditions, and the quote math.

use anchor_lang::prelude::*;

use crate::constants::{MAX_CURRENCY_DIGITS, MAX_EXCHANGE_TIMEOUT_SECONDS, RATE_SCALE};
use crate::error::AllotError;
use crate::state::ResourceKind;

/// How the pool's rate (funds per unit) is set.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    /// The operator sets the rate directly (`rate` in the config); profit reports are recorded
    /// for audit but do not move it.
    FixedPrice,
    /// Each profit report sets `rate = profit × share_bps / 10,000 / outstanding units`.
    ProfitShare {
        /// Share of the reported profit distributed over the outstanding units, in basis points.
        share_bps: u16,
    },
}

/// What happens to escrowed units when their request is settled.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettleAction {
    /// The units are burned (the resource is consumed).
    Burn,
    /// The units go back to the vault, to be allocated again.
    ReturnToVault,
}

/// The exchange conditions and payout settings an operator configures.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Key allowed to settle and reject requests (the operator's payment bridge).
    pub settlement_authority: Pubkey,
    /// Master switch: requests are refused while false.
    pub open: bool,
    /// Requests are accepted from this unix time on (0: no start).
    pub window_start: i64,
    /// Requests are accepted before this unix time (0: no end).
    pub window_end: i64,
    /// The user must hold at least this many units to request.
    pub min_holding: u64,
    /// Seconds that must pass after the user's last allocation before a request.
    pub min_holding_seconds: i64,
    /// Most units one user may request per allocation period (0: no cap).
    pub per_user_period_cap: u64,
    /// Most units all users together may request per allocation period (0: no cap).
    pub per_period_cap: u64,
    /// Seconds after which the user may cancel a request that is still pending (frozen into
    /// each request as its `cancel_after`). At most [`MAX_EXCHANGE_TIMEOUT_SECONDS`].
    pub cancel_timeout_seconds: i64,
    /// Seconds a request stays locked for payout before its user may cancel it anyway: the
    /// user's way out if the operator stops settling (frozen into each request). At most
    /// [`MAX_EXCHANGE_TIMEOUT_SECONDS`].
    pub lock_timeout_seconds: i64,
    /// What settlement does with the escrowed units.
    pub settle_action: SettleAction,
    /// How the rate is set.
    pub pricing: Pricing,
    /// ISO 4217 code of the funds (profit reports must use the same).
    pub currency: [u8; 3],
    /// ISO 4217 minor-unit digits of `currency` (USD 2, JPY 0, BHD 3): quotes and profits are
    /// in 10^-digits of a currency unit. At most [`MAX_CURRENCY_DIGITS`].
    pub currency_digits: u8,
    /// Fixed rate (funds minor units per base unit × `RATE_SCALE`) when pricing is `FixedPrice`.
    pub fixed_rate: u64,
    /// Strike of a virtual option (same scale as the rate); ignored for other kinds.
    pub strike: u64,
    /// SPL mint paid on chain at settlement, if the operator pays in a stablecoin. Its decimals
    /// must be at least `currency_digits` (checked when configured).
    pub payout_mint: Option<Pubkey>,
}

impl ExchangeConfig {
    /// Checks that the configuration is usable.
    pub fn validate(&self) -> Result<()> {
        require!(
            self.window_end == 0 || self.window_end > self.window_start,
            AllotError::InvalidExchangeConfig
        );
        let timeouts = 1..=MAX_EXCHANGE_TIMEOUT_SECONDS;
        require!(
            self.min_holding_seconds >= 0
                && timeouts.contains(&self.cancel_timeout_seconds)
                && timeouts.contains(&self.lock_timeout_seconds),
            AllotError::InvalidExchangeConfig
        );
        require!(
            self.currency_digits <= MAX_CURRENCY_DIGITS
                && self.currency.iter().all(u8::is_ascii_uppercase),
            AllotError::InvalidExchangeConfig
        );
        if let Pricing::ProfitShare { share_bps } = self.pricing {
            require!(
                share_bps > 0 && share_bps <= 10_000,
                AllotError::InvalidExchangeConfig
            );
        }
        Ok(())
    }

    /// Whether requests are accepted at `now`.
    pub fn is_open_at(&self, now: i64) -> bool {
        self.open && now >= self.window_start && (self.window_end == 0 || now < self.window_end)
    }
}

/// Running exchange figures of a pool, in base units.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
pub struct ExchangeState {
    /// The rate in force: funds minor units per base unit × `RATE_SCALE` (0: not set yet).
    pub rate: u64,
    /// When the rate last changed (unix seconds).
    pub rate_updated_at: i64,
    /// Requests opened in this pool, ever. (Not the next id: a request's id is the client's
    /// choice, so that users opening requests at once do not race for one counter.)
    pub requests_opened: u64,
    /// Units in escrow for pending requests.
    pub escrowed: u64,
    /// Units settled (exchanged for funds) ever.
    pub settled: u64,
    /// Funds quoted for settled requests ever (minor units).
    pub funds_settled: u64,
    /// The period `period_requested` counts.
    pub period: u64,
    /// Units requested in `period` by all users.
    pub period_requested: u64,
}

/// Value of one base unit at `rate` for a pool of `kind` with `strike`: the rate itself, or for a
/// virtual option the rate above the strike (zero when out of the money).
pub fn unit_value(kind: ResourceKind, rate: u64, strike: u64) -> u64 {
    match kind {
        ResourceKind::VirtualOption => rate.saturating_sub(strike),
        _ => rate,
    }
}

/// Funds (minor units) for `amount` base units at `unit_value`, rounded down (never in the
/// user's favour beyond what the rate gives).
pub fn quote_round_down(amount: u64, unit_value: u64) -> Result<u64> {
    let funds = u128::from(amount)
        .checked_mul(u128::from(unit_value))
        .and_then(|v| v.checked_div(u128::from(RATE_SCALE)))
        .ok_or(AllotError::MathOverflow)?;
    u64::try_from(funds).map_err(|_| error!(AllotError::MathOverflow))
}

/// Base units of a payout mint with `mint_decimals` that pay exactly `quoted_minor_units` of a
/// currency with `currency_digits`: `quoted × 10^(mint_decimals − currency_digits)`. A mint with
/// fewer decimals than the currency cannot pay every quote exactly and is refused.
pub fn payout_base_units(
    quoted_minor_units: u64,
    currency_digits: u8,
    mint_decimals: u8,
) -> Result<u64> {
    let shift = mint_decimals
        .checked_sub(currency_digits)
        .ok_or(AllotError::PayoutMintTooFewDecimals)?;
    10u64
        .checked_pow(u32::from(shift))
        .and_then(|scale| quoted_minor_units.checked_mul(scale))
        .ok_or_else(|| error!(AllotError::MathOverflow))
}

/// Rate from a profit report: `profit × share_bps / 10,000` spread over `outstanding` units,
/// scaled by `RATE_SCALE`, rounded down.
pub fn profit_share_rate_round_down(profit: u64, share_bps: u16, outstanding: u64) -> Result<u64> {
    require!(outstanding > 0, AllotError::NoUnitsOutstanding);
    let rate = u128::from(profit)
        .checked_mul(u128::from(share_bps))
        .and_then(|v| v.checked_mul(u128::from(RATE_SCALE)))
        .and_then(|v| v.checked_div(10_000))
        .and_then(|v| v.checked_div(u128::from(outstanding)))
        .ok_or(AllotError::MathOverflow)?;
    u64::try_from(rate).map_err(|_| error!(AllotError::MathOverflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_round_down() {
        // 3 units at 0.5 funds each: 1.5 → 1.
        assert_eq!(quote_round_down(3, RATE_SCALE / 2).unwrap(), 1);
        assert_eq!(quote_round_down(0, u64::MAX).unwrap(), 0);
        assert_eq!(quote_round_down(u64::MAX, RATE_SCALE).unwrap(), u64::MAX);
        assert!(quote_round_down(u64::MAX, u64::MAX).is_err());
    }

    #[test]
    fn splitting_a_request_never_pays_more() {
        // Rounding in the user's favour would let many small requests out-earn one large one.
        for rate in [
            1,
            RATE_SCALE / 3,
            RATE_SCALE / 2,
            2 * RATE_SCALE / 3,
            7 * RATE_SCALE + 1,
        ] {
            for a in 0..120u64 {
                for b in 0..120u64 {
                    let split =
                        quote_round_down(a, rate).unwrap() + quote_round_down(b, rate).unwrap();
                    assert!(
                        split <= quote_round_down(a + b, rate).unwrap(),
                        "{a} + {b} at {rate}"
                    );
                }
            }
        }
    }

    #[test]
    fn profit_share_spreads_over_outstanding_units() {
        // 10,000.00 profit (1,000,000 cents), 20% share, 400 units: 500 cents per unit.
        let rate = profit_share_rate_round_down(1_000_000, 2_000, 400).unwrap();
        assert_eq!(rate, 500 * RATE_SCALE);
        assert_eq!(quote_round_down(3, rate).unwrap(), 1_500);
        assert!(profit_share_rate_round_down(1, 1, 0).is_err());
    }

    #[test]
    fn payouts_scale_minor_units_to_the_mint_decimals() {
        // USD 4.00 = 400 cents into a 6-decimal stablecoin: 4,000,000 base units.
        assert_eq!(payout_base_units(400, 2, 6).unwrap(), 4_000_000);
        // JPY has no minor unit: 1,500 yen = 1,500,000,000 base units of a 6-decimal mint.
        assert_eq!(payout_base_units(1_500, 0, 6).unwrap(), 1_500_000_000);
        // Same digits: paid one for one.
        assert_eq!(payout_base_units(7, 3, 3).unwrap(), 7);
        // Too few decimals, and a product past u64, are refused.
        assert!(payout_base_units(1, 2, 1).is_err());
        assert!(payout_base_units(u64::MAX / 10 + 1, 2, 3).is_err());
    }

    #[test]
    fn config_bounds_digits_timeouts_and_currency() {
        let good = crate::state::ExchangeConfig::closed(Pubkey::new_unique());
        assert!(good.validate().is_ok());
        let bad = [
            ExchangeConfig {
                currency_digits: 5,
                ..good
            },
            ExchangeConfig {
                currency: *b"usd",
                ..good
            },
            ExchangeConfig {
                cancel_timeout_seconds: i64::MAX,
                ..good
            },
            ExchangeConfig {
                cancel_timeout_seconds: 0,
                ..good
            },
            ExchangeConfig {
                lock_timeout_seconds: 0,
                ..good
            },
            ExchangeConfig {
                lock_timeout_seconds: MAX_EXCHANGE_TIMEOUT_SECONDS + 1,
                ..good
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn options_pay_above_the_strike_only() {
        assert_eq!(unit_value(ResourceKind::VirtualOption, 700, 500), 200);
        assert_eq!(unit_value(ResourceKind::VirtualOption, 400, 500), 0);
        assert_eq!(unit_value(ResourceKind::VirtualStock, 400, 500), 400);
    }
}
