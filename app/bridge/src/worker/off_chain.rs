//! Paying over HTTP: the request is locked on chain first (its user can no longer cancel it),
//! then the provider is asked — never twice without first asking its ledger what became of an
//! earlier call.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::currency::minor_unit_digits;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::Signer as _;

use super::{CLAIM_MS, LOCK_MARGIN_SECONDS, LOCK_RECHECK_MS, PayoutAdapter, Step, Worker};
use crate::config::LockCommitment;
use crate::http_provider::{HttpProvider, LookupOutcome, PayoutOrder, PayoutOutcome};
use crate::settle::{self, LockNotSent};
use crate::state::RequestState;
use crate::store::{Changes, StoredRequest, now_ms};

impl Worker<'_> {
    /// `Quoted`, paid over HTTP: locks the request on chain, and moves on to paying once the lock
    /// is final (`finalized_lock`: whether the finalized view shows it locked, if already read).
    pub(super) async fn lock_before_paying(
        &self,
        row: &StoredRequest,
        address: Pubkey,
        on_chain: &ExchangeRequest,
        finalized_lock: Option<bool>,
    ) -> Result<Step> {
        let state = RequestState::Quoted;
        if let Some(problem) = why_not_lock(on_chain) {
            return self.review(row, state, &problem).await;
        }
        self.lock_for_payout(row, state, address, on_chain, finalized_lock)
            .await
    }

    /// Whether a lock of this bridge's key on `request` (the row's, as just read in the
    /// confirmed view) counts before the finalized view shows the lock, at the cluster's time
    /// `now`: with `lock_commitment = "confirmed"`, when its user could not cancel it for at
    /// least [`LOCK_MARGIN_SECONDS`] even were a fork to undo the lock
    /// ([`cancel_held_off_without_lock`]); it then counts once the finalized view shows the
    /// request itself (`locks::lock_is_final`). The payment's own checks (locked by this key, an
    /// hour of lock left, asked before each call) are the same either way.
    pub(super) fn confirmed_lock_counts(&self, request: &ExchangeRequest, now: i64) -> bool {
        self.pays_on_confirmed_locks()
            && request.is_locked_by(&self.authority.pubkey())
            && cancel_held_off_without_lock(request, now)
    }

    /// The commitment at which a settle transaction of this bridge counts as landed: confirmed,
    /// or finalized when it pays on confirmed locks (a fork dropping a confirmed settlement
    /// would leave a paid request pending and its lock, maybe undone with it, not final: the
    /// settlement is followed, and sent again if it is gone, until no fork can undo it).
    pub(super) fn settled_at(&self) -> CommitmentConfig {
        if self.pays_on_confirmed_locks() {
            CommitmentConfig::finalized()
        } else {
            CommitmentConfig::confirmed()
        }
    }

    /// The cluster's clock, read only when this bridge pays on confirmed locks (for
    /// [`Self::confirmed_lock_counts`]); `None` otherwise, and when it cannot be read (logged):
    /// the locks then wait to be final, as by default.
    pub(super) async fn confirmed_locks_clock(&self) -> Option<i64> {
        if !self.pays_on_confirmed_locks() {
            return None;
        }
        self.chain_time()
            .await
            .inspect_err(|error| {
                tracing::warn!("the cluster's clock not read, locks wait to be final: {error:#}")
            })
            .ok()
    }

    /// What the provider's ledger says under `key`, counted in
    /// `allot_bridge_payout_outcomes_total`.
    pub(super) async fn counted_lookup(&self, provider: &HttpProvider, key: &str) -> LookupOutcome {
        let lookup = provider.lookup(key).await;
        self.metrics
            .payout_outcomes
            .with_label_values(&[lookup.metric_label()])
            .inc();
        lookup
    }

    /// Whether this bridge pays over HTTP with `lock_commitment = "confirmed"`.
    pub(super) fn pays_on_confirmed_locks(&self) -> bool {
        matches!(
            self.payout,
            PayoutAdapter::Http {
                lock_commitment: LockCommitment::Confirmed,
                ..
            }
        )
    }

    /// `PayoutPending`: asks the provider to pay a locked request (after looking up any earlier
    /// attempt), and records the payment id it answers.
    pub(super) async fn pay_off_chain(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        // Pay only what is locked: the request is read now, and the clock with it.
        let (on_chain, chain_now) = self.on_chain_and_time(address).await?;
        self.pay_read(row, on_chain, chain_now).await
    }

    /// `PayoutPending`, with the request's account (`None`: not there) and the cluster's clock
    /// (`chain_now`) read just before: asks the provider to pay it if it is locked by this
    /// bridge's key (after looking up any earlier attempt), and records the payment id it
    /// answers.
    pub(super) async fn pay_read(
        &self,
        row: &StoredRequest,
        on_chain: Option<ExchangeRequest>,
        mut chain_now: i64,
    ) -> Result<Step> {
        let state = RequestState::PayoutPending;
        let PayoutAdapter::Http {
            provider,
            max_attempts,
            ..
        } = self.payout
        else {
            return self
                .review(
                    row,
                    state,
                    "payout pending but the bridge is configured to pay on chain",
                )
                .await;
        };
        // Pay only the request this row stored (not a later one at its address)...
        if let Some(request) = &on_chain
            && let Some(step) = self.unless_same(row, state, request).await?
        {
            return Ok(step);
        }
        // ...and only what is locked: the user cannot cancel a locked request until its lock
        // expires, so no cancel can race this payment.
        let locked = match on_chain {
            Some(request)
                if request.status == RequestStatus::Locked
                    && !request.is_locked_by(&self.authority.pubkey()) =>
            {
                let reason = format!(
                    "{} (no payment under key {} by this bridge's lock)",
                    locked_by_another(&request),
                    row.payout_key()
                );
                return self.review(row, state, &reason).await;
            }
            Some(request) if request.is_locked_by(&self.authority.pubkey()) => request,
            other => {
                // Pending: its lock undone (a fork, with `lock_commitment = "confirmed"`); its
                // user may cancel it from its own cancel time, so a person knows the deadline.
                let deadline = match &other {
                    Some(r) if r.status == RequestStatus::Pending => format!(
                        "; its user may cancel it from unix time {}, so settle it (mark-paid) or reject it before then",
                        r.cancel_after
                    ),
                    _ => String::new(),
                };
                let reason = format!(
                    "the request is {} on chain while its payout is pending (it should be locked): check the provider for key {}{deadline}",
                    other
                        .as_ref()
                        .map_or("gone".into(), |r| format!("{:?}", r.status)),
                    row.payout_key()
                );
                return self.review(row, state, &reason).await;
            }
        };
        if row.payout_attempts >= i64::from(*max_attempts) {
            let reason = format!(
                "the payment provider gave no payment id, and no answer on whether it paid, in {} attempts: check key {}",
                row.payout_attempts,
                row.payout_key()
            );
            return self.review(row, state, &reason).await;
        }
        let quote = row.quote.context("a pending payout has no quote")?;
        let order = PayoutOrder {
            request: row.address.clone(),
            user: row.user_key.clone(),
            amount: u64::try_from(quote).context("negative quote")?,
            currency: row.currency.clone(),
        };
        // Ask before paying twice: after any earlier attempt (a timeout, a crash after the call),
        // the provider's ledger says what became of it.
        if row.payout_attempts > 0 {
            let expiring = lock_expiring(&locked, chain_now);
            if let Some(step) = self
                .look_up_earlier_attempt(row, provider, &order, expiring)
                .await?
            {
                return Ok(step);
            }
            // The lookup took time (up to the provider's timeout): the clock is read again.
            chain_now = self.chain_time().await?;
        }
        // A new call only while the lock holds long enough to settle after it (a payment found by
        // the lookup above is settled whatever is left of the lock).
        if !lock_holds_long_enough(&locked, chain_now) {
            let reason = format!(
                "the request's lock expires too soon to start a payment safely (no payment under key {} so far)",
                row.payout_key()
            );
            return self.review(row, state, &reason).await;
        }
        self.call_provider(row, provider, &order).await
    }

    /// What the provider's ledger says of an earlier call: `Some(step)` when it settles the
    /// question (paid, failed, still paying, no answer), `None` when nothing was paid under the
    /// key (a call is safe). `expiring`: when the lock's user may cancel, if that is within the
    /// safety margin ([`lock_expiring`]).
    async fn look_up_earlier_attempt(
        &self,
        row: &StoredRequest,
        provider: &HttpProvider,
        order: &PayoutOrder,
        expiring: Option<i64>,
    ) -> Result<Option<Step>> {
        let state = RequestState::PayoutPending;
        let lookup = self.counted_lookup(provider, &row.payout_key()).await;
        match lookup {
            LookupOutcome::NotFound => {
                self.unless_paid_under_the_address_alone(row, provider, expiring)
                    .await
            }
            LookupOutcome::Paid {
                payment_id,
                amount_minor_units,
            } if amount_minor_units == order.amount => {
                self.provider_paid(row, state, payment_id).await.map(Some)
            }
            LookupOutcome::Paid {
                payment_id,
                amount_minor_units,
            } => {
                let reason = format!(
                    "the provider paid {amount_minor_units} minor units (payment {payment_id}), not the quote {}",
                    order.amount
                );
                self.review(row, state, &reason).await.map(Some)
            }
            LookupOutcome::Failed { payment_id } => {
                let reason = format!(
                    "the provider's payment {payment_id} failed: a person decides whether to retry (review retry) or reject"
                );
                self.review(row, state, &reason).await.map(Some)
            }
            LookupOutcome::InProgress => Ok(Some(self.unanswered(
                row,
                "the provider is still paying",
                expiring,
            ))),
            LookupOutcome::Inconclusive(reason) => {
                Ok(Some(self.unanswered(row, &reason, expiring)))
            }
        }
    }

    /// A lookup that could not say whether the provider paid (`why`): asked again later, with
    /// backoff and counted toward `max_attempts` (then a person decides), except in the lock's
    /// last hour (`expiring`: when its user may cancel): every [`LOCK_ENDING_LOOKUP_MS`],
    /// uncounted, with an error logged for a person, so the bridge settles at the provider's
    /// first answer while a settlement still lands before its user may cancel.
    fn unanswered(&self, row: &StoredRequest, why: &str, expiring: Option<i64>) -> Step {
        let Some(cancel_from) = expiring else {
            return self.payout_later(row, why, true);
        };
        tracing::error!(
            address = %row.address,
            key = %row.payout_key(),
            "the provider has not said whether it paid ({why}), and the request's lock ends at unix time {cancel_from}: asked again every {} s until it answers; find out at the provider now",
            LOCK_ENDING_LOOKUP_MS / 1_000
        );
        Step::Later {
            at_ms: now_ms().saturating_add(LOCK_ENDING_LOOKUP_MS),
            counted_attempt: false,
        }
    }

    /// After the row's key found nothing: what the provider's ledger says under the address-only
    /// key, which bridges before migration 0007 paid under. A payout there may be this
    /// request's, made by such a bridge (its row since lost), or an earlier request's at the
    /// address: a person decides. `None` when nothing is there (a call is safe) or the row's key
    /// is that key already.
    async fn unless_paid_under_the_address_alone(
        &self,
        row: &StoredRequest,
        provider: &HttpProvider,
        expiring: Option<i64>,
    ) -> Result<Option<Step>> {
        let state = RequestState::PayoutPending;
        let Some(legacy) = row.legacy_payout_key() else {
            return Ok(None);
        };
        let lookup = self.counted_lookup(provider, &legacy).await;
        let (payment_id, amount_minor_units) = match lookup {
            // Never accepted, or accepted and failed: nothing was paid under it.
            LookupOutcome::NotFound | LookupOutcome::Failed { .. } => return Ok(None),
            LookupOutcome::InProgress => {
                let why = format!("the provider is still paying under key {legacy}");
                return Ok(Some(self.unanswered(row, &why, expiring)));
            }
            LookupOutcome::Inconclusive(reason) => {
                return Ok(Some(self.unanswered(row, &reason, expiring)));
            }
            LookupOutcome::Paid {
                payment_id,
                amount_minor_units,
            } => (payment_id, amount_minor_units),
        };
        let reason = format!(
            "nothing under key {}, but the provider paid {amount_minor_units} minor units (payment {payment_id}) under the address-only key {legacy}, which bridges before migration 0007 paid under: it may be this request's (review mark-paid --payment-id {payment_id}) or an earlier request's at this address (review reject, or pay by hand and mark-paid)",
            row.payout_key()
        );
        self.review(row, state, &reason).await.map(Some)
    }

    /// One call to the provider. The attempt is counted (and the claim renewed for longer than
    /// the call's bounded timeout) before the call: a crash after it leads to a lookup first.
    async fn call_provider(
        &self,
        row: &StoredRequest,
        provider: &HttpProvider,
        order: &PayoutOrder,
    ) -> Result<Step> {
        let state = RequestState::PayoutPending;
        if !self
            .store
            .start_payout_attempt(&row.address, self.name, CLAIM_MS)
            .await?
        {
            return Ok(Step::Done);
        }
        let outcome = provider.pay(&row.payout_key(), order).await;
        self.metrics
            .payout_outcomes
            .with_label_values(&[outcome.metric_label()])
            .inc();
        match outcome {
            PayoutOutcome::Paid { payment_id } => self.provider_paid(row, state, payment_id).await,
            PayoutOutcome::Retry(reason) => {
                // Before the lookup that follows, give the provider at least its call timeout to
                // record what it may have accepted.
                let mut later = self.payout_later(row, &reason, false);
                if let Step::Later { at_ms, .. } = &mut later {
                    let quiet = i64::try_from(provider.timeout().as_millis()).unwrap_or(i64::MAX);
                    *at_ms = (*at_ms).max(now_ms().saturating_add(quiet));
                }
                Ok(later)
            }
            PayoutOutcome::Refused(reason) => self.review(row, state, &reason).await,
        }
    }

    /// Records the provider's payment id: the request is paid.
    async fn provider_paid(
        &self,
        row: &StoredRequest,
        from: RequestState,
        payment_id: String,
    ) -> Result<Step> {
        crate::crash::crash_point("payout_called");
        let changes = Changes {
            payment_id: Some(payment_id),
            ..Changes::default()
        };
        let step = self
            .moved(row, from, RequestState::Paid, changes, "paid")
            .await?;
        Ok(super::wait_for_companions(step))
    }

    /// Comes back to a payout later, backing off with its attempts (each call, or each
    /// inconclusive lookup, counts towards `max_attempts`, then a person decides); `count` when
    /// this one was not counted before the call.
    fn payout_later(&self, row: &StoredRequest, reason: &str, count: bool) -> Step {
        tracing::warn!(address = %row.address, attempts = row.payout_attempts, "payout to retry: {reason}");
        let backoff = 500_i64
            .saturating_mul(1 << row.payout_attempts.clamp(0, 7))
            .min(60_000);
        Step::Later {
            at_ms: now_ms().saturating_add(backoff),
            counted_attempt: count,
        }
    }

    /// An off-chain payment starts only for a request locked on chain, so its user can no longer
    /// cancel it (and take the units back) while the money moves. Sends the lock while the
    /// request is pending; moves on to paying once its lock counts as final (by default once the
    /// finalized view shows it locked, a lock no fork can undo: `locks::lock_is_final`):
    /// `finalized_lock`, or read here when not given.
    async fn lock_for_payout(
        &self,
        row: &StoredRequest,
        from: RequestState,
        address: Pubkey,
        on_chain: &ExchangeRequest,
        finalized_lock: Option<bool>,
    ) -> Result<Step> {
        let key = self.authority.pubkey();
        match http_next(row, on_chain, &key) {
            HttpNext::Lock => {
                let (signed, _) = self.metrics.counted(
                    settle::sign_locks(
                        self.chain.client(),
                        self.recent,
                        self.authority,
                        std::slice::from_ref(on_chain),
                    )
                    .await,
                )?;
                let sent = settle::send_lock(self.chain.client(), &signed).await;
                if let Some(reason) = self.lock_outcome(sent, &row.address) {
                    return self.review(row, from, &reason).await;
                }
            }
            HttpNext::PayOnceFinal => {
                let final_lock = match finalized_lock {
                    Some(locked) => locked,
                    None => {
                        let confirmed_counts = self
                            .confirmed_locks_clock()
                            .await
                            .is_some_and(|now| self.confirmed_lock_counts(on_chain, now));
                        self.locked_when_finalized(address, row, confirmed_counts)
                            .await?
                    }
                };
                if final_lock {
                    return self
                        .moved(
                            row,
                            from,
                            RequestState::PayoutPending,
                            Changes::default(),
                            "payout_pending",
                        )
                        .await;
                }
            }
            HttpNext::Other
                if on_chain.status == RequestStatus::Locked && !on_chain.is_locked_by(&key) =>
            {
                // Another key locked it (a bridge that was the settlement authority before, or
                // another bridge of the pool): it may be paying; this one never does.
                let reason = locked_by_another(on_chain);
                return self.review(row, from, &reason).await;
            }
            HttpNext::Other => {
                // `begin_payout` has sent every other request the rule refuses to review before
                // this step (another account, a payout mint, unfit to lock, closed): one here is
                // refused by a check it does not know, and a person looks rather than this step
                // waiting on it for ever.
                let reason = "the bridge's rule for paying over HTTP (http_next) refuses this open request, though none of the checks before it did: nothing was locked or paid; a person looks";
                return self.review(row, from, reason).await;
            }
        }
        Ok(Step::Later {
            at_ms: now_ms().saturating_add(LOCK_RECHECK_MS),
            counted_attempt: false,
        })
    }

    /// Why a request is not locked when the program refuses this bridge's key.
    pub(super) fn not_settlement_authority(&self) -> String {
        format!(
            "this bridge's key {} is no longer the pool's settlement authority (an operator transfer or a new exchange configuration moved it): nothing was locked or paid; the pool's new settlement authority pays it, or a person retries it once this key is named again",
            self.authority.pubkey()
        )
    }

    /// Logs and counts what sending a lock transaction (`sent`, for `what`: a request's address
    /// or a batch's size) came to; `Some(reason)` for a manual review when this bridge's key can
    /// no longer lock for the pool.
    pub(super) fn lock_outcome(&self, sent: Result<(), LockNotSent>, what: &str) -> Option<String> {
        match sent {
            Ok(()) => None,
            Err(LockNotSent::NotSettlementAuthority) => Some(self.not_settlement_authority()),
            // A refusal by the program usually means an earlier lock already landed (or, in a
            // batch, that one of its requests was cancelled or locked meanwhile); any other
            // failure (the node, the fee payer, the blockhash) is counted. The next look decides.
            Err(LockNotSent::ProgramRefused(failure)) => {
                tracing::debug!(%what, "lock refused in simulation: {failure}");
                None
            }
            Err(LockNotSent::Failed(failure)) => {
                self.metrics.rpc_failed(&failure);
                tracing::warn!(%what, "lock not sent: {failure}");
                None
            }
        }
    }
}

