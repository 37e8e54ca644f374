//! The payout state machine of one exchange request, as stored in `requests.state`.

use std::fmt;
use std::str::FromStr;

/// Where a request is on its way from the chain to the user's funds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestState {
    /// Found on chain (event or reconcile pass); nothing decided yet.
    Discovered,
    /// Checked against the account on chain; the amount to pay is fixed.
    Quoted,
    /// The payment provider has been (or is being) asked to pay, under the request's
    /// idempotency key.
    PayoutPending,
    /// The provider confirmed the payment.
    Paid,
    /// A signed settle transaction is stored and has been (or is being) sent.
    SettleSent,
    /// Settled on chain: final.
    Settled,
    /// Cancelled or rejected on chain before anything was paid; closed by a person because the
    /// request it stored is no longer on chain (`review close`); or found replaced by a later
    /// request at its address before this database paid it or sent a settlement for it
    /// (`worker/replaced.rs`): final, nothing owed.
    Withdrawn,
    /// Stopped for a person to look at, with a reason: final for the bridge.
    ManualReview,
}

/// Every state, in the order of the happy path (then the other final states).
pub const ALL_STATES: [RequestState; 8] = [
    RequestState::Discovered,
    RequestState::Quoted,
    RequestState::PayoutPending,
    RequestState::Paid,
    RequestState::SettleSent,
    RequestState::Settled,
    RequestState::Withdrawn,
    RequestState::ManualReview,
];

impl RequestState {
    /// The name stored in the database and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovered => "discovered",
            Self::Quoted => "quoted",
            Self::PayoutPending => "payout_pending",
            Self::Paid => "paid",
            Self::SettleSent => "settle_sent",
            Self::Settled => "settled",
            Self::Withdrawn => "withdrawn",
            Self::ManualReview => "manual_review",
        }
    }

    /// Whether the bridge has nothing more to do for the request.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Settled | Self::Withdrawn | Self::ManualReview)
    }

    /// Where a person may send a request out of manual review (`allot-bridge review`, audited):
    /// back onto the worker's path, to paid (a payment found) or withdrawn (rejected on chain, or
    /// its request gone from chain) — never to settled, which only the chain says.
    pub fn review_may_lead_to(self) -> bool {
        use RequestState::*;
        matches!(
            self,
            Discovered | Quoted | PayoutPending | Paid | SettleSent | Withdrawn
        )
    }

    /// Whether the bridge may move a request from `self` to `next`.
    pub fn may_become(self, next: RequestState) -> bool {
        use RequestState::*;
        match (self, next) {
            (from, ManualReview) => !from.is_final(),
            (Discovered, Quoted | Settled | Withdrawn) => true,
            // The on-chain adapter pays inside the settle transaction: quoted → settle sent.
            (Quoted, PayoutPending | SettleSent | Settled | Withdrawn) => true,
            (PayoutPending, Paid) => true,
            (Paid, SettleSent | Settled) => true,
            // A settle transaction whose blockhash expired unseen is replaced by a new one; an
            // on-chain payout that never landed owes nothing if the user cancelled meanwhile.
            (SettleSent, SettleSent | Settled | Withdrawn) => true,
            _ => false,
        }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored state name the bridge does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown request state {0:?} in the database")]
pub struct UnknownState(pub String);

impl FromStr for RequestState {
    type Err = UnknownState;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ALL_STATES
            .into_iter()
            .find(|state| state.as_str() == name)
            .ok_or_else(|| UnknownState(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in ALL_STATES {
            assert_eq!(state.as_str().parse::<RequestState>().unwrap(), state);
        }
        assert!("paid ".parse::<RequestState>().is_err());
    }

    #[test]
    fn final_states_never_move() {
        for from in ALL_STATES.into_iter().filter(|s| s.is_final()) {
            for to in ALL_STATES {
                assert!(!from.may_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn a_person_never_marks_a_request_settled_or_sends_it_back_to_review() {
        assert!(!RequestState::Settled.review_may_lead_to());
        assert!(!RequestState::ManualReview.review_may_lead_to());
        assert!(RequestState::Paid.review_may_lead_to());
        assert!(RequestState::Withdrawn.review_may_lead_to());
    }

    #[test]
    fn payment_only_follows_a_pending_payout() {
        for from in ALL_STATES {
            assert_eq!(
                from.may_become(RequestState::Paid),
                from == RequestState::PayoutPending,
                "{from} -> paid"
            );
        }
    }
}
