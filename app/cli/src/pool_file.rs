//! The pool file (TOML): everything an operator decides about a pool, read into the program's
//! own argument types. `operator create-pool`, `operator update` and `migrate` all read it.

use std::path::Path;

use allot::constants::{MAX_CURRENCY_DIGITS, MAX_EXCHANGE_TIMEOUT_SECONDS, RATE_SCALE};
use allot::instructions::{PoolCreateArgs, TokenMetadataArgs};
use allot::state::{
    AllocationRule, Comparison, ExchangeConfig, Pricing, ResourceKind, SettleAction,
};
use allot_client::currency::minor_unit_digits;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use crate::decimal::parse_scaled;

/// A pool file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolFile {
    /// Creator-chosen id: one operator key can run several pools.
    pub pool_id: u64,
    /// What the units represent.
    pub kind: KindName,
    /// Decimals of the pool's mint.
    #[serde(default)]
    pub decimals: u8,
    /// Whether holders may transfer units (false: allocations mint, clawbacks burn).
    pub transferable: bool,
    /// Whether the operator may pause every movement of the units, holders' transfers included
    /// (Token-2022 Pausable; transferable pools only; fixed at creation).
    #[serde(default)]
    pub pausable: bool,
    /// Most units the pool may ever mint.
    pub supply_cap: u64,
    /// Length of one allocation period, in seconds.
    pub period_seconds: i64,
    /// Units minted into the vault right after creation (transferable pools).
    #[serde(default)]
    pub initial_funding: u64,
    /// Verifier keys authorised at creation.
    #[serde(default)]
    pub verifiers: Vec<String>,
    /// The token's name as wallets show it; absent: the mint carries no name.
    pub token: Option<TokenSection>,
    /// The allocation rule.
    pub rule: RuleSection,
    /// Exchange conditions; absent: exchange stays closed.
    pub exchange: Option<ExchangeSection>,
}

/// `[token]`: the Token-2022 metadata written into the pool's mint (`pool_set_metadata`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSection {
    /// Its name (at most 32 bytes).
    pub name: String,
    /// Its symbol (at most 10 bytes).
    pub symbol: String,
    /// URI of its JSON description (image, description; at most 200 bytes).
    #[serde(default)]
    pub uri: String,
}

/// Resource kinds as written in the file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindName {
    /// `virtual-stock`
    VirtualStock,
    /// `virtual-asset`
    VirtualAsset,
    /// `virtual-option`
    VirtualOption,
    /// `virtual-token`
    VirtualToken,
}

/// `[rule]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSection {
    /// Indicator slot the rule reads (0–3).
    pub indicator: u8,
    /// `at-least` or `at-most`.
    pub comparison: ComparisonName,
    /// The threshold.
    pub threshold: u64,
    /// Units per allocation.
    pub amount: u64,
    /// Oldest a credential may be at allocation, in seconds.
    pub credential_max_age_seconds: i64,
}

/// Comparisons as written in the file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComparisonName {
    /// `at-least`
    AtLeast,
    /// `at-most`
    AtMost,
}

