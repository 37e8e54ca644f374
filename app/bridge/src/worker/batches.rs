//! What the worker's batches share (`quotes.rs`, `onchain_settles.rs`, `locks.rs`, `payouts.rs`,
//! `follows.rs`): claiming the other due requests along with the one that fell due, reading their
//! accounts together, each row's failure its own, and letting the claims go together.

use allot::state::ExchangeRequest;
use allot_client::accounts;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};

use super::{CLAIM_MS, Worker};
use crate::state::RequestState;
use crate::store::{Changes, StoredRequest, now_ms};

/// The pause before requests of a batch that could not be read (or, in `onchain_settles.rs`,
/// whose transaction could not be signed, stored or sent) are tried again.
pub(super) const BATCH_RETRY_MS: i64 = 2_000;

/// A batch's rows, claimed together, each with its address and request account as read (or that
/// row's own error).
pub(super) struct ReadBatch {
    /// The claimed rows, the lead first.
    pub rows: Vec<StoredRequest>,
    /// What was read for each row, in the same order.
    pub read: Vec<Result<(Pubkey, Option<ExchangeRequest>)>>,
}

impl Worker<'_> {
    /// `lead` followed by up to `limit` other requests in `states` due within `due_within_ms`,
    /// now claimed by this worker (the batches of `quotes.rs`, `onchain_settles.rs`, `locks.rs`,
    /// `payouts.rs` and `follows.rs`); when claiming them fails (logged, naming `what`), `lead`
    /// alone.
    pub(super) async fn with_due_others(
        &self,
        lead: StoredRequest,
        states: &[RequestState],
        limit: usize,
        due_within_ms: i64,
        what: &str,
    ) -> Vec<StoredRequest> {
        let others = self
            .store
            .claim_due(
                self.name,
                &lead.address,
                states,
                limit,
                CLAIM_MS,
                due_within_ms,
            )
            .await
            .unwrap_or_else(|error| {
                tracing::warn!("no other {what} claimed: {error:#}");
                Vec::new()
            });
        let mut rows = vec![lead];
        rows.extend(others);
        rows
    }

    /// `lead` and up to `limit` other due requests in `states` (`with_due_others`), their
    /// accounts read together (`read_each`); `None` when the read failed (logged, naming `what`):
    /// the rows are let go, due again in [`BATCH_RETRY_MS`].
    pub(super) async fn claim_and_read(
        &self,
        lead: StoredRequest,
        states: &[RequestState],
        limit: usize,
        due_within_ms: i64,
        what: &str,
    ) -> Result<Option<ReadBatch>> {
        let rows = self
            .with_due_others(lead, states, limit, due_within_ms, what)
            .await;
        match self.read_each(&rows).await {
            Ok(read) => Ok(Some(ReadBatch { rows, read })),
            Err(error) => {
                tracing::warn!(requests = rows.len(), "{what} not read: {error:#}");
                let retry_at = now_ms().saturating_add(BATCH_RETRY_MS);
                self.let_go(&rows, Some(retry_at)).await?;
                Ok(None)
            }
        }
    }

    /// Steps each row of `batch` with its account as read (`step`; a failure, or a row that
    /// could not be read, defers that row alone), until `stop` says so or the batch, begun at
    /// `started`, has run past half its claims' time: the rows not reached are let go. How many
    /// were stepped, and the first failure to defer or let go.
    pub(super) async fn step_each(
        &self,
        batch: ReadBatch,
        started: i64,
        stop: &dyn Fn() -> bool,
        mut step: impl AsyncFnMut(&StoredRequest, Pubkey, Option<ExchangeRequest>) -> Result<()>,
    ) -> (usize, Option<anyhow::Error>) {
        let ReadBatch { rows, read } = batch;
        let mut stepped = 0;
        let mut first_error = None;
        for (index, (row, read)) in rows.iter().zip(read).enumerate() {
            if stop() || now_ms().saturating_sub(started) > CLAIM_MS / 2 {
                if let Err(error) = self.let_go(&rows[index..], None).await {
                    first_error.get_or_insert(error);
                }
                break;
            }
            stepped += 1;
            let advanced = match read {
                Ok((address, on_chain)) => step(row, address, on_chain).await,
                Err(error) => Err(error),
            };
            if let Err(error) = self.defer_if_failed(&row.address, advanced).await {
                tracing::warn!(address = %row.address, "not deferred: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        (stepped, first_error)
    }

    /// Each of `rows`' request accounts with its address, read together (`getMultipleAccounts`,
    /// 100 a call): an address that does not parse, or an account that does not decode, is that
    /// row's error alone (so one bad row never holds back the others it is claimed with); the
    /// call failing is the batch's.
    pub(super) async fn read_each(
        &self,
        rows: &[StoredRequest],
    ) -> Result<Vec<Result<(Pubkey, Option<ExchangeRequest>)>>> {
        use allot_client::chain::Chain as _;
        let addresses = addresses_of(rows);
        let valid = valid_addresses(&addresses);
        let found = if valid.is_empty() {
            Vec::new()
        } else {
            self.chain
                .accounts(valid)
                .await
                .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?
        };
        Ok(decode_each(addresses, found))
    }

    /// Moves `rows` (each an address and its changes) from `from` to `to` together
    /// ([`Worker::transitioned_each`]: one database transaction, the crash point `point` once)
    /// and returns the addresses moved (one another worker took is left out). When the move
    /// fails (logged, naming `what`) every row joins `waiting`, due again in
    /// [`BATCH_RETRY_MS`], and none is returned.
    pub(super) async fn transitioned_or_retried<'r>(
        &self,
        rows: &'r [(String, Changes)],
        (from, to): (RequestState, RequestState),
        point: &str,
        what: &str,
        waiting: &mut Vec<(String, i64)>,
    ) -> Vec<&'r str> {
        match self.transitioned_each(rows, from, to, point).await {
            Ok(moved) => moved,
            Err(error) => {
                tracing::warn!(
                    requests = rows.len(),
                    "{what} not recorded; looked at again in two seconds: {error:#}"
                );
                let retry_at = now_ms().saturating_add(BATCH_RETRY_MS);
                waiting.extend(rows.iter().map(|(address, _)| (address.clone(), retry_at)));
                Vec::new()
            }
        }
    }

    /// Releases this worker's claims on each `(address, at_ms)` of `rows`, due again at its
    /// `at_ms`: in one database transaction, or, when that fails, one row at a time (each
    /// failure logged; the first returned).
    pub(super) async fn defer_rows(&self, rows: &[(String, i64)]) -> Result<()> {
        let Err(error) = self.store.defer_all(rows, self.name).await else {
            return Ok(());
        };
        tracing::warn!(
            requests = rows.len(),
            "batch not deferred together, one at a time: {error:#}"
        );
        let mut first_error = None;
        for (address, at_ms) in rows {
            if let Err(error) = self.store.defer(address, self.name, *at_ms, false).await {
                tracing::warn!(%address, "claim not released: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    /// Releases this worker's claims on `rows`, due again at `at_ms` (together, see
    /// `defer_rows`), or when they were due (`None`, one at a time); tries every one and
    /// returns the first failure.
    pub(super) async fn let_go(&self, rows: &[StoredRequest], at_ms: Option<i64>) -> Result<()> {
        if let Some(at_ms) = at_ms {
            let rows: Vec<(String, i64)> = rows
                .iter()
                .map(|row| (row.address.clone(), at_ms))
                .collect();
            return self.defer_rows(&rows).await;
        }
        let mut first_error = None;
        for row in rows {
            let released = self.store.release_claim(&row.address, self.name).await;
            if let Err(error) = released {
                tracing::warn!(address = %row.address, "claim not released: {error}");
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}

/// The address stored in each of `rows`, or why it does not parse (that row's error alone).
pub(super) fn addresses_of(rows: &[StoredRequest]) -> Vec<Result<Pubkey>> {
    rows.iter()
        .map(|row| {
            row.address
                .parse::<Pubkey>()
                .with_context(|| format!("stored address {:?}", row.address))
        })
        .collect()
}

/// The addresses of `addresses` that parsed, in order: what is read from the chain.
pub(super) fn valid_addresses(addresses: &[Result<Pubkey>]) -> Vec<Pubkey> {
    addresses
        .iter()
        .filter_map(|address| address.as_ref().ok().copied())
        .collect()
}

/// Each of `addresses` with its request account decoded from `found` (the accounts read at
/// [`valid_addresses`], in the same order): a row whose address did not parse keeps that error,
/// an account that does not decode is its row's error.
pub(super) fn decode_each(
    addresses: Vec<Result<Pubkey>>,
    found: Vec<Option<solana_sdk::account::Account>>,
) -> Vec<Result<(Pubkey, Option<ExchangeRequest>)>> {
    let mut found = found.into_iter();
    addresses
        .into_iter()
        .map(|address| {
            let address = address?;
            let request = accounts::decode_owned(address, found.next().flatten())?;
            Ok((address, request))
        })
        .collect()
}