/// What a quoted request paid over HTTP takes next, from its stored row and its account as
/// read: the one rule that `begin_payout` (through [`Worker::lock_before_paying`]) acts on a
/// request at a time and that the lock batches (`locks.rs`) sort their rows by, so a check added
/// here holds on both paths.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HttpNext {
    /// Send its lock: the stored request, pending, paid off chain (the program's
    /// `check_can_lock`), fit to lock ([`why_not_lock`]).
    Lock,
    /// The stored request, paid off chain and fit to lock, locked by `key`: it moves to
    /// `PayoutPending` once its lock counts as final (`locks::lock_is_final`: by default the
    /// finalized view shows the lock, so no fork can undo it).
    PayOnceFinal,
    /// Anything else (another request's account, a payout mint, unfit to lock, locked by
    /// another key, closed): `begin_payout`'s own step says what.
    Other,
}

/// [`HttpNext`] of the quoted `row`, its account read as `on_chain`, for the bridge's `key`.
pub(super) fn http_next(row: &StoredRequest, on_chain: &ExchangeRequest, key: &Pubkey) -> HttpNext {
    if super::mismatch(row, on_chain).is_some()
        || on_chain.payout_mint.is_some()
        || why_not_lock(on_chain).is_some()
    {
        return HttpNext::Other;
    }
    match on_chain.status {
        RequestStatus::Pending if on_chain.check_can_lock().is_ok() => HttpNext::Lock,
        RequestStatus::Locked if on_chain.is_locked_by(key) => HttpNext::PayOnceFinal,
        _ => HttpNext::Other,
    }
}

