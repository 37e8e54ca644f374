//! Off-chain references as the program stores them: a 32-byte SHA-256 of the text. The CLI's
//! manual settle, the bridge, credential evidence and profit reports all hash here, so a payment
//! id settled by hand and by the bridge is the same bytes on chain.

/// SHA-256 of an off-chain reference: a provider's payment id (or, for an on-chain payout, the
/// request's address), a credential's evidence, a profit report's id.
pub fn reference_hash(reference: &str) -> [u8; 32] {
    solana_sha256_hasher::hash(reference.as_bytes()).to_bytes()
}

#[cfg(test)]
mod tests {
    use super::reference_hash;

    #[test]
    fn it_is_sha256() {
        // FIPS 180-2's test vector for "abc".
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = reference_hash("abc")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
    }
}