/// `[exchange]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSection {
    /// Whether requests are accepted.
    pub open: bool,
    /// Key that settles and rejects requests [default: the operator].
    pub settlement_authority: Option<String>,
    /// Requests accepted from this unix time (0: no start).
    #[serde(default)]
    pub window_start: i64,
    /// Requests accepted before this unix time (0: no end).
    #[serde(default)]
    pub window_end: i64,
    /// Least units a user must hold to request.
    #[serde(default)]
    pub min_holding: u64,
    /// Seconds after the last allocation before a request.
    #[serde(default)]
    pub min_holding_seconds: i64,
    /// Most units per user per period (0: no cap).
    #[serde(default)]
    pub per_user_period_cap: u64,
    /// Most units for all users per period (0: no cap).
    #[serde(default)]
    pub per_period_cap: u64,
    /// Seconds before a user may cancel a pending request.
    pub cancel_timeout_seconds: i64,
    /// Seconds a request locked for an off-chain payout stays locked before its user may cancel
    /// anyway [default: 7 days].
    #[serde(default = "default_lock_timeout_seconds")]
    pub lock_timeout_seconds: i64,
    /// `burn` or `return-to-vault`.
    pub settle_action: SettleActionName,
    /// `fixed-price` or `profit-share`.
    pub pricing: PricingName,
    /// Fixed price per base unit, in the currency's minor units, as a decimal string ("2.5").
    pub fixed_price: Option<String>,
    /// Share of reported profit paid out, in basis points (profit-share pricing).
    pub profit_share_bps: Option<u16>,
    /// ISO 4217 code of the funds.
    pub currency: String,
    /// ISO 4217 minor-unit digits of the currency (USD 2, JPY 0, BHD 3) [default: from the
    /// ISO 4217 table for the currencies it knows; required for others].
    pub currency_digits: Option<u8>,
    /// Strike per base unit (virtual options), minor units as a decimal string.
    pub strike: Option<String>,
    /// SPL mint paid on chain at settlement, if any.
    pub payout_mint: Option<String>,
}

/// The lock timeout when the file names none: seven days to settle a locked payout.
fn default_lock_timeout_seconds() -> i64 {
    7 * 86_400
}

/// Settle actions as written in the file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettleActionName {
    /// `burn`
    Burn,
    /// `return-to-vault`
    ReturnToVault,
}

/// Pricing rules as written in the file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PricingName {
    /// `fixed-price`
    FixedPrice,
    /// `profit-share`
    ProfitShare,
}

impl PoolFile {
    /// Reads and checks a pool file; every message names the file and the field.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read pool file {}", path.display()))?;
        let file: PoolFile = toml::from_str(&text)
            .with_context(|| format!("pool file {} is not valid", path.display()))?;
        file.check()
            .with_context(|| format!("pool file {} is not valid", path.display()))?;
        Ok(file)
    }

    fn check(&self) -> Result<()> {
        ensure!(
            usize::from(self.rule.indicator) < allot::constants::INDICATOR_COUNT,
            "rule.indicator must be 0..{}",
            allot::constants::INDICATOR_COUNT
        );
        ensure!(self.rule.amount > 0, "rule.amount must be positive");
        ensure!(
            self.rule.credential_max_age_seconds > 0,
            "rule.credential_max_age_seconds must be positive"
        );
        ensure!(
            self.period_seconds >= allot::constants::MIN_PERIOD_SECONDS,
            "period_seconds must be at least {}",
            allot::constants::MIN_PERIOD_SECONDS
        );
        ensure!(
            self.decimals <= allot::constants::MAX_DECIMALS,
            "decimals must be at most {}",
            allot::constants::MAX_DECIMALS
        );
        ensure!(
            self.rule.amount <= self.supply_cap,
            "rule.amount ({}) is above supply_cap ({})",
            self.rule.amount,
            self.supply_cap
        );
        ensure!(
            self.initial_funding <= self.supply_cap,
            "initial_funding ({}) is above supply_cap ({})",
            self.initial_funding,
            self.supply_cap
        );
        ensure!(
            self.transferable || !self.pausable,
            "pausable = true is for transferable pools (a non-transferable pool's units move only through the program: `operator pause` stops them)"
        );
        ensure!(
            self.initial_funding == 0 || self.transferable,
            "initial_funding is for transferable pools (non-transferable pools mint at allocation)"
        );
        self.verifier_keys()?;
        self.token_metadata()?;
        Ok(())
    }

    /// The `[token]` section as the program's argument, checked by the program's own rule.
    pub fn token_metadata(&self) -> Result<Option<TokenMetadataArgs>> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        let args = TokenMetadataArgs {
            name: token.name.clone(),
            symbol: token.symbol.clone(),
            uri: token.uri.clone(),
        };
        args.validate().map_err(|error| {
            anyhow::anyhow!("[token]: {}", allot_client::errors::refusal(&error))
        })?;
        Ok(Some(args))
    }

    /// The verifier keys, parsed.
    pub fn verifier_keys(&self) -> Result<Vec<Pubkey>> {
        self.verifiers
            .iter()
            .map(|key| parse_key(key).with_context(|| "in verifiers".to_string()))
            .collect()
    }

    /// The allocation rule.
    pub fn rule(&self) -> AllocationRule {
        AllocationRule {
            indicator: self.rule.indicator,
            comparison: match self.rule.comparison {
                ComparisonName::AtLeast => Comparison::AtLeast,
                ComparisonName::AtMost => Comparison::AtMost,
            },
            threshold: self.rule.threshold,
            amount: self.rule.amount,
            credential_max_age: self.rule.credential_max_age_seconds,
        }
    }

    /// The `pool_create` arguments.
    pub fn create_args(&self) -> PoolCreateArgs {
        PoolCreateArgs {
            pool_id: self.pool_id,
            kind: match self.kind {
                KindName::VirtualStock => ResourceKind::VirtualStock,
                KindName::VirtualAsset => ResourceKind::VirtualAsset,
                KindName::VirtualOption => ResourceKind::VirtualOption,
                KindName::VirtualToken => ResourceKind::VirtualToken,
            },
            decimals: self.decimals,
            transferable: self.transferable,
            pausable: self.pausable,
            supply_cap: self.supply_cap,
            period_seconds: self.period_seconds,
            rule: self.rule(),
        }
    }

    /// The exchange configuration, with `operator` as the default settlement authority; `None`
    /// when the file has no `[exchange]` section.
    pub fn exchange_config(&self, operator: &Pubkey) -> Result<Option<ExchangeConfig>> {
        let Some(section) = &self.exchange else {
            return Ok(None);
        };
        section.config(operator).map(Some).context("in [exchange]")
    }
}

