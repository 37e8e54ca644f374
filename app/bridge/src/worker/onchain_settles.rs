//! Requests paid on chain, once quoted, are settled a batch at a time: one that falls due takes
//! along the other quoted ones due now, up to one `getMultipleAccounts` call, all read in that
//! call; those still open and matching their rows are settled together, each pool's as many to a
//! transaction as fit (`settle::sign`), every transaction stored in its rows before it is sent
//! (`send_new`), as when a lead settles with its companions (`settlement.rs`). Before, each lead
//! read itself, its mint's owner and its two companions, then signed, stored, sent and deferred
//! them before the lane took the next: a backlog of 2,000 settled at about 17 transactions a
//! second over eight lanes (`bridge_figures` run 9, docs/figures.md). Any other request (no
//! longer open, not its row's request, not paid in a mint) takes its usual step.

use std::collections::BTreeMap;

use allot::state::{ExchangeRequest, RequestStatus};
use anchor_lang::prelude::Pubkey;
use anyhow::{Result, bail};
use solana_sdk::signature::Signer as _;

use super::{CLAIM_MS, COMPANION_FOLLOW_LAG_MS, PayoutAdapter, Step, Worker, mismatch};
use crate::settle::{self, SettleOrder};
use crate::state::RequestState;
use crate::store::{StoredRequest, now_ms};

/// Most requests settled together: what one `getMultipleAccounts` call answers.
const SETTLE_BATCH: usize = 100;

/// The pause before a batch whose transaction could not be signed, stored or sent is tried
/// again.
const RETRY_MS: i64 = 2_000;

