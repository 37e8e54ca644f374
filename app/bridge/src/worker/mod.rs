//! The payout worker: claims an open request and moves it along the state machine
//! (see [`crate::state`]), storing each step before the next outside effect; the settlement of a
//! paid request also claims the other paid requests of its pool (`settlement.rs`), and
//! a request waiting for its lock the other due ones, read from the chain together (`locks.rs`),
//! a request paid on chain to quote, or to settle, the other due ones, read together
//! (`quotes.rs`, `onchain_settles.rs`), a request to pay over HTTP the other due ones, paid at
//! once (`payouts.rs`), and a sent settle transaction to follow the others due, their fates read
//! together (`follows.rs`); what the batches share is in `batches.rs`. Every step can be
//! interrupted and redone: the provider sees the same idempotency key, and the chain sees the
//! same stored settle transaction until it has provably expired.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::accounts;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_sdk::signature::{Keypair, Signer as _};

use crate::config::LockCommitment;
use crate::crash::crash_point;
use crate::http_provider::HttpProvider;
use crate::metrics::Metrics;
use crate::recent::Recent;
use crate::state::RequestState;
use crate::store::{Changes, Store, StoredRequest, now_ms};

/// How long a claim holds without renewal.
pub const CLAIM_MS: i64 = 60_000;
/// How long a worker's claims pass over held rows (its own after a restart, expired claims)
/// after a look at every state found none ([`crate::held_looks`]): a dead worker's rows are
/// taken up to this long after their claim expired (and they fell due), once a lane claims.
pub const HELD_LOOK_EVERY_MS: i64 = 5_000;
/// The pause before a sent settle transaction's status is read again.
const SETTLE_RECHECK_MS: i64 = 800;
/// How old the last send of a settle transaction not seen yet must be before its bytes are sent
/// again: the node itself retries what it was sent every two seconds (its default), so sending
/// at every look (800 ms) only loaded it — four workers sent 3,000 transactions for 680 in
/// `bridge_figures` run 10.
const RESEND_AFTER_MS: i64 = 2_000;
/// Pay off chain only while at least this much of the request's lock is left (seconds), checked
/// before every provider call: the user may cancel a locked request once its lock expires.
const LOCK_MARGIN_SECONDS: i64 = 3_600;
/// The pause before a request being locked is looked at again.
const LOCK_RECHECK_MS: i64 = 1_000;
/// How long at least a request ready to settle (paid, or quoted for an on-chain payout) waits
/// for others of its pool to share the transaction: in practice until the worker's next pass
/// (the poll interval; 500 ms while websocket hints are active).
const COMPANION_WAIT_MS: i64 = 300;
/// How much later than its batch's lead a companion reads the shared settle transaction's fate
/// itself: when the transaction lands within that lag, the lead records all of them; after it
/// (slow confirmation, or a poll interval longer than the lag) each reads it on its own.
const COMPANION_FOLLOW_LAG_MS: i64 = 5_000;
/// How long a request whose account is not visible is retried before manual review.
const MISSING_GRACE_MS: i64 = 300_000;

mod batches;
#[cfg(test)]
pub(crate) mod fixtures;
mod follows;
mod locks;
mod off_chain;
mod onchain_settles;
mod payouts;
mod quotes;
mod replaced;
mod settlement;

/// How users are paid.
pub enum PayoutAdapter {
    /// The request's frozen payout mint, paid inside the settle transaction.
    Onchain {
        /// The treasury token account, if not the authority's associated account.
        treasury: Option<Pubkey>,
    },
    /// A payment provider over HTTP.
    Http {
        /// The provider.
        provider: HttpProvider,
        /// Calls before manual review.
        max_attempts: u32,
        /// Requests one lane pays at once (`payouts.rs`).
        concurrent_calls: usize,
        /// When a lock of this bridge counts before paying (`off_chain::confirmed_lock_counts`).
        lock_commitment: LockCommitment,
    },
}

