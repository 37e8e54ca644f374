//! Exchange request ids. A request's address is `[SEED_EXCHANGE_REQUEST, pool, id]` and the id is
//! the client's choice: a random one, so that users requesting at once never race for an address
//! (a shared counter made all but one of them fail after signing).

use allot::constants::MAX_REQUEST_ID;
use rand::Rng;

/// A random request id in `0..=MAX_REQUEST_ID`, from the operating system's randomness. Two
/// draws meet with probability about n² / 2⁵⁴ over n requests of a pool (5 in 100,000 for a
/// million); the program refuses an id whose request account exists (`RequestIdInUse`), so a
/// meeting costs a retry, never a request.
pub fn random() -> u64 {
    rand::thread_rng().gen_range(0..=MAX_REQUEST_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_the_program_and_differ() {
        let ids: std::collections::HashSet<u64> = (0..1_000).map(|_| random()).collect();
        assert_eq!(ids.len(), 1_000, "a thousand draws should not meet");
        assert!(ids.iter().all(|id| *id <= MAX_REQUEST_ID));
        // Draws use the whole range, not only small numbers.
        assert!(ids.iter().any(|id| *id > MAX_REQUEST_ID / 2));
    }
}
