//! How often a worker's claims look for held rows before free ones: its own (left by a process
//! that died under the same name) and those whose claim expired (a dead worker's). Such rows are
//! rare, and each look is one more statement per claim (9.5 ms each, 3,931 of them, in one run
//! of 10,000 requests over HTTP; docs/notes.md, session 21). So a worker looks again at its next
//! claim only while its looks find held rows, and otherwise not before `every_ms` has passed.

use std::collections::HashMap;
use std::sync::Mutex;

/// When each worker (by its name in claims) next looks for held rows.
#[derive(Debug, Default)]
pub struct HeldLooks {
    /// The pause after a look that found none (0: look at every claim).
    every_ms: i64,
    /// The next look of each worker that has looked (unix ms); a worker not here looks at once.
    next_ms: Mutex<HashMap<String, i64>>,
}

impl HeldLooks {
    /// Looks every `every_ms` while none are found (0 or less: at every claim).
    pub fn every(every_ms: i64) -> Self {
        Self {
            every_ms: every_ms.max(0),
            next_ms: Mutex::default(),
        }
    }

    /// Whether `worker`, claiming at `now_ms`, looks for held rows first: at its first claim,
    /// once its pause is over, and when its next look is further off than a pause (the clock
    /// stepped back).
    pub fn due(&self, worker: &str, now_ms: i64) -> bool {
        self.next_ms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(worker)
            .is_none_or(|next| now_ms >= *next || next.saturating_sub(now_ms) > self.every_ms)
    }

    /// Records `worker`'s look at `now_ms`: having `found` held rows it looks again at its next
    /// claim (there may be more); having found none, not before `every_ms` from now.
    pub fn looked(&self, worker: &str, found: bool, now_ms: i64) {
        let next = if found {
            now_ms
        } else {
            now_ms.saturating_add(self.every_ms)
        };
        self.next_ms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(worker.to_owned(), next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker looks at once, again at once while it finds held rows, and after finding none
    /// only once the pause is over; each worker on its own.
    #[test]
    fn a_look_that_finds_none_pauses_that_worker_only() {
        let looks = HeldLooks::every(5_000);
        assert!(looks.due("w1", 1_000));
        looks.looked("w1", true, 1_000);
        assert!(looks.due("w1", 1_000));
        looks.looked("w1", false, 1_000);
        assert!(!looks.due("w1", 5_999));
        assert!(looks.due("w1", 6_000));
        assert!(looks.due("w2", 1_000), "another worker is not paused");
        looks.looked("w1", false, 10_000);
        assert!(
            looks.due("w1", 4_000),
            "the clock stepped back further than a pause"
        );
    }

    /// With no pause, every claim looks.
    #[test]
    fn without_a_pause_every_claim_looks() {
        let looks = HeldLooks::every(0);
        looks.looked("w1", false, 1_000);
        assert!(looks.due("w1", 1_000));
    }
}
