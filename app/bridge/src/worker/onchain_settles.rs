//! Requests paid on chain, once quoted, are settled a batch at a time: one that falls due takes
//! along the other quoted ones due now, up to one `getMultipleAccounts` call, all read in that
//! call; those still open and matching their rows are settled together, each pool's (one payout
//! mint to a transaction) as many to a transaction as fit (`settle::sign`), every transaction
//! stored in its rows before it is sent (`send_new`, as for paid requests in `settlement.rs`).
//! Before, each lead
//! read itself, its mint's owner and its two companions, then signed, stored, sent and deferred
//! them before the lane took the next: a backlog of 2,000 settled at about 17 transactions a
//! second over eight lanes, 61 requests/s; batched, 86 (`bridge_figures` run 9,
//! docs/figures.md). Any other request (no longer open, not its row's request, not paid in a
//! mint) takes its usual step. This is the only way a request paid on chain is first settled
//! (`begin_payout` leaves one stepped alone due for it); one whose transaction expired unseen is
//! signed again alone (`settlement.rs`, `after_expiry`).

use std::collections::BTreeMap;

use allot::state::{ExchangeRequest, RequestStatus};
use anchor_lang::prelude::Pubkey;
use anyhow::{Result, bail};
use solana_sdk::signature::Signer as _;

use super::batches::BATCH_RETRY_MS;
use super::{
    CLAIM_MS, COMPANION_FOLLOW_LAG_MS, COMPANION_WAIT_MS, PayoutAdapter, Step, Worker, mismatch,
};
use crate::settle::{self, SettleOrder};
use crate::state::RequestState;
use crate::store::{StoredRequest, now_ms};

/// Most requests settled together: what one `getMultipleAccounts` call answers.
const SETTLE_BATCH: usize = 100;

