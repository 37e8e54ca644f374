//! Requests paid over HTTP are quoted, then locked, then wait in `Quoted` until the finalized
//! view shows them locked (with `lock_commitment = "confirmed"`, for requests their users could
//! not cancel for an hour, until it shows the request: [`lock_is_final`]), which on a cluster
//! takes tens of seconds. Done one by one, each request cost its own account read and its own lock transaction, and each waiting one two
//! account reads a second: a few hundred of them slowed the node (and so finality itself;
//! docs/notes.md). Here a request to quote or lock that falls due takes along the others due
//! within the next look (a second), up to one `getMultipleAccounts` call, and all are read in two
//! calls: the current view, then the finalized view of those locked. Those still pending are
//! quoted and then locked together, each pool's up to seven to a transaction; the others take
//! their usual step with what was read, except that one read before its time and still pending
//! is not locked again until it is due. (Taking only those due to the millisecond split a batch
//! by the moments its rows were deferred: batches shrank to a few rows, 11 account reads a
//! request in `bridge_figures`; sending the early ones' locks again added a transaction for
//! every second request.)

use std::collections::{BTreeMap, HashSet};

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::accounts;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::Signer as _;

use super::batches::BATCH_RETRY_MS;
use super::off_chain::{HttpNext, cancel_held_off_without_lock};
use super::{CLAIM_MS, LOCK_RECHECK_MS, PayoutAdapter, QuoteRead, Step, Worker};
use crate::settle::{self, LockNotSent};
use crate::state::RequestState;
use crate::store::{Changes, StoredRequest, now_ms};

/// The first look at a lock sent when confirmed locks count (`lock_commitment = "confirmed"`):
/// a few slots, about one confirmation.
const CONFIRMED_FIRST_LOOK_MS: i64 = 2_000;

/// Most requests read together: what one `getMultipleAccounts` call answers.
const LOCK_BATCH: usize = 100;

/// What one read of a batch found for one request: its account now (`None`: not there), and
/// whether the finalized view shows it locked (read only for those locked now; an error there is
/// that request's alone).
type LockView = (Result<Option<ExchangeRequest>>, Option<Result<bool>>);

