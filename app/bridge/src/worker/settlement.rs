//! Settle transactions: the settlement of a provider's payment, storing and sending a new
//! transaction (`send_new`, shared with the on-chain batches of `onchain_settles.rs`), and
//! following a sent transaction until it lands or provably expires.
//!
//! Paid requests of one pool are settled together: the worker that takes one (the lead) claims
//! the others (its companions), and one transaction settles as many as fit — all of them or
//! none, each with its own event. Every row stores the same bytes and signature, and the first
//! to see the transaction land records all of them settled. (Requests paid on chain are settled
//! by `onchain_settles.rs`, a hundred quoted ones to a read.)

use allot::state::{ExchangeRequest, RequestStatus};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_sdk::signature::Signer;

use super::{
    CLAIM_MS, COMPANION_FOLLOW_LAG_MS, PayoutAdapter, RESEND_AFTER_MS, SETTLE_RECHECK_MS, Step,
    Worker, mismatch,
};
use crate::crash::crash_point;
use crate::rpc_failure::RpcFailure;
use crate::settle::{self, SettleOrder, SettleStatus, SignedSettle};
use crate::state::RequestState;
use crate::store::{Changes, StoredRequest, now_ms};

/// How long a settlement that failed on paused transfers waits before the mints are read again.
const PAUSED_RECHECK_MS: i64 = 15_000;