/// Why `on_chain` must not be locked for an off-chain payment, if it must not: its currency is
/// one the provider would pay wrongly, or its lock is too short to pay safely.
pub(super) fn why_not_lock(on_chain: &ExchangeRequest) -> Option<String> {
    if let Some(problem) = provider_cannot_pay(on_chain) {
        return Some(problem);
    }
    // A lock that short expires before a payment could safely start: locking would only hold
    // the user's units.
    (on_chain.lock_timeout_seconds <= LOCK_MARGIN_SECONDS * 2).then(|| {
        format!(
            "the request's lock timeout ({} s) is too short to pay off chain safely (at least {} s)",
            on_chain.lock_timeout_seconds,
            LOCK_MARGIN_SECONDS * 2 + 1
        )
    })
}

/// Why a request locked by another key is not paid by this bridge.
fn locked_by_another(on_chain: &ExchangeRequest) -> String {
    format!(
        "the request is locked by another settlement key ({}), which may be paying it: this bridge does not pay it",
        on_chain.locked_by
    )
}

/// How often a lookup that cannot say whether the provider paid is repeated once the request's
/// lock is within its last hour.
const LOCK_ENDING_LOOKUP_MS: i64 = 10_000;

/// When the request's user may cancel it despite its lock, while that is still ahead but within
/// the safety margin at the cluster's time `now` (the lock no longer holds long enough to pay
/// and settle); `None` before the margin begins, and once the lock has ended (an unanswered
/// lookup is then counted toward `max_attempts` again, so it ends in review).
fn lock_expiring(request: &ExchangeRequest, now: i64) -> Option<i64> {
    if lock_holds_long_enough(request, now) {
        return None;
    }
    request
        .cancel_from()
        .ok()
        .flatten()
        .filter(|cancel_from| now < *cancel_from)
}

