//! The payout worker: claims one open request at a time and moves it along the state machine
//! (see [`crate::state`]), storing each step before the next outside effect. Every step can be
//! interrupted and redone: the provider sees the same idempotency key, and the chain sees the
//! same stored settle transaction until it has provably expired.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::accounts;
use allot_client::currency::minor_unit_digits;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};

use crate::config::FeePolicy;
use crate::crash::crash_point;
use crate::http_provider::{HttpProvider, LookupOutcome, PayoutOrder, PayoutOutcome};
use crate::metrics::Metrics;
use crate::rpc_failure::RpcResultExt as _;
use crate::settle::{self, SettleStatus, SignedSettle};
use crate::state::RequestState;
use crate::store::{Changes, Store, StoredRequest, now_ms};

/// How long a claim holds without renewal.
pub const CLAIM_MS: i64 = 60_000;
/// The pause before a sent settle transaction's status is read again.
const SETTLE_RECHECK_MS: i64 = 800;
/// Pay off chain only while at least this much of the request's lock is left (seconds), checked
/// before every provider call: the user may cancel a locked request once its lock expires.
const LOCK_MARGIN_SECONDS: i64 = 3_600;
/// The pause before a request being locked is looked at again.
const LOCK_RECHECK_MS: i64 = 1_000;
/// How long a request whose account is not visible is retried before manual review.
const MISSING_GRACE_MS: i64 = 300_000;

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
    /// How lock and settle transactions pay for priority.
    pub fees: FeePolicy,
}

