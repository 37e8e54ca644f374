//! ISO 4217 minor-unit digits: how many decimal places a currency's amounts have (USD 2, JPY 0,
//! BHD 3). A quote is an integer count of minor units; its digits say what one unit is worth.

/// Currencies whose minor unit is not the hundredth (ISO 4217 list 1, exponent 0, 3 or 4).
const NOT_TWO_DIGITS: [(&[u8; 3], u8); 26] = [
    (b"BIF", 0),
    (b"CLP", 0),
    (b"DJF", 0),
    (b"GNF", 0),
    (b"ISK", 0),
    (b"JPY", 0),
    (b"KMF", 0),
    (b"KRW", 0),
    (b"PYG", 0),
    (b"RWF", 0),
    (b"UGX", 0),
    (b"UYI", 0),
    (b"VND", 0),
    (b"VUV", 0),
    (b"XAF", 0),
    (b"XOF", 0),
    (b"XPF", 0),
    (b"BHD", 3),
    (b"IQD", 3),
    (b"JOD", 3),
    (b"KWD", 3),
    (b"LYD", 3),
    (b"OMR", 3),
    (b"TND", 3),
    (b"CLF", 4),
    (b"UYW", 4),
];

/// Widely used currencies whose minor unit is the hundredth (ISO 4217 exponent 2).
const TWO_DIGITS: [&[u8; 3]; 40] = [
    b"AED", b"ARS", b"AUD", b"BRL", b"CAD", b"CHF", b"CNY", b"COP", b"CZK", b"DKK", b"EGP", b"EUR",
    b"GBP", b"GHS", b"HKD", b"HUF", b"IDR", b"ILS", b"INR", b"KES", b"MAD", b"MXN", b"MYR", b"NGN",
    b"NOK", b"NZD", b"PEN", b"PHP", b"PKR", b"PLN", b"QAR", b"RON", b"SAR", b"SEK", b"SGD", b"THB",
    b"TRY", b"TWD", b"USD", b"ZAR",
];

/// The ISO 4217 minor-unit digits of `code`, when this table knows the currency.
pub fn minor_unit_digits(code: &[u8; 3]) -> Option<u8> {
    if let Some((_, digits)) = NOT_TWO_DIGITS.iter().find(|(c, _)| *c == code) {
        return Some(*digits);
    }
    TWO_DIGITS.contains(&code).then_some(2)
}

/// Formats `minor_units` of a currency with `digits` as a decimal amount ("4.00", "1500").
pub fn format_minor_units(minor_units: u64, digits: u8) -> String {
    let scale = 10u64.pow(u32::from(digits));
    match digits {
        0 => minor_units.to_string(),
        _ => format!(
            "{}.{:0width$}",
            minor_units / scale,
            minor_units % scale,
            width = usize::from(digits)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_currencies_have_their_iso_digits() {
        assert_eq!(minor_unit_digits(b"USD"), Some(2));
        assert_eq!(minor_unit_digits(b"JPY"), Some(0));
        assert_eq!(minor_unit_digits(b"BHD"), Some(3));
        assert_eq!(minor_unit_digits(b"CLF"), Some(4));
        assert_eq!(minor_unit_digits(b"XYZ"), None);
    }

    #[test]
    fn minor_units_format_with_their_digits() {
        assert_eq!(format_minor_units(400, 2), "4.00");
        assert_eq!(format_minor_units(1_500, 0), "1500");
        assert_eq!(format_minor_units(1_005, 3), "1.005");
    }
}