/// Whether the user of `request` could not cancel it for at least [`LOCK_MARGIN_SECONDS`] from
/// the cluster's time `now` even if a fork undid its lock: a pending request can be cancelled
/// only from its own `cancel_after` (frozen when it was made), so a lock seen only in the
/// confirmed view is then enough to pay on (`lock_commitment = "confirmed"`). Only the pool's
/// settlement authority could settle or reject the request unlocked, and this bridge's key was
/// that authority when it locked it.
pub(super) fn cancel_held_off_without_lock(request: &ExchangeRequest, now: i64) -> bool {
    request.cancel_after.saturating_sub(now) >= LOCK_MARGIN_SECONDS
}

/// Whether the request's lock holds long enough, at the cluster's time `now`, to pay off chain
/// and settle before its user could cancel it anyway.
fn lock_holds_long_enough(request: &ExchangeRequest, now: i64) -> bool {
    let Some(cancel_from) = request.cancel_from().ok().flatten() else {
        return false;
    };
    now <= cancel_from.saturating_sub(LOCK_MARGIN_SECONDS)
}

/// Why a provider cannot be asked to pay the request's quote, if it cannot: the provider reads
/// `amount` in the ISO 4217 minor unit of `currency`, so the request's digits must be ISO's.
fn provider_cannot_pay(on_chain: &ExchangeRequest) -> Option<String> {
    let currency = String::from_utf8_lossy(&on_chain.currency);
    match minor_unit_digits(&on_chain.currency) {
        Some(iso) if iso == on_chain.currency_digits => None,
        Some(iso) => Some(format!(
            "the request counts {currency} in {} digits, ISO 4217 in {iso}: the provider would pay the wrong amount",
            on_chain.currency_digits
        )),
        None => Some(format!(
            "{currency} is not in allot's ISO 4217 table: a person must confirm its {} minor-unit digits before paying",
            on_chain.currency_digits
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request locked at 0 for a day may be paid until an hour before its user could cancel
    /// it, and never once that hour has begun; one not locked, never.
    #[test]
    fn a_payment_starts_only_while_the_lock_has_an_hour_left() {
        let locked = super::super::fixtures::request(1, RequestStatus::Locked);
        let last_moment = 86_400 - LOCK_MARGIN_SECONDS;
        assert!(lock_holds_long_enough(&locked, 0));
        assert!(lock_holds_long_enough(&locked, last_moment));
        assert!(!lock_holds_long_enough(&locked, last_moment + 1));
        let settled = super::super::fixtures::request(2, RequestStatus::Settled);
        assert!(!lock_holds_long_enough(&settled, 0));
        // A lookup that cannot say whether the provider paid is asked again with backoff while
        // the lock has its hour; in its last hour often and uncounted, naming when the user may
        // cancel; once it has ended, with backoff and counted again (a person decides).
        assert_eq!(lock_expiring(&locked, last_moment), None);
        assert_eq!(lock_expiring(&locked, last_moment + 1), Some(86_400));
        assert_eq!(lock_expiring(&locked, 86_399), Some(86_400));
        assert_eq!(lock_expiring(&locked, 86_400), None, "ended: counted again");
        assert_eq!(lock_expiring(&settled, 0), None);
    }

    /// A lock seen only in the confirmed view is enough to pay on (`lock_commitment =
    /// "confirmed"`) only while the request, were a fork to undo its lock, could not be
    /// cancelled for an hour: its own `cancel_after` at least an hour ahead of the cluster's
    /// clock. A request made under a short cancel timeout waits for the finalized view.
    #[test]
    fn a_confirmed_lock_counts_only_while_the_request_could_not_be_cancelled_for_an_hour() {
        let mut locked = super::super::fixtures::request(1, RequestStatus::Locked);
        locked.cancel_after = 7 * 86_400;
        let last_moment = locked.cancel_after - LOCK_MARGIN_SECONDS;
        assert!(cancel_held_off_without_lock(&locked, 0));
        assert!(cancel_held_off_without_lock(&locked, last_moment));
        assert!(!cancel_held_off_without_lock(&locked, last_moment + 1));
        assert!(!cancel_held_off_without_lock(&locked, locked.cancel_after));
        // Made with a minute's cancel timeout: never on a confirmed lock alone.
        locked.cancel_after = 60;
        assert!(!cancel_held_off_without_lock(&locked, 0));
        // The far past and future do not overflow.
        locked.cancel_after = i64::MAX;
        assert!(cancel_held_off_without_lock(&locked, i64::MIN));
        locked.cancel_after = i64::MIN;
        assert!(!cancel_held_off_without_lock(&locked, i64::MAX));
    }

    /// The HTTP path's rule: a pending request is locked and one locked by this key is paid once
    /// final; anything else (another key's lock, a payout mint, another request's account, a lock
    /// too short, a closed request) neither.
    #[test]
    fn only_the_stored_request_fit_to_lock_is_locked_and_paid() {
        use super::super::fixtures::{request, row_of};
        let key = Pubkey::new_unique();
        let pending = request(1, RequestStatus::Pending);
        let row = row_of(&pending);
        assert_eq!(http_next(&row, &pending, &key), HttpNext::Lock);
        let mut locked = ExchangeRequest {
            status: RequestStatus::Locked,
            locked_by: key,
            ..pending.clone()
        };
        assert_eq!(http_next(&row, &locked, &key), HttpNext::PayOnceFinal);
        assert_eq!(
            http_next(&row, &locked, &Pubkey::new_unique()),
            HttpNext::Other,
            "another key's lock"
        );
        let others = [
            ExchangeRequest {
                payout_mint: Some(Pubkey::new_unique()),
                ..locked.clone()
            },
            ExchangeRequest {
                quoted: locked.quoted + 1,
                ..locked.clone()
            },
            ExchangeRequest {
                lock_timeout_seconds: LOCK_MARGIN_SECONDS * 2,
                ..locked.clone()
            },
            ExchangeRequest {
                status: RequestStatus::Settled,
                ..locked.clone()
            },
            ExchangeRequest {
                payout_mint: Some(Pubkey::new_unique()),
                ..pending.clone()
            },
            ExchangeRequest {
                status: RequestStatus::Cancelled,
                ..pending.clone()
            },
        ];
        for other in &others {
            assert_eq!(http_next(&row, other, &key), HttpNext::Other, "{other:?}");
        }
        locked.lock_timeout_seconds = LOCK_MARGIN_SECONDS * 2 + 1;
        assert_eq!(http_next(&row, &locked, &key), HttpNext::PayOnceFinal);
    }
}
