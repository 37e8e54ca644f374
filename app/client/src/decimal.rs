//! Decimal strings to scaled integers and back, without floating point: prices and strikes in
//! pool files, token amounts typed on the command line or in a wallet's Action form.

use std::str::FromStr;

use anyhow::{Context, Result, ensure};

/// An amount of a pool's token as a person types it (`8`, `1.5`), converted to the mint's base
/// units once its decimals are known: with 2 decimals, `1.5` is 150 base units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenAmount(String);

impl FromStr for TokenAmount {
    type Err = anyhow::Error;

    /// Accepts a decimal number without sign or exponent (its places and size are checked
    /// against the mint later).
    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        ensure!(
            !whole.is_empty() && all_digits(whole) && all_digits(fraction),
            "{text:?} is not a decimal number like 1.5"
        );
        Ok(Self(text.to_owned()))
    }
}

impl TokenAmount {
    /// The amount in base units of a mint with `decimals`: refused when it has more decimal places
    /// than the mint, is zero, or does not fit a u64.
    pub fn base_units(&self, decimals: u8) -> Result<u64> {
        let scale = 10u64
            .checked_pow(u32::from(decimals))
            .with_context(|| format!("a mint with {decimals} decimals"))?;
        let base_units = parse_scaled(&self.0, scale)
            .with_context(|| format!("{} in a token with {decimals} decimals", self.0))?;
        ensure!(base_units > 0, "the amount {} must be positive", self.0);
        Ok(base_units)
    }
}

impl std::fmt::Display for TokenAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `text` ("2.5", "10", "0.000000001") as a number times `scale` (a power of ten).
/// Refuses signs, exponents, more fractional digits than `scale` holds, and overflow.
pub fn parse_scaled(text: &str, scale: u64) -> Result<u64> {
    let digits_allowed = scale.checked_ilog10().unwrap_or(0) as usize;
    ensure!(
        10u64.checked_pow(digits_allowed as u32) == Some(scale),
        "scale {scale} is not a power of ten"
    );
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    ensure!(
        !whole.is_empty() && all_digits(whole) && all_digits(fraction),
        "{text:?} is not a decimal number like 2.5"
    );
    ensure!(
        fraction.len() <= digits_allowed,
        "{text:?} has more than {digits_allowed} decimal places"
    );
    let whole: u64 = whole
        .parse()
        .with_context(|| format!("{text:?} is too large"))?;
    let padded = format!("{fraction:0<digits_allowed$}");
    let fraction: u64 = if padded.is_empty() {
        0
    } else {
        padded.parse().context("fraction")?
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction))
        .with_context(|| format!("{text:?} is too large"))
}

/// `base_units` of a mint with `decimals` as the decimal a person reads: `format_units(150, 2)`
/// is `1.5`, `format_units(8, 0)` is `8`.
pub fn format_units(base_units: u64, decimals: u8) -> String {
    let Some(scale) = 10u64.checked_pow(u32::from(decimals)) else {
        return base_units.to_string();
    };
    let (whole, fraction) = (base_units / scale, base_units % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = usize::from(decimals);
    let fraction = format!("{fraction:0>digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_scale_exactly() {
        assert_eq!(parse_scaled("2.5", 1_000_000_000).unwrap(), 2_500_000_000);
        assert_eq!(parse_scaled("10", 100).unwrap(), 1_000);
        assert_eq!(parse_scaled("0.000000001", 1_000_000_000).unwrap(), 1);
        assert_eq!(parse_scaled("7.", 10).unwrap(), 70);
    }

    #[test]
    fn typed_amounts_become_base_units_by_the_mints_decimals() {
        let amount = |text: &str| text.parse::<TokenAmount>().unwrap();
        assert_eq!(amount("8").base_units(0).unwrap(), 8);
        assert_eq!(amount("1.5").base_units(2).unwrap(), 150);
        assert_eq!(amount("1.5").base_units(6).unwrap(), 1_500_000);
        assert_eq!(amount("0.01").base_units(2).unwrap(), 1);
        // More places than the mint has, zero, and overflow are refused with the reason.
        let message = format!("{:#}", amount("1.5").base_units(0).unwrap_err());
        assert!(
            message.contains("more than 0 decimal places") && message.contains("0 decimals"),
            "{message}"
        );
        assert!(amount("0").base_units(2).is_err());
        assert!(amount("0.00").base_units(2).is_err());
        assert!(amount("18446744073709551615").base_units(1).is_err());
        assert!(amount("0.0000000001").base_units(9).is_err());
        // Not a number at all: refused when typed.
        for bad in ["-1", "1e3", "abc", "", ".5", "1.2.3"] {
            assert!(bad.parse::<TokenAmount>().is_err(), "{bad}");
        }
    }

    #[test]
    fn base_units_read_as_decimals() {
        assert_eq!(format_units(150, 2), "1.5");
        assert_eq!(format_units(8, 0), "8");
        assert_eq!(format_units(1, 2), "0.01");
        assert_eq!(format_units(1_500_000, 6), "1.5");
        assert_eq!(format_units(2_000_000, 6), "2");
        assert_eq!(format_units(u64::MAX, 19), "1.8446744073709551615");
        // Round trip: what is printed parses back to the same base units.
        for (units, decimals) in [(150, 2), (1, 9), (123_456_789, 4), (u64::MAX, 0)] {
            let typed: TokenAmount = format_units(units, decimals).parse().unwrap();
            assert_eq!(typed.base_units(decimals).unwrap(), units);
        }
    }

    #[test]
    fn bad_decimals_are_refused() {
        for bad in ["", "-1", "1e3", "1.2.3", "abc", ".5", "0.0000000001"] {
            assert!(parse_scaled(bad, 1_000_000_000).is_err(), "{bad}");
        }
        assert!(parse_scaled("18446744074", 1_000_000_000).is_err());
    }
}
