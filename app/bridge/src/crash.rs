//! Fault injection for the crash tests: `ALLOT_BRIDGE_CRASH_AT=<point>` makes the process abort
//! (no cleanup, no flush: as a `kill -9` would) the first time it reaches that point. Unset, the
//! points cost one comparison.

use std::sync::OnceLock;

/// The points the bridge can be killed at: after each state change is stored, and between an
/// outside effect and storing its result.
pub const CRASH_POINTS: [&str; 7] = [
    "discovered",
    "quoted",
    "payout_pending",
    "payout_called",
    "paid",
    "settle_sent",
    "settle_broadcast",
];

/// The environment variable naming the crash point.
pub const CRASH_ENV: &str = "ALLOT_BRIDGE_CRASH_AT";

/// Aborts the process if `point` is the configured crash point.
pub fn crash_point(point: &str) {
    static CONFIGURED: OnceLock<Option<String>> = OnceLock::new();
    let configured = CONFIGURED.get_or_init(|| std::env::var(CRASH_ENV).ok());
    if configured.as_deref() == Some(point) {
        eprintln!("{CRASH_ENV}={point}: aborting here");
        std::process::abort();
    }
}
