//! Requests paid over HTTP whose locks are final (`PayoutPending`) are paid a batch at a time:
//! one that falls due takes along the others due now, up to `payout.concurrent_calls`, all read
//! from the chain in one call together with the clock, and their provider calls run at once.
//! One after another, each request cost its own read and waited for the provider call before
//! it; the locks of a batch (`locks.rs`) become final together, so their payments fall due
//! together. Each request still takes exactly the steps it takes alone (`pay_read`): its
//! attempt is counted before its call, a repeat looks the earlier call up first, and every
//! store write checks this lane's claim. The next looks of those paid (and of retries) are
//! released together once every call of the batch has returned.

use allot::state::ExchangeRequest;
use anyhow::Result;
use futures::StreamExt as _;

use super::batches::{BATCH_RETRY_MS, addresses_of, decode_each, valid_addresses};
use super::{PayoutAdapter, Step, Worker};
use crate::state::RequestState;
use crate::store::{StoredRequest, now_ms};

impl Worker<'_> {
    /// How many requests to pay at once when `row` is a request paid over HTTP whose payment is
    /// due (`PayoutPending`); `None` for any other.
    pub(super) fn pays_in_batches(&self, row: &StoredRequest) -> Option<usize> {
        match self.payout {
            PayoutAdapter::Http {
                concurrent_calls, ..
            } if row.state().ok() == Some(RequestState::PayoutPending) => Some(*concurrent_calls),
            _ => None,
        }
    }

    /// Pays `lead` and up to `at_once - 1` other due `PayoutPending` requests, read from the
    /// chain together with the clock, their provider calls concurrent; returns how many were
    /// taken. A failure on one request defers it alone; a failed read lets the whole batch go,
    /// due again in two seconds.
    pub(super) async fn advance_payouts(
        &self,
        lead: StoredRequest,
        at_once: usize,
    ) -> Result<usize> {
        let rows = self
            .with_due_others(
                lead,
                &[RequestState::PayoutPending],
                at_once.saturating_sub(1),
                0,
                "payouts",
            )
            .await;
        let (accounts, chain_now) = match self.read_payouts(&rows).await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(requests = rows.len(), "payouts not read: {error:#}");
                let retry_at = now_ms().saturating_add(BATCH_RETRY_MS);
                return self.let_go(&rows, Some(retry_at)).await.map(|()| 0);
            }
        };
        let taken = rows.len();
        let outcomes: Vec<Result<Option<(String, i64)>>> =
            futures::stream::iter(rows.into_iter().zip(accounts))
                .map(|(row, on_chain)| self.pay_one(row, on_chain, chain_now))
                .buffer_unordered(at_once.max(1))
                .collect()
                .await;
        let mut waiting = Vec::new();
        let mut first_error = None;
        for outcome in outcomes {
            match outcome {
                Ok(Some(next_look)) => waiting.push(next_look),
                Ok(None) => {}
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Err(error) = self.defer_rows(&waiting).await {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(taken),
        }
    }

    /// The step of paying `row` with its account as read (`Err`: it did not decode) and the
    /// clock read with it. A request to look at again later (paid, waiting for companions to
    /// settle with; or a call to retry, its attempt counted before the call) is returned with
    /// its time, to be released with the batch's others once every call of the batch has
    /// returned; any other step is followed until the request waits or is final; a failure
    /// defers it.
    async fn pay_one(
        &self,
        row: StoredRequest,
        on_chain: Result<Option<ExchangeRequest>>,
        chain_now: i64,
    ) -> Result<Option<(String, i64)>> {
        let address = row.address.clone();
        let advanced = async {
            match self.pay_read(&row, on_chain?, chain_now).await? {
                Step::Later {
                    at_ms,
                    counted_attempt: false,
                } => Ok(Some((row.address.clone(), at_ms))),
                step => self.follow(row, step).await.map(|()| None),
            }
        }
        .await;
        match advanced {
            Ok(next_look) => Ok(next_look),
            Err(error) => self
                .defer_if_failed(&address, Err(error))
                .await
                .map(|()| None),
        }
    }

    /// The accounts of `rows` (each on its own: an address that does not parse, or an account
    /// that does not decode, is that request's error) and the cluster's clock, in one
    /// `getMultipleAccounts` call for up to 99.
    async fn read_payouts(
        &self,
        rows: &[StoredRequest],
    ) -> Result<(Vec<Result<Option<ExchangeRequest>>>, i64)> {
        let addresses = addresses_of(rows);
        let (found, chain_now) = self
            .chain
            .accounts_and_time(&valid_addresses(&addresses))
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?;
        let accounts = decode_each(addresses, found)
            .into_iter()
            .map(|read| read.map(|(_, request)| request))
            .collect();
        Ok((accounts, chain_now))
    }
}