/// How long into a batch its transactions are still signed: past it, the rest are let go (their
/// claims, taken at the batch's start, last [`CLAIM_MS`]).
const SIGN_UNTIL_MS: i64 = CLAIM_MS * 3 / 4;

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
        let Some(batch) = self
            .claim_and_read(
                lead,
                &[RequestState::Quoted],
                SETTLE_BATCH - 1,
                // Quoted together, their waits for companions end a few milliseconds apart.
                COMPANION_WAIT_MS,
                "requests to settle on chain",
            )
            .await?
        else {
            return Ok(0);
        };
        let treasury = match self.payout {
            PayoutAdapter::Onchain { treasury } => *treasury,
            PayoutAdapter::Http { .. } => None,
        };
        let mut orders = Orders::default();
        let (stepped, mut first_error) = self
            .step_each(batch, started, stop, async |row, address, on_chain| {
                self.order_or_step(row, address, on_chain, treasury, &mut orders)
                    .await
            })
            .await;
        for ((pool, mint), batch) in orders.by_pool_and_mint {
            if let Err(error) = self.settle_pool(batch, started).await {
                tracing::warn!(%pool, %mint, "settlements not let go: {error:#}");
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(stepped),
        }
    }

    /// The settle order of the quoted `row` with its account as read, added to `orders` when the
    /// request is still open, is the one `row` stored and is paid in a mint (from `treasury`,
    /// the configured one, or the authority's associated account); otherwise the request's usual
    /// step (`begin_payout`: settled or withdrawn meanwhile, or a review that says why).
    async fn order_or_step(
        &self,
        row: &StoredRequest,
        address: Pubkey,
        on_chain: Option<ExchangeRequest>,
        treasury: Option<Pubkey>,
        orders: &mut Orders,
    ) -> Result<()> {
        let settleable = on_chain.as_ref().filter(|request| {
            matches!(
                request.status,
                RequestStatus::Pending | RequestStatus::Locked
            ) && mismatch(row, request).is_none()
        });
        if let Some(request) = settleable
            && let Some(mint) = request.payout_mint
        {
            let program = match orders.token_programs.get(&mint) {
                Some(Some(program)) => *program,
                // Its lookup failed earlier in this batch: the row waits with the first.
                Some(None) => bail!("the token program of payout mint {mint} was not read"),
                None => {
                    let program = self.owner_of(mint).await;
                    orders
                        .token_programs
                        .insert(mint, program.as_ref().ok().copied());
                    program?
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
            let batch = orders
                .by_pool_and_mint
                .entry((request.pool, mint))
                .or_default();
            batch.rows.push(row.clone());
            batch.orders.push(order);
            return Ok(());
        }
        let step = self.begin_payout(row, address, on_chain, None).await?;
        self.follow(row.clone(), step).await
    }

    /// Settles `batch` (one pool's claimed, quoted requests paid in one mint, with their
    /// orders; the batch began at `started`): as many to a transaction as fit, each transaction
    /// stored in its rows, then sent (`send_new`); the rows sent are let go together, due when
    /// their fate is read (the first of each transaction first: it records the others when it
    /// lands). A transaction that cannot be signed, stored or sent (logged) stops the batch, as
    /// does running past [`SIGN_UNTIL_MS`]: its rows and the rest are let go, due again in two
    /// seconds (one stored but not sent is sent again from its stored bytes when followed).
    /// Errs only when claims could not be let go.
    async fn settle_pool(&self, batch: PoolBatch, started: i64) -> Result<()> {
        let PoolBatch { rows, orders } = batch;
        let mut due = Vec::new();
        let mut released = Ok(());
        let mut offset = 0;
        while offset < rows.len() && now_ms().saturating_sub(started) <= SIGN_UNTIL_MS {
            match self.settle_prefix(&orders[offset..], &rows[offset..]).await {
                Ok((carried, Step::Later { at_ms, .. })) => {
                    let sent = &rows[offset..offset + carried];
                    for (index, row) in sent.iter().enumerate() {
                        let lag = if index == 0 {
                            0
                        } else {
                            COMPANION_FOLLOW_LAG_MS
                        };
                        due.push((row.address.clone(), at_ms.saturating_add(lag)));
                    }
                    offset += carried;
                }
                Ok((carried, _)) => {
                    // At least one of these rows was no longer this lane's: none moved and
                    // nothing was sent; the others' claims go back.
                    if let Err(error) = self.let_go(&rows[offset..offset + carried], None).await {
                        released = Err(error);
                    }
                    offset += carried;
                }
                Err(error) => {
                    tracing::warn!(
                        requests = rows.len() - offset,
                        "settle transaction not signed, stored or sent; tried again in two seconds: {error:#}"
                    );
                    break;
                }
            }
        }
        let retry_at = now_ms().saturating_add(BATCH_RETRY_MS);
        due.extend(
            rows[offset..]
                .iter()
                .map(|row| (row.address.clone(), retry_at)),
        );
        self.defer_rows(&due).await?;
        released
    }

    /// Signs one transaction for the longest prefix of `orders` that fits, stores it in the
    /// prefix's `rows` (in the same order) and sends it; how many it carried and the step of its
    /// first row.
    async fn settle_prefix(
        &self,
        orders: &[SettleOrder],
        rows: &[StoredRequest],
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
            .map(|row| row.address.clone())
            .collect();
        let step = self
            .send_new(&addresses, RequestState::Quoted, signed)
            .await?;
        Ok((count, step))
    }
}

/// What a batch settles: the rows of each pool and payout mint with their orders (one mint to a
/// transaction: a configured treasury is an account of one mint), and each payout mint's token
/// program (read once a batch; `None`: the read failed, and the mint's other rows are deferred
/// without reading it again).
#[derive(Default)]
struct Orders {
    by_pool_and_mint: BTreeMap<(Pubkey, Pubkey), PoolBatch>,
    token_programs: BTreeMap<Pubkey, Option<Pubkey>>,
}

/// One pool's claimed rows paid in one mint, and their orders, in the same order.
#[derive(Default)]
struct PoolBatch {
    rows: Vec<StoredRequest>,
    orders: Vec<SettleOrder>,
}