impl Worker<'_> {
    /// Whether `row` is a request paid over HTTP whose next step is its quote or its lock.
    pub(super) fn locks_before_paying(&self, row: &StoredRequest) -> bool {
        matches!(self.payout, PayoutAdapter::Http { .. })
            && matches!(
                row.state().ok(),
                Some(RequestState::Discovered | RequestState::Quoted)
            )
    }

    /// Takes a step on `lead` and on up to [`LOCK_BATCH`]` - 1` other due requests to quote or
    /// lock, their accounts read together; returns how many requests were stepped. Those still
    /// pending on chain are quoted, then locked together, up to seven to a transaction
    /// (`lock_together`). A failure on one request defers it alone; a batch running past half
    /// its claims' time, or told to `stop`, lets the requests it has not reached go.
    pub(super) async fn advance_locks(
        &self,
        lead: StoredRequest,
        stop: &dyn Fn() -> bool,
    ) -> Result<usize> {
        let started = now_ms();
        let rows = self
            .with_due_others(
                lead,
                &[RequestState::Discovered, RequestState::Quoted],
                LOCK_BATCH - 1,
                LOCK_RECHECK_MS,
                "requests to quote or lock",
            )
            .await;
        let views = match self.read_locks(&rows).await {
            Ok(views) => views,
            Err(error) => {
                tracing::warn!(requests = rows.len(), "locks not read: {error:#}");
                let retry_at = now_ms().saturating_add(BATCH_RETRY_MS);
                return self.let_go(&rows, Some(retry_at)).await.map(|()| 0);
            }
        };
        let mut stepped = 0;
        let mut first_error = None;
        let mut next = Gathered::default();
        for (index, (row, (on_chain, finalized_lock))) in rows.iter().zip(views).enumerate() {
            if stop() || now_ms().saturating_sub(started) > CLAIM_MS / 2 {
                // The rows already gathered (quotes, locks) are still recorded and locked below.
                if let Err(error) = self.let_go(&rows[index..], None).await {
                    first_error.get_or_insert(error);
                }
                break;
            }
            let pending = matches!(&on_chain, Ok(Some(r)) if r.status == RequestStatus::Pending);
            if pending && row.next_attempt_ms > started {
                // Read along before its time, and still pending: its lock was sent moments ago
                // (or its quote failed) and is not tried again before the row is due.
                if let Err(error) = self.let_go(std::slice::from_ref(row), None).await {
                    first_error.get_or_insert(error);
                }
                continue;
            }
            stepped += 1;
            let advanced = match (on_chain, finalized_lock.transpose()) {
                (Ok(on_chain), Ok(finalized_lock)) => {
                    self.quote_or_lock(row, on_chain, finalized_lock, &mut next)
                        .await
                }
                (Err(error), _) | (_, Err(error)) => Err(error),
            };
            if let Err(error) = self.defer_if_failed(&row.address, advanced).await {
                tracing::warn!(address = %row.address, "not deferred: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        if let Err(error) = self.lock_once_quoted(&mut next).await {
            first_error.get_or_insert(error);
        }
        self.record_final_locks(&mut next).await;
        if let Err(error) = self.defer_rows(&next.waiting).await {
            first_error.get_or_insert(error);
        }
        if let Err(error) = self.lock_together(next.to_lock).await {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(stepped),
        }
    }

    /// The step of `row` (discovered or quoted) with its account as read: a discovered request
    /// whose account matches its event joins `next.quotes` (recorded with the batch's others,
    /// then stepped by [`Self::lock_once_quoted`]); a quoted one takes [`Self::lock_or_read`].
    /// A discovered request not quoted takes its usual step.
    async fn quote_or_lock(
        &self,
        row: &StoredRequest,
        on_chain: Option<ExchangeRequest>,
        finalized_lock: Option<bool>,
        next: &mut Gathered,
    ) -> Result<()> {
        if row.state()? == RequestState::Discovered {
            return match self.quote_to_record(row, on_chain.as_ref()).await? {
                QuoteRead::Quote(changes) => {
                    next.quotes.push((row.address.clone(), changes));
                    next.quoted_reads
                        .push((row.clone(), on_chain, finalized_lock));
                    Ok(())
                }
                QuoteRead::Instead(step) => self.follow(row.clone(), step).await,
            };
        }
        self.lock_or_read(row, on_chain, finalized_lock, next).await
    }

    /// Records the quotes gathered in `next` in one database transaction (the crash point
    /// `quoted` once), then takes each quoted request's next step with its account as read
    /// ([`Self::lock_or_read`]; a failure defers that request alone). Quotes that could not be
    /// recorded are tried again in two seconds; a request another worker took meanwhile is
    /// left to it.
    async fn lock_once_quoted(&self, next: &mut Gathered) -> Result<()> {
        let quotes = std::mem::take(&mut next.quotes);
        let reads = std::mem::take(&mut next.quoted_reads);
        let states = (RequestState::Discovered, RequestState::Quoted);
        let moved: HashSet<&str> = self
            .transitioned_or_retried(&quotes, states, "quoted", "quotes", &mut next.waiting)
            .await
            .into_iter()
            .collect();
        let mut first_error = None;
        for (row, on_chain, finalized_lock) in reads {
            if !moved.contains(row.address.as_str()) {
                continue;
            }
            let advanced = self
                .lock_or_read(&row, on_chain, finalized_lock, next)
                .await;
            if let Err(error) = self.defer_if_failed(&row.address, advanced).await {
                tracing::warn!(address = %row.address, "not deferred: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The step of the quoted `row` with its account as read, by the HTTP path's rule
    /// (`off_chain::http_next`): one to lock joins `next.to_lock` (its claim kept); one locked by
    /// this key whose lock is final ([`lock_is_final`]) joins `next.final_locks` (moved to
    /// `PayoutPending` with the batch's others); one locked but not yet final joins
    /// `next.waiting` (its next look, written with the batch's others); any other takes its usual
    /// step.
    async fn lock_or_read(
        &self,
        row: &StoredRequest,
        on_chain: Option<ExchangeRequest>,
        finalized_lock: Option<bool>,
        next: &mut Gathered,
    ) -> Result<()> {
        let key = self.authority.pubkey();
        let rule = on_chain
            .as_ref()
            .map(|request| super::off_chain::http_next(row, request, &key));
        match (rule, on_chain) {
            (Some(HttpNext::Lock), Some(request)) => {
                next.to_lock.push((row.clone(), request));
                Ok(())
            }
            // What `begin_payout` would do with it, for the batch's others together.
            (Some(HttpNext::PayOnceFinal), Some(_)) if finalized_lock == Some(true) => {
                next.final_locks
                    .push((row.address.clone(), Changes::default()));
                Ok(())
            }
            (_, on_chain) => {
                self.advance_read(row.clone(), on_chain, finalized_lock, &mut next.waiting)
                    .await
            }
        }
    }

    /// Moves the requests whose locks are final (`next.final_locks`) to `PayoutPending` in one
    /// database transaction (the crash point `payout_pending` once), each due at once (the next
    /// free lane pays it); on a failure they are looked at again in two seconds. A request
    /// another worker took meanwhile is left to it.
    async fn record_final_locks(&self, next: &mut Gathered) {
        let final_locks = std::mem::take(&mut next.final_locks);
        let states = (RequestState::Quoted, RequestState::PayoutPending);
        let moved = self
            .transitioned_or_retried(
                &final_locks,
                states,
                "payout_pending",
                "final locks",
                &mut next.waiting,
            )
            .await;
        let now = now_ms();
        next.waiting
            .extend(moved.into_iter().map(|address| (address.to_owned(), now)));
    }

    /// Locks the pending requests `to_lock` (this worker holds their claims, all now quoted):
    /// each pool's together, up to seven to a transaction (`settle::sign_locks`), then looks at
    /// each again once its lock may have landed. A key that is no longer the pool's settlement
    /// authority sends the requests it could not lock to manual review (those already sent are
    /// looked at again like the others: their locks may have landed).
    async fn lock_together(&self, to_lock: Vec<(StoredRequest, ExchangeRequest)>) -> Result<()> {
        let mut by_pool: BTreeMap<Pubkey, Vec<(StoredRequest, ExchangeRequest)>> = BTreeMap::new();
        for (row, request) in to_lock {
            by_pool
                .entry(request.pool)
                .or_default()
                .push((row, request));
        }
        if by_pool.is_empty() {
            return Ok(());
        }
        let mut first_error = None;
        let mut sent = Vec::new();
        let mut unsent = Vec::new();
        for (_, batch) in by_pool {
            let requests: Vec<ExchangeRequest> = batch.iter().map(|(_, r)| r.clone()).collect();
            let outcome = self.send_pool_locks(&requests).await;
            for (index, (row, request)) in batch.into_iter().enumerate() {
                if outcome.refused_from.is_some_and(|from| index >= from) {
                    let reviewed = self
                        .review(&row, RequestState::Quoted, &self.not_settlement_authority())
                        .await;
                    if let Err(error) = reviewed {
                        tracing::warn!(address = %row.address, "lock not followed up: {error:#}");
                        first_error.get_or_insert(error);
                    }
                } else if outcome.unsent.contains(&index) {
                    unsent.push((row.address, now_ms().saturating_add(LOCK_RECHECK_MS)));
                } else if self.pays_on_confirmed_locks()
                    && cancel_held_off_without_lock(&request, now_ms() / 1_000)
                {
                    // Its lock counts once confirmed (and the request final): looked at again
                    // about a confirmation later, not after a finality (sooner, the lock may
                    // not be seen yet and would be sent again).
                    unsent.push((
                        row.address,
                        now_ms().saturating_add(CONFIRMED_FIRST_LOOK_MS),
                    ));
                } else {
                    sent.push(row.address);
                }
            }
        }
        // A lock cannot be final before the cluster's finalized view has caught up with where
        // it landed: the first look waits about that long, not a second each time. A lock not
        // sent is tried again at the next look, a second later.
        if !sent.is_empty() {
            let at_ms = now_ms().saturating_add(self.finality_wait_ms().await);
            unsent.extend(sent.into_iter().map(|address| (address, at_ms)));
        }
        if let Err(error) = self.defer_rows(&unsent).await {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Sends the locks of `requests` (one pool), up to seven to a transaction. A transaction
    /// the program refuses in simulation (one of its requests cancelled, or locked by an earlier
    /// transaction, meanwhile) is sent again one request at a time, so one request never holds
    /// the others back.
    async fn send_pool_locks(&self, requests: &[ExchangeRequest]) -> PoolLocks {
        let mut unsent = Vec::new();
        let mut offset = 0;
        while offset < requests.len() {
            let (count, outcome) = self.send_locks(&requests[offset..]).await;
            let carried = offset..offset.saturating_add(count.max(1)).min(requests.len());
            match outcome {
                LockSent::Refused => {
                    return PoolLocks {
                        refused_from: Some(offset),
                        unsent,
                    };
                }
                LockSent::RefusedInBatch => {
                    for index in carried.clone() {
                        let one = std::slice::from_ref(&requests[index]);
                        match self.send_locks(one).await {
                            (_, LockSent::Refused) => {
                                return PoolLocks {
                                    refused_from: Some(index),
                                    unsent,
                                };
                            }
                            (_, LockSent::Sent) => {}
                            (_, LockSent::RefusedInBatch | LockSent::Failed) => unsent.push(index),
                        }
                    }
                }
                LockSent::Sent => {}
                LockSent::Failed => unsent.extend(carried.clone()),
            }
            offset = carried.end;
        }
        PoolLocks {
            refused_from: None,
            unsent,
        }
    }

    /// Signs and sends one lock transaction for the longest prefix of `requests` (one pool) it
    /// can carry; how many it carried and what became of it.
    async fn send_locks(&self, requests: &[ExchangeRequest]) -> (usize, LockSent) {
        let signed =
            settle::sign_locks(self.chain.client(), self.recent, self.authority, requests).await;
        let (signed, count) = match self.metrics.counted(signed) {
            Ok(signed) => signed,
            Err(error) => {
                tracing::warn!(requests = requests.len(), "locks not signed: {error:#}");
                return (requests.len(), LockSent::Failed);
            }
        };
        let what = format!("{count} locks");
        let outcome = match settle::send_lock(self.chain.client(), &signed).await {
            Ok(()) => {
                tracing::debug!(requests = count, signature = %signed.signature, "locks sent");
                LockSent::Sent
            }
            Err(LockNotSent::NotSettlementAuthority) => LockSent::Refused,
            Err(LockNotSent::ProgramRefused(failure)) if count > 1 => {
                tracing::debug!(%what, "lock batch refused in simulation, sent again one by one: {failure}");
                LockSent::RefusedInBatch
            }
            Err(other) => {
                self.lock_outcome(Err(other), &what);
                LockSent::Failed
            }
        };
        (count, outcome)
    }

    /// How long a lock just sent takes at least to be final: the slots between the cluster's
    /// confirmed and finalized views, at the cluster's recent slot length each, within
    /// [`LOCK_RECHECK_MS`] and [`MAX_FIRST_LOOK_MS`]; [`LOCK_RECHECK_MS`] when the slots cannot
    /// be read (logged).
    async fn finality_wait_ms(&self) -> i64 {
        let rpc = self.chain.client();
        let slots = tokio::try_join!(
            rpc.get_slot_with_commitment(CommitmentConfig::confirmed()),
            rpc.get_slot_with_commitment(CommitmentConfig::finalized()),
        );
        match slots {
            Ok((confirmed, finalized)) => {
                finality_wait_ms(confirmed, finalized, self.recent.slot_ms(rpc).await)
            }
            Err(error) => {
                let error = self.metrics.failed_call("getSlot", error);
                tracing::warn!("slots not read, the locks are looked at in a second: {error:#}");
                LOCK_RECHECK_MS
            }
        }
    }

    /// The step of the quoted `row` with its account as read. A request that moves on (its lock
    /// is final) is let go at once, due: the next free lane pays it, not this one after the
    /// whole batch. One to look at again later (its lock not final yet) joins `waiting`.
    async fn advance_read(
        &self,
        row: StoredRequest,
        on_chain: Option<ExchangeRequest>,
        finalized_lock: Option<bool>,
        waiting: &mut Vec<(String, i64)>,
    ) -> Result<()> {
        let address: Pubkey = row.address.parse().context("stored address")?;
        match self
            .begin_payout(&row, address, on_chain, finalized_lock)
            .await?
        {
            Step::Moved => Ok(self
                .store
                .defer(&row.address, self.name, now_ms(), false)
                .await?),
            Step::Later {
                at_ms,
                counted_attempt: false,
            } => {
                waiting.push((row.address, at_ms));
                Ok(())
            }
            step => self.follow(row, step).await,
        }
    }

    /// The accounts of `rows` now, and for those locked now whether their locks count as final
    /// ([`lock_is_final`]): two calls for up to [`LOCK_BATCH`] requests, and the cluster's clock
    /// too when this bridge pays on confirmed locks.
    async fn read_locks(&self, rows: &[StoredRequest]) -> Result<Vec<LockView>> {
        let mut reads = Vec::with_capacity(rows.len());
        for read in self.read_each(rows).await? {
            reads.push(match read {
                Ok((address, request)) => (Some(address), Ok(request)),
                Err(error) => (None, Err(error)),
            });
        }
        let chain_now = if reads.iter().any(|(_, request)| is_locked(request)) {
            self.confirmed_locks_clock().await
        } else {
            None
        };
        let mut now = Vec::with_capacity(rows.len());
        let mut locked = Vec::new();
        for (row, (address, request)) in rows.iter().zip(reads) {
            if let (Some(address), Ok(Some(current))) = (address, &request)
                && current.status == RequestStatus::Locked
            {
                let confirmed_counts =
                    chain_now.is_some_and(|now| self.confirmed_lock_counts(current, now));
                locked.push((address, row, confirmed_counts));
            }
            now.push(request);
        }
        let finalized = self.finalized_locks(&locked).await?;
        Ok(pair_views(now, finalized))
    }

    /// Whether the lock of the request `row` stored, at `address`, counts as final
    /// ([`lock_is_final`], `confirmed_counts` as there).
    pub(super) async fn locked_when_finalized(
        &self,
        address: Pubkey,
        row: &StoredRequest,
        confirmed_counts: bool,
    ) -> Result<bool> {
        self.finalized_locks(&[(address, row, confirmed_counts)])
            .await?
            .pop()
            .unwrap_or(Ok(false))
    }

    /// Whether the finalized view shows each of `requests` (an address and its stored row)
    /// locked by this bridge's key ([`final_lock_is_the_rows`]), in order (an account that is
    /// not an exchange request is that address's error); one `getMultipleAccounts` call per
    /// 100 addresses.
    async fn finalized_locks(
        &self,
        requests: &[(Pubkey, &StoredRequest, bool)],
    ) -> Result<Vec<Result<bool>>> {
        let addresses: Vec<Pubkey> = requests.iter().map(|(address, ..)| *address).collect();
        let found = self.finalized_requests(&addresses).await?;
        let key = self.authority.pubkey();
        Ok(requests
            .iter()
            .zip(found)
            .map(|((_, row, confirmed_counts), request)| {
                Ok(lock_is_final(
                    row,
                    request?.as_ref(),
                    &key,
                    *confirmed_counts,
                ))
            })
            .collect())
    }

    /// The exchange request at each of `addresses` in the finalized view, in order (`None`:
    /// nothing there; an account that is not an exchange request is that address's error); one
    /// `getMultipleAccounts` call per 100 addresses.
    pub(super) async fn finalized_requests(
        &self,
        addresses: &[Pubkey],
    ) -> Result<Vec<Result<Option<ExchangeRequest>>>> {
        let found = self
            .chain
            .accounts_at(addresses, CommitmentConfig::finalized())
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?;
        Ok(addresses
            .iter()
            .zip(found)
            .map(|(address, account)| {
                accounts::decode_owned::<ExchangeRequest>(*address, account)
                    .with_context(|| format!("the account at {address} in the finalized view"))
            })
            .collect())
    }
}

/// Whether `finalized`, the finalized view of `row`'s address, shows the request `row` stored
/// locked by `key`. An address can hold an earlier request (closed since, the same id drawn
/// again), so the lock counts only on the account the row describes (`super::mismatch`): a
/// lock of another request there, final or not, says nothing of this one's.
fn final_lock_is_the_rows(
    row: &StoredRequest,
    finalized: Option<&ExchangeRequest>,
    key: &Pubkey,
) -> bool {
    finalized
        .is_some_and(|request| request.is_locked_by(key) && super::mismatch(row, request).is_none())
}

/// Whether the lock this key holds on the request `row` stored (the confirmed view shows it)
/// counts as final, given `finalized`, the finalized view of its address: by default once that
/// view shows the lock ([`final_lock_is_the_rows`]: no fork can undo it). With
/// `confirmed_counts` (`lock_commitment = "confirmed"` and a request its user could not cancel
/// for an hour even without the lock: `off_chain::confirmed_lock_counts`), once that view shows
/// the request itself, pending or locked by `key`: no fork can undo the request the payment is
/// for (a fork dropping the block that made it would drop its lock with it), while a fork undoing
/// only the lock leaves a request its user cannot cancel before the bridge settles it.
fn lock_is_final(
    row: &StoredRequest,
    finalized: Option<&ExchangeRequest>,
    key: &Pubkey,
    confirmed_counts: bool,
) -> bool {
    if !confirmed_counts {
        return final_lock_is_the_rows(row, finalized, key);
    }
    finalized.is_some_and(|request| {
        super::mismatch(row, request).is_none()
            && (request.status == RequestStatus::Pending || request.is_locked_by(key))
    })
}

/// The longest wait before the first look at a lock just sent, whatever the slots say.
const MAX_FIRST_LOOK_MS: i64 = 20_000;

/// The wait before the first look at a lock sent when the cluster's confirmed view is at slot
/// `confirmed` and its finalized view at `finalized`: the lock lands at or after `confirmed`,
/// and is final once the finalized view reaches it, one slot every `slot_ms`
/// ([`crate::recent::Recent::slot_ms`]: on a test validator's 300 ms slots, a wait counted in
/// 400 ms ones looked 3 s late).
fn finality_wait_ms(confirmed: u64, finalized: u64, slot_ms: i64) -> i64 {
    let behind = i64::try_from(confirmed.saturating_sub(finalized)).unwrap_or(i64::MAX);
    behind
        .saturating_mul(slot_ms)
        .clamp(LOCK_RECHECK_MS, MAX_FIRST_LOOK_MS)
}

/// What one batch's rows lead to, gathered while stepping them (`Worker::advance_locks`).
#[derive(Default)]
struct Gathered {
    /// Quotes to record together: each request's address and its quote.
    quotes: Vec<(String, Changes)>,
    /// The requests of `quotes`, with their accounts as read: their next step once quoted.
    quoted_reads: Vec<(StoredRequest, Option<ExchangeRequest>, Option<bool>)>,
    /// Requests whose locks are final, to move to `PayoutPending` together (no changes but the
    /// state).
    final_locks: Vec<(String, Changes)>,
    /// Pending requests to lock together, with their accounts (this worker holds the claims).
    to_lock: Vec<(StoredRequest, ExchangeRequest)>,
    /// Requests to look at again, each at its time (released together).
    waiting: Vec<(String, i64)>,
}

/// What became of one pool's locks (`send_pool_locks`), by index into its requests.
struct PoolLocks {
    /// The program refused this key as the pool's settlement authority at this request: neither
    /// it nor any after it was locked.
    refused_from: Option<usize>,
    /// Requests whose lock was not sent (not signed, not taken by the node, or refused alone):
    /// the next look, a second later, tries again.
    unsent: Vec<usize>,
}

/// What became of one lock transaction.
enum LockSent {
    /// Taken by the node (whether it lands is read at the next look).
    Sent,
    /// Refused: this bridge's key is not the pool's settlement authority.
    Refused,
    /// A batch of several refused in simulation: send them again one at a time.
    RefusedInBatch,
    /// Not signed or not sent (logged and counted); the next look tries again.
    Failed,
}

/// Each request read now with its finalized lock: `finalized` holds, in order, one answer for
/// each request locked now; the others have none (nothing to wait for).
fn pair_views(
    now: Vec<Result<Option<ExchangeRequest>>>,
    finalized: Vec<Result<bool>>,
) -> Vec<LockView> {
    let mut finalized = finalized.into_iter();
    now.into_iter()
        .map(|request| {
            let finalized_lock = if is_locked(&request) {
                finalized.next()
            } else {
                None
            };
            (request, finalized_lock)
        })
        .collect()
}

/// Whether `request` was read, is there, and is locked.
fn is_locked(request: &Result<Option<ExchangeRequest>>) -> bool {
    matches!(request, Ok(Some(r)) if r.status == RequestStatus::Locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request's id (when read) and its finalized answer (an error as its message).
    type Summary = (Option<u64>, Option<Result<bool, String>>);

    fn request(id: u64, status: RequestStatus) -> Result<Option<ExchangeRequest>> {
        Ok(Some(super::super::fixtures::request(id, status)))
    }

    /// The first look waits the finalized view's lag behind the confirmed one, a slot at a
    /// time, never less than the usual recheck nor more than the cap.
    #[test]
    fn the_first_look_at_a_lock_waits_for_the_finalized_view_to_catch_up() {
        assert_eq!(finality_wait_ms(1_032, 1_000, 400), 32 * 400);
        assert_eq!(finality_wait_ms(1_032, 1_000, 300), 32 * 300);
        assert_eq!(finality_wait_ms(1_000, 1_000, 400), LOCK_RECHECK_MS);
        assert_eq!(finality_wait_ms(999, 1_000, 400), LOCK_RECHECK_MS);
        assert_eq!(finality_wait_ms(u64::MAX, 0, 400), MAX_FIRST_LOOK_MS);
    }

    /// The finalized view counts as the row's lock only when it shows the request the row
    /// stored, locked by this key: not an earlier request at the address (the same id drawn
    /// again), not one locked by another key, not one pending or gone.
    #[test]
    fn a_final_lock_counts_only_on_the_request_the_row_stored() {
        use super::super::fixtures;
        let key = Pubkey::new_unique();
        let mut locked = fixtures::request(7, RequestStatus::Locked);
        locked.locked_by = key;
        locked.created_at = 2_000;
        let row = fixtures::row_of(&locked);
        assert!(final_lock_is_the_rows(&row, Some(&locked), &key));
        let earlier = ExchangeRequest {
            created_at: 1_000,
            ..locked.clone()
        };
        assert!(!final_lock_is_the_rows(&row, Some(&earlier), &key));
        assert!(!final_lock_is_the_rows(
            &row,
            Some(&locked),
            &Pubkey::new_unique()
        ));
        let pending = ExchangeRequest {
            status: RequestStatus::Pending,
            ..locked.clone()
        };
        assert!(!final_lock_is_the_rows(&row, Some(&pending), &key));
        assert!(!final_lock_is_the_rows(&row, None, &key));
    }

    /// Only requests locked now get a finalized answer, each its own in order; a pending one,
    /// a missing one and one that failed to decode get none, and a finalized read's error stays
    /// with its request.
    #[test]
    fn each_locked_request_gets_its_own_finalized_answer() {
        let now = vec![
            request(1, RequestStatus::Locked),
            request(2, RequestStatus::Pending),
            Ok(None),
            request(4, RequestStatus::Locked),
            Err(anyhow::anyhow!("not a request")),
            request(6, RequestStatus::Locked),
        ];
        let finalized = vec![Ok(false), Ok(true), Err(anyhow::anyhow!("finalized: bad"))];
        let views = pair_views(now, finalized);
        let summary: Vec<Summary> = views
            .into_iter()
            .map(|(request, finalized)| {
                (
                    request.ok().flatten().map(|r| r.id),
                    finalized.map(|f| f.map_err(|e| e.to_string())),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Some(1), Some(Ok(false))),
                (Some(2), None),
                (None, None),
                (Some(4), Some(Ok(true))),
                (None, None),
                (Some(6), Some(Err("finalized: bad".into()))),
            ]
        );
    }

    /// With `lock_commitment = "confirmed"` (for a request its user could not cancel for an
    /// hour) a lock counts once the finalized view shows the row's request, pending or locked by
    /// this key: not before the request itself is final (a fork dropping the block that made it
    /// would undo the payment's reason), not an earlier request at the address, not one locked
    /// by another key or already final. Without it, only a finalized lock counts.
    #[test]
    fn a_confirmed_lock_counts_once_the_request_itself_is_final() {
        use super::super::fixtures;
        let key = Pubkey::new_unique();
        let mut locked = fixtures::request(7, RequestStatus::Locked);
        locked.locked_by = key;
        locked.created_at = 2_000;
        let row = fixtures::row_of(&locked);
        let pending = ExchangeRequest {
            status: RequestStatus::Pending,
            locked_by: Pubkey::default(),
            ..locked.clone()
        };
        assert!(lock_is_final(&row, Some(&locked), &key, false));
        assert!(!lock_is_final(&row, Some(&pending), &key, false));
        assert!(lock_is_final(&row, Some(&locked), &key, true));
        assert!(lock_is_final(&row, Some(&pending), &key, true));
        assert!(!lock_is_final(&row, None, &key, true), "made, not final");
        let earlier = ExchangeRequest {
            created_at: 1_000,
            ..pending.clone()
        };
        assert!(!lock_is_final(&row, Some(&earlier), &key, true));
        let by_another = ExchangeRequest {
            locked_by: Pubkey::new_unique(),
            ..locked.clone()
        };
        assert!(!lock_is_final(&row, Some(&by_another), &key, true));
        for status in [
            RequestStatus::Settled,
            RequestStatus::Cancelled,
            RequestStatus::Rejected,
        ] {
            let closed = ExchangeRequest {
                status,
                ..locked.clone()
            };
            assert!(
                !lock_is_final(&row, Some(&closed), &key, true),
                "{status:?}"
            );
        }
    }
}