impl Worker<'_> {
    /// `Paid`: signs, stores and sends the settle transaction that records the provider's
    /// payment on chain.
    pub(super) async fn settle_paid(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let state = RequestState::Paid;
        let Some(on_chain) = self.on_chain(address).await? else {
            return self
                .review(row, state, "paid, but the request account is gone")
                .await;
        };
        if let Some(step) = self.unless_same(row, state, &on_chain).await? {
            return Ok(step);
        }
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
        let lead = SettleOrder {
            request: on_chain,
            reference: settle::payout_reference(payment_id),
            payout: None,
        };
        self.settle_together(row, state, lead).await
    }

    /// Settles `row` (its order `lead`) in one transaction with as many of its pool's other
    /// requests waiting in `from` as fit. A companion that cannot be settled now is let go for
    /// its own step to decide.
    async fn settle_together(
        &self,
        row: &StoredRequest,
        from: RequestState,
        lead: SettleOrder,
    ) -> Result<Step> {
        let limit = settle::max_settles(lead.units()).saturating_sub(1);
        let companions = self
            .store
            .claim_companions(self.name, &row.address, &row.pool, from, limit, CLAIM_MS)
            .await?;
        let result = self.settle_with(row, from, lead, &companions).await;
        if result.is_err() {
            self.release_all(&companions).await;
        }
        result
    }

    /// Signs, stores and sends one transaction settling `lead` and the companions that can be
    /// settled with it; the others are released, the ones sent deferred like the lead.
    async fn settle_with(
        &self,
        row: &StoredRequest,
        from: RequestState,
        lead: SettleOrder,
        companions: &[StoredRequest],
    ) -> Result<Step> {
        let mut orders = vec![lead];
        let mut riders = Vec::new();
        for (companion, order) in companions
            .iter()
            .zip(self.companion_orders(from, companions).await?)
        {
            match order {
                Some(order) => {
                    orders.push(order);
                    riders.push(companion);
                }
                None => {
                    self.store
                        .release_claim(&companion.address, self.name)
                        .await?
                }
            }
        }
        let (signed, count) = self.sign(&orders).await?;
        let (sent, left) = riders.split_at(count.saturating_sub(1).min(riders.len()));
        for companion in left {
            self.store
                .release_claim(&companion.address, self.name)
                .await?;
        }
        let mut addresses = vec![row.address.clone()];
        addresses.extend(sent.iter().map(|c| c.address.clone()));
        let step = self.send_new(&addresses, from, signed).await?;
        for companion in sent {
            match step {
                Step::Later { at_ms, .. } => {
                    let follow_at = at_ms.saturating_add(COMPANION_FOLLOW_LAG_MS);
                    self.store
                        .defer(&companion.address, self.name, follow_at, false)
                        .await?
                }
                _ => {
                    self.store
                        .release_claim(&companion.address, self.name)
                        .await?
                }
            }
        }
        Ok(step)
    }

    /// The settle order of each companion (claimed rows in `from`, of the lead's pool), read in
    /// one call; `None` for one that cannot be settled now (no longer open, not what its row
    /// says, or not paid over HTTP).
    async fn companion_orders(
        &self,
        from: RequestState,
        companions: &[StoredRequest],
    ) -> Result<Vec<Option<SettleOrder>>> {
        let found = self.read_companions(companions).await?;
        let mut orders = Vec::with_capacity(companions.len());
        for (companion, on_chain) in companions.iter().zip(found) {
            let open = on_chain.filter(|r| {
                matches!(r.status, RequestStatus::Pending | RequestStatus::Locked)
                    && mismatch(companion, r).is_none()
            });
            orders.push(match (from, open) {
                (RequestState::Paid, Some(request)) => {
                    companion
                        .payment_id
                        .as_deref()
                        .map(|payment_id| SettleOrder {
                            request,
                            reference: settle::payout_reference(payment_id),
                            payout: None,
                        })
                }
                _ => None,
            });
        }
        Ok(orders)
    }

    /// Reads the stored settle transaction's fate and acts on it.
    pub(super) async fn follow_settle(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let Some((signature, last_valid)) = sent_settle(row)? else {
            return self.follow_settle_status(row, address, None).await;
        };
        let status = settle::status(
            self.chain.client(),
            signature,
            last_valid,
            self.settled_at(),
        )
        .await;
        self.follow_settle_status(row, address, Some(status)).await
    }

    /// Acts on the fate of `row`'s stored settle transaction, as read (`None`: `row` stores no
    /// transaction, which a person must look at).
    pub(super) async fn follow_settle_status(
        &self,
        row: &StoredRequest,
        address: Pubkey,
        status: Option<Result<SettleStatus, RpcFailure>>,
    ) -> Result<Step> {
        let state = RequestState::SettleSent;
        let (Some(signature), Some(base64), Some(status)) = (
            row.settle_signature.as_deref(),
            row.settle_tx.as_deref(),
            status,
        ) else {
            return self
                .review(row, state, "settle sent without a stored transaction")
                .await;
        };
        match self.metrics.counted(status)? {
            SettleStatus::Succeeded => {
                let step = self.settled(row, state).await?;
                self.settle_companions(signature, row).await?;
                Ok(step)
            }
            // Seen in a block (`Processed`): sending its bytes again would only load the node.
            // Not seen yet (`InFlight`): the node retries what it was sent on its own, so the
            // same bytes are sent again only once the last send, by any worker, is
            // RESEND_AFTER_MS old.
            status @ (SettleStatus::Processed | SettleStatus::InFlight) => {
                let now = now_ms();
                if status == SettleStatus::InFlight
                    && self
                        .store
                        .take_resend(signature, now, RESEND_AFTER_MS)
                        .await?
                {
                    self.metrics
                        .counted(settle::send(self.chain.client(), base64).await)?;
                    // A resend is a broadcast as the first send is: a transaction stored
                    // before a kill at `settle_sent` is resent here (or, once expired, signed
                    // again and sent new by `send_new`).
                    crash_point("settle_broadcast");
                }
                Ok(Step::Later {
                    at_ms: now.saturating_add(SETTLE_RECHECK_MS),
                    counted_attempt: false,
                })
            }
            // A batch fails as a whole when one of its settlements fails: nothing moved, and each
            // request is settled again on its own (the one at fault then fails alone).
            SettleStatus::Failed(error) if settle::settles_in(base64) > 1 => {
                tracing::warn!(address = %row.address, "the batched settle transaction {signature} failed ({error}); settling alone");
                self.after_expiry(row, address).await
            }
            SettleStatus::Failed(error) => match self
                .on_chain(address)
                .await?
                .filter(|r| mismatch(row, r).is_none())
                .map(|r| r.status)
            {
                Some(RequestStatus::Settled) => self.settled(row, state).await,
                _ => {
                    let reason = format!("the settle transaction {signature} failed: {error}");
                    self.review(row, state, &reason).await
                }
            },
            SettleStatus::Expired => self.after_expiry(row, address).await,
            // Nothing moved: the pool's operator paused its units (or the payout mint's issuer
            // paused it). No review: the request settles once they move again.
            SettleStatus::Paused(error) => {
                if self.still_paused(address).await? {
                    tracing::warn!(address = %row.address, "the settle transaction {signature} failed because transfers are paused ({error}); settling again once they resume");
                    return Ok(Step::Later {
                        at_ms: now_ms().saturating_add(PAUSED_RECHECK_MS),
                        counted_attempt: false,
                    });
                }
                self.after_expiry(row, address).await
            }
        }
    }

    /// Whether a mint the request at `address` moves is still paused (Token-2022's Pausable):
    /// its pool's mint, or its payout mint when paid on chain.
    async fn still_paused(&self, address: Pubkey) -> Result<bool> {
        use allot_client::chain::Chain as _;
        let Some(request) = self.on_chain(address).await? else {
            return Ok(false);
        };
        let mut mints = vec![allot_client::pdas::mint(&request.pool)];
        mints.extend(request.payout_mint);
        let found = self
            .chain
            .accounts(mints)
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?;
        Ok(found
            .iter()
            .flatten()
            .any(|mint| allot_client::token::transfers_paused(&mint.data) == Some(true)))
    }

    /// The stored settle transaction expired unseen, or was a batch that failed (either way it
    /// moved nothing and never will): the request account decides — settled after all, a new
    /// transaction of its own under the same terms, or withdrawn.
    async fn after_expiry(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let state = RequestState::SettleSent;
        let Some(on_chain) = self.on_chain(address).await? else {
            return self.review(row, state, "the request account is gone").await;
        };
        if let Some(step) = self.unless_same(row, state, &on_chain).await? {
            return Ok(step);
        }
        match on_chain.status {
            RequestStatus::Settled => self.settled(row, state).await,
            RequestStatus::Pending | RequestStatus::Locked => {
                tracing::info!(address = %row.address, "settle transaction expired unseen; signing a new one");
                // How this request is paid was fixed when it was first settled: a provider
                // payment (payment id stored) never gets an on-chain transfer.
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
                let order = SettleOrder {
                    request: on_chain,
                    reference,
                    payout,
                };
                let (signed, _) = self.sign(std::slice::from_ref(&order)).await?;
                self.send_new(std::slice::from_ref(&row.address), state, signed)
                    .await
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
                    let reason =
                        format!("paid, but the request was {other:?} on chain before settlement");
                    self.review(row, state, &reason).await
                }
            },
        }
    }

    /// Stores `signed` in the rows at `addresses` (all claimed, all in `from`; before it is ever
    /// sent), then sends it.
    pub(super) async fn send_new(
        &self,
        addresses: &[String],
        from: RequestState,
        signed: SignedSettle,
    ) -> Result<Step> {
        let changes = Changes {
            settle_tx: Some(signed.base64.clone()),
            settle_signature: Some(signed.signature.clone()),
            settle_last_valid_height: Some(
                i64::try_from(signed.last_valid_height).context("block height")?,
            ),
            settle_sent_ms: Some(now_ms()),
            ..Changes::default()
        };
        if !self
            .store
            .transition_all(
                addresses,
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

    /// The program owning `account` (a mint's token program).
    pub(super) async fn owner_of(&self, account: Pubkey) -> Result<Pubkey> {
        use allot_client::chain::Chain as _;
        let found = self
            .chain
            .account(account)
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?
            .with_context(|| format!("account {account} is not on chain"))?;
        Ok(found.owner)
    }

    /// Signs one transaction settling the longest prefix of `orders` that fits; returns it and
    /// how many it settles.
    pub(super) async fn sign(&self, orders: &[SettleOrder]) -> Result<(SignedSettle, usize)> {
        self.metrics
            .counted(settle::sign(self.chain.client(), self.recent, self.authority, orders).await)
    }

    /// The ExchangeRequest accounts of `rows`, read in one call; `None` for one that is not
    /// there, is not an exchange request, or whose stored address does not parse (it is left to
    /// its own step, which says why).
    async fn read_companions(
        &self,
        rows: &[StoredRequest],
    ) -> Result<Vec<Option<ExchangeRequest>>> {
        Ok(self
            .read_each(rows)
            .await?
            .into_iter()
            .map(|read| read.ok().and_then(|(_, request)| request))
            .collect())
    }

    /// Lets go of this worker's claims on `rows` after a failed batch, logging (not returning)
    /// a failure to do so: the batch's own error is the one to report.
    async fn release_all(&self, rows: &[StoredRequest]) {
        for row in rows {
            if let Err(error) = self.store.release_claim(&row.address, self.name).await {
                tracing::warn!(address = %row.address, "claim not released: {error}");
            }
        }
    }

    /// Records settled the other requests the transaction `signature` (which settled `lead`)
    /// carried, with their latencies.
    async fn settle_companions(&self, signature: &str, lead: &StoredRequest) -> Result<()> {
        let discovered = self
            .store
            .settle_companions(signature, &lead.address, self.name)
            .await?;
        let now = now_ms();
        for discovered_at_ms in discovered {
            self.observe_latency(discovered_at_ms, now);
        }
        Ok(())
    }
}

/// The signature and last valid block height of the settle transaction `row` stores; `None`
/// when it stores none (or only part of one).
pub(super) fn sent_settle(row: &StoredRequest) -> Result<Option<(&str, u64)>> {
    match (
        row.settle_signature.as_deref(),
        row.settle_tx.as_deref(),
        row.settle_last_valid_height,
    ) {
        (Some(signature), Some(_), Some(last_valid)) => Ok(Some((
            signature,
            u64::try_from(last_valid).context("stored block height")?,
        ))),
        _ => Ok(None),
    }
}