/// What one step did.
enum Step {
    /// The request moved; take the next step.
    Moved,
    /// Nothing to do before `at_ms`; the claim is released.
    Later { at_ms: i64, counted_attempt: bool },
    /// The request is final, or another worker took it over.
    Done,
}

/// What a discovered request's account, as read, says to do (`Worker::quote_to_record`).
enum QuoteRead {
    /// Record these changes (its quote) and move it to `Quoted`.
    Quote(Changes),
    /// The step taken instead.
    Instead(Step),
}

/// Moves claimed requests forward.
pub struct Worker<'a> {
    /// The cluster.
    pub chain: &'a RpcChain,
    /// The database.
    pub store: &'a Store,
    /// The settlement authority.
    pub authority: &'a Keypair,
    /// How users are paid.
    pub payout: &'a PayoutAdapter,
    /// This worker's name in claims.
    pub name: &'a str,
    /// Where failures and latencies go.
    pub metrics: &'a Metrics,
    /// The blockhash and priority fees (under the fee policy) signed with, shared by the
    /// process's lanes.
    pub recent: &'a Recent,
}

impl Worker<'_> {
    /// Works on due requests until none is left or `stop` says so; returns how many were taken.
    /// A request waiting for its lock takes the other due ones along (`locks.rs`): they are read
    /// from the chain together; so does a request paid on chain to quote (`quotes.rs`) or to
    /// settle (`onchain_settles.rs`), a request to pay over HTTP (`payouts.rs`), whose provider
    /// calls then run at once, and a sent settle transaction (`follows.rs`), whose fates are read
    /// in one call.
    pub async fn drain(&self, stop: &dyn Fn() -> bool) -> Result<usize> {
        let mut taken = 0;
        while !stop() {
            let Some(claimed) = self.store.claim_next(self.name, CLAIM_MS).await? else {
                break;
            };
            if self.locks_before_paying(&claimed) {
                taken += self.advance_locks(claimed, stop).await?;
            } else if self.quotes_in_batches(&claimed) {
                taken += self.advance_quotes(claimed, stop).await?;
            } else if self.settles_on_chain_in_batches(&claimed) {
                taken += self.advance_onchain_settles(claimed, stop).await?;
            } else if let Some(at_once) = self.pays_in_batches(&claimed) {
                taken += self.advance_payouts(claimed, at_once).await?;
            } else if self.follows_a_settle(&claimed) {
                taken += self.advance_settles(claimed, stop).await?;
            } else {
                taken += 1;
                let address = claimed.address.clone();
                let advanced = self.advance(claimed).await;
                self.defer_if_failed(&address, advanced).await?;
            }
        }
        Ok(taken)
    }

    /// After a failed step on `address` (logged), looks at it again in two seconds.
    async fn defer_if_failed(&self, address: &str, advanced: Result<()>) -> Result<()> {
        if let Err(error) = advanced {
            tracing::warn!(%address, "request not advanced: {error:#}");
            self.store
                .defer(address, self.name, now_ms().saturating_add(2_000), false)
                .await?;
        }
        Ok(())
    }

    /// Takes steps on `claimed` until it is final, waits, or is lost.
    async fn advance(&self, claimed: StoredRequest) -> Result<()> {
        let step = self.step(&claimed).await?;
        self.follow(claimed, step).await
    }

    /// Goes on from `step`, just taken on `claimed`, until the request is final, waits, or is
    /// lost.
    async fn follow(&self, mut claimed: StoredRequest, mut step: Step) -> Result<()> {
        loop {
            match step {
                Step::Moved => {
                    claimed = self
                        .store
                        .request(&claimed.address)
                        .await?
                        .context("a stored request vanished")?;
                    step = self.step(&claimed).await?;
                }
                Step::Later {
                    at_ms,
                    counted_attempt,
                } => {
                    self.store
                        .defer(&claimed.address, self.name, at_ms, counted_attempt)
                        .await?;
                    return Ok(());
                }
                Step::Done => {
                    self.store
                        .release_claim(&claimed.address, self.name)
                        .await?;
                    return Ok(());
                }
            }
        }
    }

    /// One step of `row`: the function of its state.
    async fn step(&self, row: &StoredRequest) -> Result<Step> {
        let address: Pubkey = row.address.parse().context("stored address")?;
        match row.state()? {
            RequestState::Discovered => self.quote(row, address).await,
            RequestState::Quoted => {
                let on_chain = self.on_chain(address).await?;
                self.begin_payout(row, address, on_chain, None).await
            }
            RequestState::PayoutPending => self.pay_off_chain(row, address).await,
            RequestState::Paid => self.settle_paid(row, address).await,
            RequestState::SettleSent => self.follow_settle(row, address).await,
            RequestState::Settled | RequestState::Withdrawn | RequestState::ManualReview => {
                Ok(Step::Done)
            }
        }
    }

    /// `Discovered`: checks the account against the event and records the quote; paid over
    /// HTTP, locks at once (the worker's batches take this path only when a request is stepped
    /// on its own, see `locks.rs` and `quotes.rs`).
    async fn quote(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let on_chain = self.on_chain(address).await?;
        let step = self.record_quote(row, on_chain.as_ref()).await?;
        match (self.payout, step) {
            // Quoted is where an on-chain payout is settled, together with others of its pool:
            // wait for them. (`drain` quotes requests paid on chain in batches, `quotes.rs`, which
            // wait the same way; this arm is for one stepped alone.)
            (PayoutAdapter::Onchain { .. }, step) => Ok(wait_for_companions(step)),
            // An off-chain payout is locked at once, from the account just read: the row's
            // address and discovery time, and the state it is now in (given as `from`), are
            // all the step uses.
            (PayoutAdapter::Http { .. }, Step::Moved) => {
                self.begin_payout(row, address, on_chain, None).await
            }
            (PayoutAdapter::Http { .. }, step) => Ok(step),
        }
    }

    /// `Discovered`, with its account as read (`None`: not there): checks it against the event
    /// and records the quote (`Moved`: the request is now `Quoted`).
    async fn record_quote(
        &self,
        row: &StoredRequest,
        on_chain: Option<&ExchangeRequest>,
    ) -> Result<Step> {
        match self.quote_to_record(row, on_chain).await? {
            QuoteRead::Quote(changes) => {
                self.moved(
                    row,
                    RequestState::Discovered,
                    RequestState::Quoted,
                    changes,
                    "quoted",
                )
                .await
            }
            QuoteRead::Instead(step) => Ok(step),
        }
    }

    /// `Discovered`, with its account as read (`None`: not there): the quote to record when the
    /// account matches the event and is open, or the step taken instead (looked at again while
    /// the account is missing, a review when it differs, settled or withdrawn when no longer
    /// open).
    async fn quote_to_record(
        &self,
        row: &StoredRequest,
        on_chain: Option<&ExchangeRequest>,
    ) -> Result<QuoteRead> {
        let state = RequestState::Discovered;
        let Some(on_chain) = on_chain else {
            return Ok(QuoteRead::Instead(self.missing(row, state).await?));
        };
        if let Some(step) = self.unless_same(row, state, on_chain).await? {
            return Ok(QuoteRead::Instead(step));
        }
        if let Some(step) = self.unless_open(row, state, on_chain).await? {
            return Ok(QuoteRead::Instead(step));
        }
        let quote = i64::try_from(on_chain.quoted).context("quote out of range")?;
        // Only quoted rows send locks: a request already locked by this key when its row is
        // quoted was locked for another database of this key (restored from a backup, moved
        // between stores), which may have paid it. That counts as a call made, so the provider's
        // ledger is asked before this row's first call (`off_chain::pay_read`).
        let adopted = on_chain.status == RequestStatus::Locked
            && on_chain.is_locked_by(&self.authority.pubkey());
        if adopted {
            tracing::warn!(
                address = %row.address,
                "locked by this key before this database knew the request: the provider's ledger is asked before any payout call"
            );
        }
        Ok(QuoteRead::Quote(Changes {
            quote: Some(quote),
            count_payout_attempt: adopted,
            ..Changes::default()
        }))
    }

    /// `Quoted`: pays the way the request's frozen terms say — on chain inside the settle
    /// transaction (left due for the batch of `onchain_settles.rs`), or over HTTP after a lock.
    /// `on_chain` is the request's account as just read; `finalized_lock` whether the finalized
    /// view shows it locked, when that was read too.
    async fn begin_payout(
        &self,
        row: &StoredRequest,
        address: Pubkey,
        on_chain: Option<ExchangeRequest>,
        finalized_lock: Option<bool>,
    ) -> Result<Step> {
        let state = RequestState::Quoted;
        let Some(on_chain) = on_chain else {
            return self.missing(row, state).await;
        };
        if let Some(step) = self.unless_same(row, state, &on_chain).await? {
            return Ok(step);
        }
        if let Some(step) = self.unless_open(row, state, &on_chain).await? {
            return Ok(step);
        }
        match (self.payout, on_chain.payout_mint) {
            // Settled with its payout by the on-chain batch (`onchain_settles.rs`), which `drain`
            // gives every quoted request paid on chain: due now.
            (PayoutAdapter::Onchain { .. }, Some(_)) => Ok(Step::Later {
                at_ms: now_ms(),
                counted_attempt: false,
            }),
            (PayoutAdapter::Http { .. }, None) => {
                self.lock_before_paying(row, address, &on_chain, finalized_lock)
                    .await
            }
            (PayoutAdapter::Onchain { .. }, None) => {
                self.review(
                    row,
                    state,
                    "the request was made without a payout mint (it is paid off chain), but this bridge pays on chain",
                )
                .await
            }
            (PayoutAdapter::Http { .. }, Some(mint)) => {
                let reason = format!(
                    "the request's terms say it is paid on chain in {mint}, but this bridge pays over HTTP"
                );
                self.review(row, state, &reason).await
            }
        }
    }

    /// Moves `row` from `from` to `to`; `Done` if another worker had taken it.
    async fn moved(
        &self,
        row: &StoredRequest,
        from: RequestState,
        to: RequestState,
        changes: Changes,
        point: &str,
    ) -> Result<Step> {
        Ok(
            if self.transitioned(row, from, to, changes, point).await? && !to.is_final() {
                Step::Moved
            } else {
                Step::Done
            },
        )
    }

    /// Moves `row` from `from` to `to` (logged, then the crash point `point`); false if another
    /// worker had taken it.
    async fn transitioned(
        &self,
        row: &StoredRequest,
        from: RequestState,
        to: RequestState,
        changes: Changes,
        point: &str,
    ) -> Result<bool> {
        let moved = self
            .store
            .transition(&row.address, self.name, from, to, changes, CLAIM_MS)
            .await?;
        if moved {
            tracing::info!(address = %row.address, %from, %to, "request moved");
            crash_point(point);
        }
        Ok(moved)
    }

    /// [`Self::transitioned`] for many rows (each an address and its changes) in one database
    /// transaction, each on its own: the crash point `point` once, when at least one moved.
    /// Returns the addresses moved (one another worker had taken is left out).
    async fn transitioned_each<'r>(
        &self,
        rows: &'r [(String, Changes)],
        from: RequestState,
        to: RequestState,
        point: &str,
    ) -> Result<Vec<&'r str>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let moved = self
            .store
            .transition_each(rows, self.name, from, to, CLAIM_MS)
            .await?;
        let moved: Vec<&str> = rows
            .iter()
            .zip(moved)
            .filter(|(_, moved)| *moved)
            .map(|((address, _), _)| {
                tracing::info!(%address, %from, %to, "request moved");
                address.as_str()
            })
            .collect();
        if !moved.is_empty() {
            crash_point(point);
        }
        Ok(moved)
    }

    /// Records the settlement and its latency (once: not when another worker, or the lead of
    /// its batch, recorded it first).
    async fn settled(&self, row: &StoredRequest, from: RequestState) -> Result<Step> {
        let now = now_ms();
        let changes = Changes {
            settled_at_ms: Some(now),
            ..Changes::default()
        };
        if self
            .transitioned(row, from, RequestState::Settled, changes, "settled")
            .await?
        {
            self.observe_latency(row.discovered_at_ms, now);
        }
        Ok(Step::Done)
    }

    /// Records how long a request took from discovery (`discovered_at_ms`) to settled (`now`).
    fn observe_latency(&self, discovered_at_ms: i64, now: i64) {
        let seconds = now.saturating_sub(discovered_at_ms).max(0) as f64 / 1000.0;
        self.metrics.payout_latency.observe(seconds);
    }

    /// The request account is not visible: a lagging node is retried for a while; after that a
    /// person must look (nothing was paid in the states this is called from).
    async fn missing(&self, row: &StoredRequest, from: RequestState) -> Result<Step> {
        if now_ms().saturating_sub(row.discovered_at_ms) < MISSING_GRACE_MS {
            return Ok(Step::Later {
                at_ms: now_ms().saturating_add(2_000),
                counted_attempt: false,
            });
        }
        self.review(row, from, "the request account is not on chain")
            .await
    }

    /// Stops `row` for a person, with `reason`.
    async fn review(&self, row: &StoredRequest, from: RequestState, reason: &str) -> Result<Step> {
        tracing::error!(address = %row.address, %from, "manual review: {reason}");
        let changes = Changes {
            review_reason: Some(reason.to_owned()),
            ..Changes::default()
        };
        self.moved(
            row,
            from,
            RequestState::ManualReview,
            changes,
            "manual_review",
        )
        .await
    }

    /// `Some(step)` when the account read at `row`'s address is not the request `row` stored: a
    /// closed request's address may hold a later request with the same id (ids are the clients'
    /// choice), and nothing is paid, settled or locked for one request on the strength of
    /// another's row. A row this database never paid nor sent a settlement for, whose request
    /// was replaced by a later one ([`replaced::closed_before_paying`]), ends as withdrawn once
    /// checked (`Worker::end_replaced`; the next scan of open requests takes the later one up
    /// under a row of its own); any other goes to manual review. The worker's reads of the
    /// account, in every state, pass here first.
    async fn unless_same(
        &self,
        row: &StoredRequest,
        from: RequestState,
        on_chain: &ExchangeRequest,
    ) -> Result<Option<Step>> {
        Ok(match mismatch(row, on_chain) {
            None => None,
            Some(_) if replaced::closed_before_paying(row, from, on_chain) => {
                Some(self.end_replaced(row, from, on_chain).await?)
            }
            Some(why) => {
                let reason = format!(
                    "the account at this address is not the request this row stored (closed, and its id taken by a later request, or a view that changed): {why}; this row was {from}, payment id {}, {} payout attempts under key {}: check the provider before anything else, and never pay the later request under this row",
                    row.payment_id.as_deref().unwrap_or("none"),
                    row.payout_attempts,
                    row.payout_key()
                );
                Some(self.review(row, from, &reason).await?)
            }
        })
    }

    /// `Some(step)` when the request is no longer open on chain (settled elsewhere, or
    /// cancelled/rejected before anything was paid).
    async fn unless_open(
        &self,
        row: &StoredRequest,
        from: RequestState,
        on_chain: &ExchangeRequest,
    ) -> Result<Option<Step>> {
        Ok(match on_chain.status {
            RequestStatus::Pending | RequestStatus::Locked => None,
            RequestStatus::Settled => Some(self.settled(row, from).await?),
            RequestStatus::Cancelled | RequestStatus::Rejected => Some(
                self.moved(
                    row,
                    from,
                    RequestState::Withdrawn,
                    Changes::default(),
                    "withdrawn",
                )
                .await?,
            ),
        })
    }

    /// The ExchangeRequest account at `address`.
    async fn on_chain(&self, address: Pubkey) -> Result<Option<ExchangeRequest>> {
        accounts::fetch::<ExchangeRequest>(self.chain, address)
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))
    }

    /// The cluster's clock.
    async fn chain_time(&self) -> Result<i64> {
        use allot_client::chain::Chain as _;
        self.chain
            .unix_timestamp()
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))
    }

    /// The request at `address` and the cluster's clock, read in one call.
    async fn on_chain_and_time(&self, address: Pubkey) -> Result<(Option<ExchangeRequest>, i64)> {
        let (mut found, now) = self
            .chain
            .accounts_and_time(&[address])
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?;
        let request = accounts::decode_owned(address, found.pop().flatten())?;
        Ok((request, now))
    }
}

