//! Ports for servers a test starts in another process (a bridge's metrics endpoint, a
//! PostgreSQL server): free now, and never one the kernel hands out on its own.
//!
//! A port taken from `bind(":0")` and released comes from the kernel's ephemeral range
//! (32768–60999 on Linux by default), the range it also gives every outgoing connection: while
//! the server is down (a bridge killed and restarted) any connection on the machine can take
//! that port, and the server then cannot listen on it. Ports above the range are only ever
//! taken by a program that asks for one by number.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};

/// The ports handed out: above Linux's default ephemeral range, below the last ports.
const HANDED_OUT: std::ops::Range<u16> = 61_000..65_000;

/// The next port to try, so that one process never hands the same port out twice.
static NEXT: AtomicU16 = AtomicU16::new(0);

/// A port on 127.0.0.1 that nothing listens on now, outside the ephemeral range.
///
/// # Panics
/// When every port of the range is taken.
pub fn free_port() -> u16 {
    let width = HANDED_OUT.end - HANDED_OUT.start;
    // Start each process at its own place in the range (its pid), so that test binaries run
    // one after another do not all try the same ports first.
    let start = (std::process::id() % u32::from(width)) as u16;
    let candidates = (0..width).map(|_| {
        let offset =
            (u32::from(start) + u32::from(NEXT.fetch_add(1, Ordering::Relaxed))) % u32::from(width);
        HANDED_OUT.start + offset as u16
    });
    first_free(candidates).unwrap_or_else(|| panic!("no free port in {HANDED_OUT:?}"))
}

/// The first of `candidates` nothing listens on.
fn first_free(mut candidates: impl Iterator<Item = u16>) -> Option<u16> {
    candidates.find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        for port in ports {
            assert!(HANDED_OUT.contains(&port), "{port}");
            TcpListener::bind(("127.0.0.1", port)).expect("free");
        }
    }

    #[test]
    fn a_port_in_use_is_skipped() {
        let taken = free_port();
        let next = free_port();
        let _listener = TcpListener::bind(("127.0.0.1", taken)).unwrap();
        assert_eq!(first_free([taken, next].into_iter()), Some(next));
        assert_eq!(first_free([taken].into_iter()), None);
    }
}