impl Worker<'_> {
    /// Works on due requests until none is left or `stop` says so; returns how many were taken.
    pub async fn drain(&self, stop: &dyn Fn() -> bool) -> Result<usize> {
        let mut taken = 0;
        while !stop() {
            let Some(claimed) = self.store.claim_next(self.name, CLAIM_MS).await? else {
                break;
            };
            taken += 1;
            let address = claimed.address.clone();
            if let Err(error) = self.advance(claimed).await {
                tracing::warn!(%address, "request not advanced: {error:#}");
                self.store
                    .defer(&address, self.name, now_ms().saturating_add(2_000), false)
                    .await?;
            }
        }
        Ok(taken)
    }

    /// Takes steps on `claimed` until it is final, waits, or is lost.
    async fn advance(&self, mut claimed: StoredRequest) -> Result<()> {
        loop {
            match self.step(&claimed).await? {
                Step::Moved => {
                    claimed = self
                        .store
                        .request(&claimed.address)
                        .await?
                        .context("a stored request vanished")?;
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

    /// One step of `row`.
    async fn step(&self, row: &StoredRequest) -> Result<Step> {
        let state = row.state()?;
        let address: Pubkey = row.address.parse().context("stored address")?;
        match state {
            RequestState::Discovered => {
                let Some(on_chain) = self.on_chain(address).await? else {
                    return self.missing(row, state).await;
                };
                if let Some(step) = self.unless_open(row, state, &on_chain).await? {
                    return Ok(step);
                }
                if let Some(mismatch) = mismatch(row, &on_chain) {
                    return self.review(row, state, &mismatch).await;
                }
                let quote = i64::try_from(on_chain.quoted).context("quote out of range")?;
                let changes = Changes {
                    quote: Some(quote),
                    ..Changes::default()
                };
                self.moved(row, state, RequestState::Quoted, changes, "quoted")
                    .await
            }
            RequestState::Quoted => {
                let Some(on_chain) = self.on_chain(address).await? else {
                    return self.missing(row, state).await;
                };
                if let Some(step) = self.unless_open(row, state, &on_chain).await? {
                    return Ok(step);
                }
                // How the request is paid is a term frozen in it when the user signed.
                match (self.payout, on_chain.payout_mint) {
                    (PayoutAdapter::Onchain { treasury }, Some(payout_mint)) => {
                        let mint_program = self.owner_of(payout_mint).await?;
                        let payout = settle::onchain_payout(
                            &on_chain,
                            &self.authority.pubkey(),
                            mint_program,
                            *treasury,
                        );
                        let reference = settle::payout_reference(&row.address);
                        let signed = self.sign(&on_chain, reference, payout).await?;
                        self.send_new(row, state, signed).await
                    }
                    (PayoutAdapter::Http { .. }, None) => {
                        if let Some(problem) = provider_cannot_pay(&on_chain) {
                            return self.review(row, state, &problem).await;
                        }
                        if on_chain.lock_timeout_seconds <= LOCK_MARGIN_SECONDS * 2 {
                            // A lock that short expires before a payment could safely start:
                            // locking would only hold the user's units.
                            let reason = format!(
                                "the request's lock timeout ({} s) is too short to pay off chain safely (at least {} s)",
                                on_chain.lock_timeout_seconds,
                                LOCK_MARGIN_SECONDS * 2 + 1
                            );
                            return self.review(row, state, &reason).await;
                        }
                        self.lock_for_payout(row, state, address, &on_chain).await
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
            RequestState::PayoutPending => {
                let PayoutAdapter::Http {
                    provider,
                    max_attempts,
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
                // Pay only what is locked: the user cannot cancel a locked request until its
                // lock expires, so no cancel can race this payment.
                let on_chain = self.on_chain(address).await?;
                let locked = match on_chain {
                    Some(request) if request.status == RequestStatus::Locked => request,
                    other => {
                        let reason = format!(
                            "the request is {} on chain while its payout is pending (it should be locked): check the provider for key {}",
                            other
                                .as_ref()
                                .map_or("gone".into(), |r| format!("{:?}", r.status)),
                            crate::http_provider::idempotency_key(&row.address)
                        );
                        return self.review(row, state, &reason).await;
                    }
                };
                if row.payout_attempts >= i64::from(*max_attempts) {
                    let reason = format!(
                        "the payment provider gave no payment id, and no answer on whether it paid, in {} attempts: check key {}",
                        row.payout_attempts,
                        crate::http_provider::idempotency_key(&row.address)
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
                // Ask before paying twice: after any earlier attempt (a timeout, a crash after
                // the call), the provider's ledger says what became of it.
                if row.payout_attempts > 0 {
                    let lookup = provider.lookup(&row.address).await;
                    self.metrics
                        .payout_outcomes
                        .with_label_values(&[lookup.metric_label()])
                        .inc();
                    match lookup {
                        LookupOutcome::NotFound => {}
                        LookupOutcome::Paid {
                            payment_id,
                            amount_minor_units,
                        } if amount_minor_units == order.amount => {
                            return self.provider_paid(row, state, payment_id).await;
                        }
                        LookupOutcome::Paid {
                            payment_id,
                            amount_minor_units,
                        } => {
                            let reason = format!(
                                "the provider paid {amount_minor_units} minor units (payment {payment_id}), not the quote {}",
                                order.amount
                            );
                            return self.review(row, state, &reason).await;
                        }
                        LookupOutcome::Failed { payment_id } => {
                            let reason = format!(
                                "the provider's payment {payment_id} failed: a person decides whether to retry (review retry) or reject"
                            );
                            return self.review(row, state, &reason).await;
                        }
                        LookupOutcome::InProgress => {
                            return Ok(self.payout_later(
                                row,
                                "the provider is still paying",
                                true,
                            ));
                        }
                        LookupOutcome::Inconclusive(reason) => {
                            return Ok(self.payout_later(row, &reason, true));
                        }
                    }
                }
                // A new call only while the lock holds long enough to settle after it (a payment
                // found by the lookup above is settled whatever is left of the lock).
                if !self.lock_holds_long_enough(&locked).await? {
                    let reason = format!(
                        "the request's lock expires too soon to start a payment safely (no payment under key {} so far)",
                        crate::http_provider::idempotency_key(&row.address)
                    );
                    return self.review(row, state, &reason).await;
                }
                // The attempt is counted (and the claim renewed for longer than the call's
                // bounded timeout) before the call: a crash after it leads to a lookup first.
                if !self
                    .store
                    .start_payout_attempt(&row.address, self.name, CLAIM_MS)
                    .await?
                {
                    return Ok(Step::Done);
                }
                let outcome = provider.pay(&order).await;
                self.metrics
                    .payout_outcomes
                    .with_label_values(&[outcome.metric_label()])
                    .inc();
                match outcome {
                    PayoutOutcome::Paid { payment_id } => {
                        self.provider_paid(row, state, payment_id).await
                    }
                    PayoutOutcome::Retry(reason) => {
                        // Before the lookup that follows, give the provider at least its call
                        // timeout to record what it may have accepted.
                        let mut later = self.payout_later(row, &reason, false);
                        if let Step::Later { at_ms, .. } = &mut later {
                            let quiet =
                                i64::try_from(provider.timeout().as_millis()).unwrap_or(i64::MAX);
                            *at_ms = (*at_ms).max(now_ms().saturating_add(quiet));
                        }
                        Ok(later)
                    }
                    PayoutOutcome::Refused(reason) => self.review(row, state, &reason).await,
                }
            }
            RequestState::Paid => {
                let Some(on_chain) = self.on_chain(address).await? else {
                    return self
                        .review(row, state, "paid, but the request account is gone")
                        .await;
                };
                match on_chain.status {
                    RequestStatus::Pending | RequestStatus::Locked => {}
                    RequestStatus::Settled => return self.settled(row, state).await,
                    other => {
                        let reason = format!("paid, but the request was {other:?} on chain");
                        return self.review(row, state, &reason).await;
                    }
                }
                let payment_id = row
                    .payment_id
                    .as_deref()
                    .context("paid without a payment id")?;
                let signed = self
                    .sign(&on_chain, settle::payout_reference(payment_id), None)
                    .await?;
                self.send_new(row, state, signed).await
            }
            RequestState::SettleSent => self.follow_settle(row, address).await,
            RequestState::Settled | RequestState::Withdrawn | RequestState::ManualReview => {
                Ok(Step::Done)
            }
        }
    }

    /// Reads the stored settle transaction's fate and acts on it.
    async fn follow_settle(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let state = RequestState::SettleSent;
        let (Some(signature), Some(base64), Some(last_valid)) = (
            row.settle_signature.as_deref(),
            row.settle_tx.as_deref(),
            row.settle_last_valid_height,
        ) else {
            return self
                .review(row, state, "settle sent without a stored transaction")
                .await;
        };
        let last_valid = u64::try_from(last_valid).context("stored block height")?;
        match self
            .metrics
            .counted(settle::status(self.chain.client(), signature, last_valid).await)?
        {
            SettleStatus::Succeeded => self.settled(row, state).await,
            SettleStatus::InFlight => {
                self.metrics
                    .counted(settle::send(self.chain.client(), base64).await)?;
                Ok(Step::Later {
                    at_ms: now_ms().saturating_add(SETTLE_RECHECK_MS),
                    counted_attempt: false,
                })
            }
            SettleStatus::Failed(error) => match self.on_chain(address).await?.map(|r| r.status) {
                Some(RequestStatus::Settled) => self.settled(row, state).await,
                _ => {
                    let reason = format!("the settle transaction {signature} failed: {error}");
                    self.review(row, state, &reason).await
                }
            },
            SettleStatus::Expired => {
                let Some(on_chain) = self.on_chain(address).await? else {
                    return self.review(row, state, "the request account is gone").await;
                };
                match on_chain.status {
                    RequestStatus::Settled => self.settled(row, state).await,
                    RequestStatus::Pending | RequestStatus::Locked => {
                        tracing::info!(address = %row.address, "settle transaction expired unseen; signing a new one");
                        // How this request is paid was fixed when it was first settled: a
                        // provider payment (payment id stored) never gets an on-chain transfer.
                        let payout = match (self.payout, &row.payment_id, on_chain.payout_mint) {
                            (_, Some(_), _) => None,
                            (PayoutAdapter::Onchain { treasury }, None, Some(mint)) => {
                                let program = self.owner_of(mint).await?;
                                settle::onchain_payout(
                                    &on_chain,
                                    &self.authority.pubkey(),
                                    program,
                                    *treasury,
                                )
                            }
                            _ => {
                                return self
                                    .review(row, state, "an on-chain payout's settle transaction expired, and the bridge is no longer configured to pay this request on chain")
                                    .await;
                            }
                        };
                        let reference = match &row.payment_id {
                            Some(payment_id) => settle::payout_reference(payment_id),
                            None => settle::payout_reference(&row.address),
                        };
                        let signed = self.sign(&on_chain, reference, payout).await?;
                        self.send_new(row, state, signed).await
                    }
                    other => match row.payment_id {
                        // Nothing moved: the payout was inside the transaction that never landed.
                        None => {
                            self.moved(
                                row,
                                state,
                                RequestState::Withdrawn,
                                Changes::default(),
                                "withdrawn",
                            )
                            .await
                        }
                        Some(_) => {
                            let reason = format!(
                                "paid, but the request was {other:?} on chain before settlement"
                            );
                            self.review(row, state, &reason).await
                        }
                    },
                }
            }
        }
    }

    /// Stores `signed` (before it is ever sent), then sends it.
    async fn send_new(
        &self,
        row: &StoredRequest,
        from: RequestState,
        signed: SignedSettle,
    ) -> Result<Step> {
        let changes = Changes {
            settle_tx: Some(signed.base64.clone()),
            settle_signature: Some(signed.signature.clone()),
            settle_last_valid_height: Some(
                i64::try_from(signed.last_valid_height).context("block height")?,
            ),
            ..Changes::default()
        };
        if !self
            .store
            .transition(
                &row.address,
                self.name,
                from,
                RequestState::SettleSent,
                changes,
                CLAIM_MS,
            )
            .await?
        {
            return Ok(Step::Done);
        }
        crash_point("settle_sent");
        self.metrics
            .counted(settle::send(self.chain.client(), &signed.base64).await)?;
        crash_point("settle_broadcast");
        Ok(Step::Later {
            at_ms: now_ms().saturating_add(SETTLE_RECHECK_MS),
            counted_attempt: false,
        })
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
        if self
            .store
            .transition(&row.address, self.name, from, to, changes, CLAIM_MS)
            .await?
        {
            tracing::info!(address = %row.address, %from, %to, "request moved");
            crash_point(point);
            Ok(if to.is_final() {
                Step::Done
            } else {
                Step::Moved
            })
        } else {
            Ok(Step::Done)
        }
    }

    /// Records the provider's payment id: the request is paid.
    async fn provider_paid(
        &self,
        row: &StoredRequest,
        from: RequestState,
        payment_id: String,
    ) -> Result<Step> {
        crash_point("payout_called");
        let changes = Changes {
            payment_id: Some(payment_id),
            ..Changes::default()
        };
        self.moved(row, from, RequestState::Paid, changes, "paid")
            .await
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

    /// Records the settlement and its latency.
    async fn settled(&self, row: &StoredRequest, from: RequestState) -> Result<Step> {
        let now = now_ms();
        let changes = Changes {
            settled_at_ms: Some(now),
            ..Changes::default()
        };
        let step = self
            .moved(row, from, RequestState::Settled, changes, "settled")
            .await?;
        let seconds = now.saturating_sub(row.discovered_at_ms).max(0) as f64 / 1000.0;
        self.metrics.payout_latency.observe(seconds);
        Ok(step)
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

    /// An off-chain payment starts only for a request locked on chain, so its user can no longer
    /// cancel it (and take the units back) while the money moves. Sends the lock while the
    /// request is pending; moves on to paying once the finalized view shows it locked (a lock
    /// that no fork can undo).
    async fn lock_for_payout(
        &self,
        row: &StoredRequest,
        from: RequestState,
        address: Pubkey,
        on_chain: &ExchangeRequest,
    ) -> Result<Step> {
        match on_chain.status {
            RequestStatus::Pending => {
                let signed = self.metrics.counted(
                    settle::sign_lock(self.chain.client(), self.authority, on_chain, self.fees)
                        .await,
                )?;
                if let Err(failure) = settle::send_lock(self.chain.client(), &signed).await {
                    // A refusal in simulation usually means an earlier lock already landed; any
                    // other failure (the node, the fee payer) is counted. The next look decides.
                    if failure.to_string().contains("simulation failed") {
                        tracing::debug!(address = %row.address, "lock refused in simulation: {failure}");
                    } else {
                        self.metrics.rpc_failed(&failure);
                        tracing::warn!(address = %row.address, "lock not sent: {failure}");
                    }
                }
            }
            RequestStatus::Locked if self.locked_when_finalized(address).await? => {
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
            _ => {}
        }
        Ok(Step::Later {
            at_ms: now_ms().saturating_add(LOCK_RECHECK_MS),
            counted_attempt: false,
        })
    }

    /// Whether the finalized view of the chain shows the request locked.
    async fn locked_when_finalized(&self, address: Pubkey) -> Result<bool> {
        let found = self.metrics.counted(
            self.chain
                .client()
                .get_account_with_commitment(&address, CommitmentConfig::finalized())
                .await
                .method("getAccountInfo"),
        )?;
        let Some(account) = found.value else {
            return Ok(false);
        };
        let request = accounts::decode::<ExchangeRequest>(address, &account.data)
            .with_context(|| format!("the account at {address} is not an exchange request"))?;
        Ok(request.status == RequestStatus::Locked)
    }

    /// Whether the request's lock holds long enough to pay off chain and settle before its user
    /// could cancel it anyway.
    async fn lock_holds_long_enough(&self, request: &ExchangeRequest) -> Result<bool> {
        let now = self.chain_time().await?;
        let Some(cancel_from) = request.cancel_from().ok().flatten() else {
            return Ok(false);
        };
        Ok(now <= cancel_from.saturating_sub(LOCK_MARGIN_SECONDS))
    }

    /// The ExchangeRequest account at `address`.
    async fn on_chain(&self, address: Pubkey) -> Result<Option<ExchangeRequest>> {
        accounts::fetch::<ExchangeRequest>(self.chain, address)
            .await
            .map_err(|error| self.metrics.failed_call("getAccountInfo", error))
    }

    /// The program owning `account` (a mint's token program).
    async fn owner_of(&self, account: Pubkey) -> Result<Pubkey> {
        use allot_client::chain::Chain as _;
        let found = self
            .chain
            .account(account)
            .await
            .map_err(|error| self.metrics.failed_call("getAccountInfo", error))?
            .with_context(|| format!("account {account} is not on chain"))?;
        Ok(found.owner)
    }

    /// The cluster's clock.
    async fn chain_time(&self) -> Result<i64> {
        use allot_client::chain::Chain as _;
        self.chain
            .unix_timestamp()
            .await
            .map_err(|error| self.metrics.failed_call("getAccountInfo", error))
    }

    /// Signs the settle transaction of `request`.
    async fn sign(
        &self,
        request: &ExchangeRequest,
        reference: [u8; 32],
        payout: Option<allot_client::instructions::OnChainPayout>,
    ) -> Result<SignedSettle> {
        self.metrics.counted(
            settle::sign(
                self.chain.client(),
                self.authority,
                request,
                reference,
                payout,
                self.fees,
            )
            .await,
        )
    }
}

/// Why the account does not match the stored request, if it does not: who, what, the quote and
/// its currency must agree.
fn mismatch(row: &StoredRequest, on_chain: &ExchangeRequest) -> Option<String> {
    let currency = String::from_utf8_lossy(&on_chain.currency);
    let same = on_chain.user.to_string() == row.user_key
        && on_chain.pool.to_string() == row.pool
        && i64::try_from(on_chain.id).ok() == Some(row.request_id)
        && i64::try_from(on_chain.amount).ok() == Some(row.amount)
        && i64::try_from(on_chain.quoted).ok() == Some(row.quoted)
        && currency == row.currency;
    if !same {
        return Some(format!(
            "the account (user {}, amount {}, quote {} {currency}) differs from the event (user {}, amount {}, quote {} {})",
            on_chain.user,
            on_chain.amount,
            on_chain.quoted,
            row.user_key,
            row.amount,
            row.quoted,
            row.currency
        ));
    }
    None
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
