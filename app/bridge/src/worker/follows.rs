//! Sent settle transactions are followed a batch at a time: a request whose settle
//! transaction's fate is due takes along the others due now, and the fates of all their
//! transactions are read in one `getSignatureStatuses` call (after one finalized block height),
//! instead of two calls for every transaction in flight. Each request then takes exactly the
//! step it takes alone (`follow_settle_status`). Requests that share one batched transaction
//! are read once: the first acts (and records the others settled when it landed); the others
//! are looked at again 800 ms later.

use std::collections::HashSet;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};

use super::batches::BATCH_RETRY_MS;
use super::settlement::sent_settle;
use super::{CLAIM_MS, SETTLE_RECHECK_MS, Worker};
use crate::settle;
use crate::state::RequestState;
use crate::store::{StoredRequest, now_ms};

/// Most settle transactions' fates followed in one batch (their statuses take one call; each
/// step after it may sign and send, so the batch is kept well inside a claim's time).
const FOLLOW_BATCH: usize = 64;

impl Worker<'_> {
    /// Whether `row`'s next step is reading its sent settle transaction's fate.
    pub(super) fn follows_a_settle(&self, row: &StoredRequest) -> bool {
        row.state().ok() == Some(RequestState::SettleSent)
    }

    /// Follows `lead`'s settle transaction and those of up to [`FOLLOW_BATCH`]` - 1` other due
    /// `SettleSent` requests, their fates read together; returns how many requests were taken.
    /// A failed read lets the whole batch go, due again in two seconds; a failure on one request
    /// defers it alone; a batch running past half its claims' time, or told to `stop`, lets the
    /// requests it has not reached go (each step may sign and send: after an outage, many
    /// expired transactions are signed again).
    pub(super) async fn advance_settles(
        &self,
        lead: StoredRequest,
        stop: &dyn Fn() -> bool,
    ) -> Result<usize> {
        let started = now_ms();
        let rows = self
            .with_due_others(
                lead,
                &[RequestState::SettleSent],
                FOLLOW_BATCH - 1,
                0,
                "settle transactions to follow",
            )
            .await;
        let (first, repeats) = first_of_each_transaction(rows);
        let taken = first.len() + repeats.len();
        let mut first_error = None;
        // Those sharing a transaction already in the batch: looked at again after the first.
        let later = now_ms().saturating_add(SETTLE_RECHECK_MS);
        if let Err(error) = self.let_go(&repeats, Some(later)).await {
            first_error.get_or_insert(error);
        }
        // A row whose stored transaction does not read is that row's error alone.
        let sent: Vec<Result<Option<(&str, u64)>>> = first.iter().map(sent_settle).collect();
        let asked: Vec<(&str, u64)> = sent
            .iter()
            .filter_map(|sent| sent.as_ref().ok().copied().flatten())
            .collect();
        let settled_at = self.settled_at();
        let mut statuses = match settle::statuses(self.chain.client(), &asked, settled_at).await {
            Ok(statuses) => statuses.into_iter(),
            Err(failure) => {
                tracing::warn!(
                    requests = first.len(),
                    "settle statuses not read: {failure}"
                );
                self.metrics.rpc_failed(&failure);
                let retry_at = now_ms().saturating_add(BATCH_RETRY_MS);
                self.let_go(&first, Some(retry_at)).await?;
                return first_error.map_or(Ok(0), Err);
            }
        };
        for (index, (row, sent)) in first.iter().zip(sent).enumerate() {
            if stop() || now_ms().saturating_sub(started) > CLAIM_MS / 2 {
                if let Err(error) = self.let_go(&first[index..], None).await {
                    first_error.get_or_insert(error);
                }
                break;
            }
            let advanced = async {
                // A row that stores no transaction gets no status: its step sends it to review.
                let status = sent?.and_then(|_| statuses.next());
                let address: Pubkey = row.address.parse().context("stored address")?;
                let step = self.follow_settle_status(row, address, status).await?;
                self.follow(row.clone(), step).await
            }
            .await;
            if let Err(error) = self.defer_if_failed(&row.address, advanced).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(taken), Err)
    }
}

/// `rows` split into the first row of each stored settle transaction (and every row storing
/// none), in order, and the rows repeating a transaction already among the first.
fn first_of_each_transaction(rows: Vec<StoredRequest>) -> (Vec<StoredRequest>, Vec<StoredRequest>) {
    let mut seen = HashSet::new();
    rows.into_iter()
        .partition(|row| match &row.settle_signature {
            Some(signature) => seen.insert(signature.clone()),
            None => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(address: &str, signature: Option<&str>) -> StoredRequest {
        StoredRequest {
            address: address.into(),
            settle_signature: signature.map(str::to_owned),
            ..super::super::fixtures::stored_row()
        }
    }

    /// Requests carried by one batched transaction are read once (its first); a request storing
    /// no transaction is kept (its step sends it to review).
    #[test]
    fn a_shared_transaction_is_read_once() {
        let rows = vec![
            row("a", Some("s1")),
            row("b", Some("s2")),
            row("c", Some("s1")),
            row("d", None),
            row("e", Some("s2")),
            row("f", Some("s3")),
        ];
        let (first, repeats) = first_of_each_transaction(rows);
        let names = |rows: &[StoredRequest]| -> Vec<String> {
            rows.iter().map(|row| row.address.clone()).collect()
        };
        assert_eq!(names(&first), ["a", "b", "d", "f"]);
        assert_eq!(names(&repeats), ["c", "e"]);
    }
}