/// `step` (a move to a state whose next chain write, the settlement, is shared), made to wait
/// [`COMPANION_WAIT_MS`] so that requests of its pool reaching that state meanwhile share the
/// same transaction.
fn wait_for_companions(step: Step) -> Step {
    match step {
        Step::Moved => Step::Later {
            at_ms: now_ms().saturating_add(COMPANION_WAIT_MS),
            counted_attempt: false,
        },
        other => other,
    }
}

/// Why the account does not match the stored request, if it does not: who, what, the quote, its
/// currency and when it was made must agree. (A closed request's address may hold a later request
/// with the same id: `created_at` and the rest tell them apart, and a stranger is never paid.)
pub(crate) fn mismatch(row: &StoredRequest, on_chain: &ExchangeRequest) -> Option<String> {
    let currency = String::from_utf8_lossy(&on_chain.currency);
    let same = on_chain.user.to_string() == row.user_key
        && on_chain.pool.to_string() == row.pool
        && i64::try_from(on_chain.id).ok() == Some(row.request_id)
        && i64::try_from(on_chain.amount).ok() == Some(row.amount)
        && i64::try_from(on_chain.quoted).ok() == Some(row.quoted)
        && currency == row.currency
        && on_chain.created_at == row.created_at;
    if !same {
        return Some(format!(
            "the account (id {}, user {}, amount {}, quote {} {currency}, made at {}) differs from the event (id {}, user {}, amount {}, quote {} {}, made at {})",
            on_chain.id,
            on_chain.user,
            on_chain.amount,
            on_chain.quoted,
            on_chain.created_at,
            row.request_id,
            row.user_key,
            row.amount,
            row.quoted,
            row.currency,
            row.created_at
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed request's address may hold a later request with the same id (ids are the
    /// clients' choice): the bridge must never take it for the request it stored, even with the
    /// same user, amount and quote. It is never paid or settled under that row (which ends
    /// withdrawn or in review: [`replaced::closed_before_paying`]).
    #[test]
    fn a_later_request_at_a_reused_address_is_not_the_stored_one() {
        let found = fixtures::request(7, RequestStatus::Pending);
        let row = fixtures::row_of(&found);
        assert_eq!(mismatch(&row, &found), None);
        // The same user asks again for the same amount, a second later, at the same id.
        let mut reopened = fixtures::request(7, RequestStatus::Pending);
        (reopened.pool, reopened.user) = (found.pool, found.user);
        reopened.created_at = found.created_at + 1;
        let reason = mismatch(&row, &reopened).expect("a different request");
        assert!(reason.contains("made at 1"), "{reason}");
        // Another user takes the id.
        let mut someone_else = fixtures::request(7, RequestStatus::Pending);
        someone_else.pool = found.pool;
        assert!(mismatch(&row, &someone_else).is_some());
    }
}
