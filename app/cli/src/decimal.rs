//! Decimal strings to scaled integers, without floating point (prices and strikes in files).

use anyhow::{Context, Result, ensure};

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
    fn bad_decimals_are_refused() {
        for bad in ["", "-1", "1e3", "1.2.3", "abc", ".5", "0.0000000001"] {
            assert!(parse_scaled(bad, 1_000_000_000).is_err(), "{bad}");
        }
        assert!(parse_scaled("18446744074", 1_000_000_000).is_err());
    }
}