impl Worker<'_> {
    /// Whether `row` is a quoted request and this bridge pays on chain: its next step is its
    /// settlement with its payout.
    pub(super) fn settles_on_chain_in_batches(&self, row: &StoredRequest) -> bool {
        matches!(self.payout, PayoutAdapter::Onchain { .. })
            && row.state().ok() == Some(RequestState::Quoted)
    }

    /// Settles `lead` and up to [`SETTLE_BATCH`]` - 1` other due quoted requests, their
    /// accounts read together; returns how many were stepped. A failed read lets the whole batch
    /// go, due again in two seconds; a failure on one request defers it alone; a transaction
    /// that cannot be signed, stored or sent defers its requests and the pool's after it; a
    /// batch running past half its claims' time, or told to `stop`, lets the requests it has not
    /// reached go (those already ordered are still settled).
    pub(super) async fn advance_onchain_settles(
        &self,
        lead: StoredRequest,
        stop: &dyn Fn() -> bool,
    ) -> Result<usize> {
        let started = now_ms();
        let rows = self
            .with_due_others(
                lead,
                &[RequestState::Quoted],
                SETTLE_BATCH - 1,
                0,
                "requests to settle on chain",
            )
            .await;
        let read = match self.read_each(&rows).await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(requests = rows.len(), "settlements not read: {error:#}");
                let retry_at = now_ms().saturating_add(RETRY_MS);
                return self.let_go(&rows, Some(retry_at)).await.map(|()| 0);
            }
        };
        let mut orders = Orders::default();
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
                Ok((address, on_chain)) => {
                    self.order_or_step(row, address, on_chain, &mut orders)
                        .await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = self.defer_if_failed(&row.address, advanced).await {
                tracing::warn!(address = %row.address, "not deferred: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        for batch in orders.by_pool.into_values() {
            if let Err(error) = self.settle_pool(batch).await {
                tracing::warn!("settlements not sent: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(stepped),
        }
    }

    /// The settle order of the quoted `row` with its account as read, added to `orders` when the
    /// request is still open, is the one `row` stored and is paid in a mint; otherwise the
    /// request's usual step (`begin_payout`: settled or withdrawn meanwhile, or a review that
    /// says why).
    async fn order_or_step(
        &self,
        row: &StoredRequest,
        address: Pubkey,
        on_chain: Option<ExchangeRequest>,
        orders: &mut Orders,
    ) -> Result<()> {
        let treasury = match self.payout {
            PayoutAdapter::Onchain { treasury } => *treasury,
            PayoutAdapter::Http { .. } => None,
        };
        let settleable = on_chain.as_ref().filter(|request| {
            matches!(
                request.status,
                RequestStatus::Pending | RequestStatus::Locked
            ) && mismatch(row, request).is_none()
        });
        if let (PayoutAdapter::Onchain { .. }, Some(request)) = (self.payout, settleable)
            && let Some(mint) = request.payout_mint
        {
            let program = match orders.token_programs.get(&mint) {
                Some(program) => *program,
                None => {
                    let program = self.owner_of(mint).await?;
                    orders.token_programs.insert(mint, program);
                    program
                }
            };
            let order = SettleOrder {
                request: request.clone(),
                reference: settle::payout_reference(&row.address),
                payout: settle::onchain_payout(
                    request,
                    &self.authority.pubkey(),
                    program,
                    treasury,
                ),
            };
            orders
                .by_pool
                .entry(request.pool)
                .or_default()
                .push((row.clone(), order));
            return Ok(());
        }
        let step = self.begin_payout(row, address, on_chain, None).await?;
        self.follow(row.clone(), step).await
    }

    /// Settles `batch` (one pool's claimed, quoted requests with their orders): as many to a
    /// transaction as fit, each transaction stored in its rows, then sent (`send_new`); the rows
    /// sent are let go together, due when their fate is read (the first of each transaction
    /// first: it records the others when it lands). A transaction that cannot be signed, stored
    /// or sent stops the pool's batch: its rows and the rest are let go, due again in two
    /// seconds (one stored and not sent is sent again from its stored bytes when followed).
    async fn settle_pool(&self, batch: Vec<(StoredRequest, SettleOrder)>) -> Result<()> {
        let mut sent = Vec::new();
        let mut rest = &batch[..];
        let mut failure = None;
        while !rest.is_empty() {
            let orders: Vec<SettleOrder> = rest.iter().map(|(_, order)| order.clone()).collect();
            let outcome = self.settle_prefix(&orders, rest).await;
            match outcome {
                Ok((carried, Step::Later { at_ms, .. })) => {
                    for (index, (row, _)) in rest[..carried].iter().enumerate() {
                        let lag = if index == 0 {
                            0
                        } else {
                            COMPANION_FOLLOW_LAG_MS
                        };
                        sent.push((row.address.clone(), at_ms.saturating_add(lag)));
                    }
                    rest = &rest[carried..];
                }
                Ok((carried, _)) => {
                    // Another worker took them over: not sent, nothing to follow here.
                    let rows: Vec<StoredRequest> =
                        rest[..carried].iter().map(|(row, _)| row.clone()).collect();
                    if let Err(error) = self.let_go(&rows, None).await {
                        failure.get_or_insert(error);
                    }
                    rest = &rest[carried..];
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if !rest.is_empty() {
            let retry_at = now_ms().saturating_add(RETRY_MS);
            sent.extend(rest.iter().map(|(row, _)| (row.address.clone(), retry_at)));
        }
        if let Err(error) = self.defer_rows(&sent).await {
            failure.get_or_insert(error);
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Signs one transaction for the longest prefix of `orders` that fits, stores it in the
    /// prefix's rows (of `rows`, in the same order) and sends it; how many it carried and the
    /// step of its first row.
    async fn settle_prefix(
        &self,
        orders: &[SettleOrder],
        rows: &[(StoredRequest, SettleOrder)],
    ) -> Result<(usize, Step)> {
        let (signed, count) = self.sign(orders).await?;
        if count == 0 || count > rows.len() {
            bail!(
                "a settle transaction signed for {count} of {} requests",
                rows.len()
            );
        }
        let addresses: Vec<String> = rows[..count]
            .iter()
            .map(|(row, _)| row.address.clone())
            .collect();
        let step = self
            .send_new(&addresses, RequestState::Quoted, signed)
            .await?;
        Ok((count, step))
    }
}

/// What a batch settles: each pool's rows with their orders, and each payout mint's token
/// program (read once a batch).
#[derive(Default)]
struct Orders {
    by_pool: BTreeMap<Pubkey, Vec<(StoredRequest, SettleOrder)>>,
    token_programs: BTreeMap<Pubkey, Pubkey>,
}
