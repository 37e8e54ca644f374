//! A row whose request was closed, and its address taken by a later request (request ids are
//! the clients' choice), before this database paid or settled anything for it: the worker ends
//! it as withdrawn itself, once the finalized view shows the later request too and the
//! provider's ledger holds no payment under its keys, and the next scan of open requests takes
//! the later request up under a row and payout key of its own. Before, every such row waited in
//! manual review for a person's `review close`.

use allot::state::ExchangeRequest;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};

use super::{PayoutAdapter, Step, Worker};
use crate::http_provider::LookupOutcome;
use crate::state::RequestState;
use crate::store::{Changes, StoredRequest, now_ms};

/// The pause before a replaced row is looked at again while the finalized view does not show
/// the later request yet (it does within a finality, about 13 s on a cluster).
const FINALIZED_RECHECK_MS: i64 = 2_000;

/// How long after the later request was made (its `created_at` against the cluster's clock,
/// read when it is needed) the finalized view may still not show it before the row goes to a
/// person: a finality is seconds.
const FINALIZED_LAG_LIMIT_SECONDS: i64 = 300;

impl Worker<'_> {
    /// `row`, found `from` with `later` at its address ([`closed_before_paying`]): ends as
    /// withdrawn once the finalized view shows a later request there too (no fork can bring the
    /// row's request back) and, paying over HTTP, the provider's ledger has no payment under the
    /// row's key nor the address-only key of bridges before migration 0007 (a database restored
    /// from a backup may not know a call another copy made); looked at again while the
    /// finalized view lags (to a person when it still does not show the later request five minutes
    /// after it was made); to a person when the ledger holds a payment or cannot say.
    pub(super) async fn end_replaced(
        &self,
        row: &StoredRequest,
        from: RequestState,
        later: &ExchangeRequest,
    ) -> Result<Step> {
        let address: Pubkey = row.address.parse().context("stored address")?;
        let finalized = self
            .finalized_requests(&[address])
            .await?
            .pop()
            .unwrap_or(Ok(None))?;
        let final_later = finalized.is_some_and(|request| request.created_at > row.created_at);
        if !final_later {
            let made_ago = self.chain_time().await?.saturating_sub(later.created_at);
            if made_ago > FINALIZED_LAG_LIMIT_SECONDS {
                let reason = format!(
                    "the account at this address holds a later request (made at {}, {made_ago} s ago) than the one this row stored (made at {}), but the finalized view does not show it: a person checks the node before closing this row",
                    later.created_at, row.created_at
                );
                return self.review(row, from, &reason).await;
            }
            tracing::debug!(address = %row.address, "replaced by a later request: waiting for the finalized view to show it");
            return Ok(Step::Later {
                at_ms: now_ms().saturating_add(FINALIZED_RECHECK_MS),
                counted_attempt: false,
            });
        }
        if let PayoutAdapter::Http { provider, .. } = self.payout {
            for key in row.payout_keys() {
                let lookup = self.counted_lookup(provider, &key).await;
                if !matches!(
                    lookup,
                    LookupOutcome::NotFound | LookupOutcome::Failed { .. }
                ) {
                    let reason = format!(
                        "the account at this address holds a later request (made at {}) and this database counted no provider call for the request this row stored (made at {}), but the provider's ledger answers {lookup:?} under key {key}: a person checks whose payment it is (a restored database, or an earlier request's under the address-only key) before closing this row; never pay the later request under it",
                        later.created_at, row.created_at
                    );
                    return self.review(row, from, &reason).await;
                }
            }
        }
        tracing::warn!(
            address = %row.address,
            %from,
            stored_created_at = row.created_at,
            later_created_at = later.created_at,
            "the request this row stored was closed before this database paid or settled anything, and its address holds a later request: the row ends as withdrawn, and the next scan of open requests takes the later request up under its own row and payout key"
        );
        self.moved(
            row,
            from,
            RequestState::Withdrawn,
            Changes::default(),
            "withdrawn",
        )
        .await
    }
}

/// Whether `row`, found `from` a state before any payment, may end by itself as withdrawn now that
/// `on_chain`, a request made later, is at its address: the request it stored was closed (an
/// account holds one request at a time, and a later one can only be opened once the earlier is
/// closed), and this database neither called the provider for it (no call counted, no lock of
/// another database of its key adopted), nor recorded a payment, nor stored a settle
/// transaction. Nothing this row could do can pay anyone; a lock it sent names the earlier
/// request's `created_at`, which the program refuses for the later one. Anything else at the
/// address (a request made at the same time or earlier, or a row with a call or a settlement)
/// goes to a person. ([`Worker::end_replaced`] checks the finalized view and the provider's
/// ledger before it ends the row.)
pub(super) fn closed_before_paying(
    row: &StoredRequest,
    from: RequestState,
    on_chain: &ExchangeRequest,
) -> bool {
    matches!(from, RequestState::Discovered | RequestState::Quoted)
        && on_chain.created_at > row.created_at
        && row.payout_attempts == 0
        && row.payment_id.is_none()
        && row.settle_tx.is_none()
        && row.settle_signature.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::{fixtures, mismatch};
    use allot::state::RequestStatus;

    /// Only a row that paid and sent nothing, before any payment state, ends by itself when a
    /// later request is at its address; a call counted, a payment, a settle transaction, a later
    /// state or a request not made later each leave it to a person.
    #[test]
    fn only_a_row_that_paid_nothing_ends_by_itself_when_a_later_request_takes_its_address() {
        let found = fixtures::request(7, RequestStatus::Pending);
        let row = fixtures::row_of(&found);
        let mut later = found.clone();
        later.created_at = found.created_at + 60;
        for state in [RequestState::Discovered, RequestState::Quoted] {
            assert!(closed_before_paying(&row, state, &later), "{state}");
        }
        for state in [
            RequestState::PayoutPending,
            RequestState::Paid,
            RequestState::SettleSent,
        ] {
            assert!(!closed_before_paying(&row, state, &later), "{state}");
        }
        let quoted = RequestState::Quoted;
        let called = StoredRequest {
            payout_attempts: 1,
            ..row.clone()
        };
        let paid = StoredRequest {
            payment_id: Some("pay-1".into()),
            ..row.clone()
        };
        let settle_stored = StoredRequest {
            settle_tx: Some("AQID".into()),
            ..row.clone()
        };
        let settle_signed = StoredRequest {
            settle_signature: Some("SettleSig".into()),
            ..row.clone()
        };
        for (name, row) in [
            ("a provider call", &called),
            ("a payment", &paid),
            ("a settle transaction", &settle_stored),
            ("a settle signature", &settle_signed),
        ] {
            assert!(!closed_before_paying(row, quoted, &later), "{name}");
        }
        let mut same_time = found.clone();
        same_time.user = Pubkey::new_unique();
        assert!(mismatch(&row, &same_time).is_some());
        assert!(
            !closed_before_paying(&row, quoted, &same_time),
            "made at once"
        );
        let mut earlier = found.clone();
        earlier.created_at = found.created_at - 1;
        assert!(
            !closed_before_paying(&row, quoted, &earlier),
            "made earlier"
        );
    }
}