impl ExchangeSection {
    fn config(&self, operator: &Pubkey) -> Result<ExchangeConfig> {
        let currency: [u8; 3] = self
            .currency
            .as_bytes()
            .try_into()
            .ok()
            .filter(|c: &[u8; 3]| c.iter().all(u8::is_ascii_uppercase))
            .with_context(|| {
                format!(
                    "currency {:?} is not a 3-letter ISO 4217 code",
                    self.currency
                )
            })?;
        let scaled = |field: &str, value: &Option<String>| -> Result<u64> {
            value
                .as_deref()
                .map(|v| parse_scaled(v, RATE_SCALE).with_context(|| format!("in {field}")))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let pricing = match self.pricing {
            PricingName::FixedPrice => {
                if self.fixed_price.is_none() {
                    bail!("fixed-price pricing needs fixed_price");
                }
                Pricing::FixedPrice
            }
            PricingName::ProfitShare => {
                let share_bps = self
                    .profit_share_bps
                    .context("profit-share pricing needs profit_share_bps")?;
                ensure!(
                    (1..=10_000).contains(&share_bps),
                    "profit_share_bps must be 1..=10000"
                );
                Pricing::ProfitShare { share_bps }
            }
        };
        let timeouts = 1..=MAX_EXCHANGE_TIMEOUT_SECONDS;
        ensure!(
            timeouts.contains(&self.cancel_timeout_seconds),
            "cancel_timeout_seconds must be 1..={MAX_EXCHANGE_TIMEOUT_SECONDS} (at most a year)"
        );
        ensure!(
            timeouts.contains(&self.lock_timeout_seconds),
            "lock_timeout_seconds must be 1..={MAX_EXCHANGE_TIMEOUT_SECONDS} (at most a year)"
        );
        let currency_digits = match (self.currency_digits, minor_unit_digits(&currency)) {
            (Some(stated), Some(iso)) if stated != iso => bail!(
                "currency_digits = {stated}, but ISO 4217 gives {} {iso} minor-unit digits",
                self.currency
            ),
            (Some(stated), _) if stated > MAX_CURRENCY_DIGITS => {
                bail!("currency_digits must be 0..={MAX_CURRENCY_DIGITS}")
            }
            (Some(stated), _) => stated,
            (None, Some(iso)) => iso,
            (None, None) => bail!(
                "currency {} is not in allot's ISO 4217 table: state its minor-unit digits with currency_digits",
                self.currency
            ),
        };
        ensure!(
            self.window_end == 0 || self.window_end > self.window_start,
            "window_end must be after window_start (or 0)"
        );
        Ok(ExchangeConfig {
            settlement_authority: match &self.settlement_authority {
                Some(key) => parse_key(key).context("in settlement_authority")?,
                None => *operator,
            },
            open: self.open,
            window_start: self.window_start,
            window_end: self.window_end,
            min_holding: self.min_holding,
            min_holding_seconds: self.min_holding_seconds,
            per_user_period_cap: self.per_user_period_cap,
            per_period_cap: self.per_period_cap,
            cancel_timeout_seconds: self.cancel_timeout_seconds,
            lock_timeout_seconds: self.lock_timeout_seconds,
            settle_action: match self.settle_action {
                SettleActionName::Burn => SettleAction::Burn,
                SettleActionName::ReturnToVault => SettleAction::ReturnToVault,
            },
            pricing,
            currency,
            currency_digits,
            fixed_rate: scaled("fixed_price", &self.fixed_price)?,
            strike: scaled("strike", &self.strike)?,
            payout_mint: self
                .payout_mint
                .as_deref()
                .map(parse_key)
                .transpose()
                .context("in payout_mint")?,
        })
    }
}

/// Parses a base58 public key, naming the bad value.
pub fn parse_key(text: &str) -> Result<Pubkey> {
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a valid public key (base58)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../migrations/pools/example.toml");

    #[test]
    fn example_pool_file_reads_into_program_arguments() {
        let file: PoolFile = toml::from_str(EXAMPLE).unwrap();
        file.check().unwrap();
        let args = file.create_args();
        assert_eq!(args.kind, ResourceKind::VirtualStock);
        assert_eq!(args.rule.comparison, Comparison::AtLeast);
        let operator = Pubkey::new_unique();
        let exchange = file.exchange_config(&operator).unwrap().unwrap();
        assert_eq!(exchange.settlement_authority, operator);
        assert_eq!(exchange.currency, *b"USD");
        assert_eq!(exchange.currency_digits, 2, "from the ISO 4217 table");
        assert_eq!(exchange.lock_timeout_seconds, 7 * 86_400);
        assert_eq!(exchange.fixed_rate, 2 * RATE_SCALE + RATE_SCALE / 2);
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = EXAMPLE.replace("indicator = 0", "indicator = 9");
        let file: PoolFile = toml::from_str(&bad).unwrap();
        let message = format!("{:#}", file.check().unwrap_err());
        assert!(message.contains("rule.indicator"), "{message}");

        let bad = EXAMPLE.replace("currency = \"USD\"", "currency = \"usd\"");
        let file: PoolFile = toml::from_str(&bad).unwrap();
        let message = format!(
            "{:#}",
            file.exchange_config(&Pubkey::new_unique()).unwrap_err()
        );
        assert!(message.contains("ISO 4217"), "{message}");

        // The example states 2 digits: wrong for yen.
        let wrong_digits = EXAMPLE.replace("currency = \"USD\"", "currency = \"JPY\"");
        let file: PoolFile = toml::from_str(&wrong_digits).unwrap();
        let message = format!(
            "{:#}",
            file.exchange_config(&Pubkey::new_unique()).unwrap_err()
        );
        assert!(message.contains("ISO 4217 gives JPY 0"), "{message}");

        let unknown_currency = EXAMPLE
            .replace("currency = \"USD\"", "currency = \"XYZ\"")
            .replace("currency_digits = 2", "");
        let file: PoolFile = toml::from_str(&unknown_currency).unwrap();
        let message = format!(
            "{:#}",
            file.exchange_config(&Pubkey::new_unique()).unwrap_err()
        );
        assert!(message.contains("state its minor-unit digits"), "{message}");

        let unknown = format!("{EXAMPLE}\ncolour = 3\n");
        let message = toml::from_str::<PoolFile>(&unknown)
            .unwrap_err()
            .to_string();
        assert!(message.contains("colour"), "{message}");
    }
}
