//! Ingest: the authoritative history and the reconcile pass (pending ExchangeRequest accounts on
//! chain). The history is read per served pool by its escrow's address, which only exchange
//! instructions write (request, cancel, reject, settle): `getSignaturesForAddress` pages back to
//! that address's stored cursor, `getTransaction` reads a bounded number of transactions at once,
//! and events come from inner instructions. The RPC calls therefore follow the pool's exchanges,
//! not the program's allocation and credential traffic; this bridge's own settle transactions
//! (stored before they were sent) are passed over unread. Transactions are stored oldest first,
//! those fetched together with their cursor move in one database transaction.

use std::collections::HashSet;

use allot::state::ExchangeRequest;
use allot_client::events::AllotEvent;
use allot_client::rpc_chain::RpcChain;
use allot_client::transaction_events::events_of_transaction;
use allot_client::{accounts, pdas};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use futures::StreamExt as _;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_api::config::RpcTransactionConfig;
use solana_rpc_client_api::request::RpcRequest;
use solana_rpc_client_api::response::RpcConfirmedTransactionStatusWithSignature;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiTransactionEncoding,
};
use tokio::sync::Semaphore;

use crate::crash::crash_point;
use crate::metrics::Metrics;
use crate::rpc_failure::RpcResultExt as _;
use crate::store::{Cursor, NewRequest, ReadTransaction, Store};

/// Signatures per `getSignaturesForAddress` page (the RPC maximum).
const PAGE: usize = 1_000;
/// `getTransaction` calls a backfill pass keeps in flight, over all the addresses it reads
/// (results are still stored in order).
const FETCHES_IN_FLIGHT: usize = 32;
/// `getTransaction` calls one address's part keeps in flight: when one answers null (listed, not
/// served yet), the ones after it are fetched again next pass.
const FETCHES_PER_ADDRESS: usize = 8;
/// Most transactions of one address stored in one database transaction (with their cursor
/// move): those ready when the previous ones were stored — at most [`FETCHES_PER_ADDRESS`]
/// fetched ones, more only with failed transactions, which need no fetch.
const STORED_TOGETHER: usize = 64;

/// Up to this many served pools, the open-request scan lists each pool's requests; beyond, it
/// lists every pool's at once (two calls instead of two a pool, at the price of reading other
/// pools' open requests too), and the service reads between full passes only the escrows live
/// hints named lately.
pub const SCANS_PER_POOL_UP_TO: usize = 4;

/// Addresses (pools' escrows) a backfill pass reads at once: a platform's bridge serving a
/// thousand pools lists each escrow's new transactions at every full pass.
const ADDRESSES_IN_FLIGHT: usize = 8;

/// What the ingester reads and where it writes.
pub struct Ingester<'a> {
    /// The cluster.
    pub chain: &'a RpcChain,
    /// The bridge's database.
    pub store: &'a Store,
    /// The pools served: events of other pools are not ours to pay.
    pub pools: &'a HashSet<Pubkey>,
    /// The history's commitment (finalized by default).
    pub commitment: CommitmentConfig,
    /// This worker's name (audit rows).
    pub worker: &'a str,
    /// Where failures and counts go.
    pub metrics: &'a Metrics,
}

/// What one backfill pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// The history's tip (at the ingester's commitment) when the pass started.
    pub tip_slot: u64,
    /// Transactions read.
    pub transactions: usize,
    /// Requests newly stored.
    pub discovered: usize,
    /// The slot everything up to which has been read: the history's tip when the pass started,
    /// or just below the first transaction the node listed but could not serve yet.
    pub read_through_slot: u64,
    /// Transactions listed by `getSignaturesForAddress` that `getTransaction` did not serve yet
    /// (null): each address's pass stops at the first one, so it and those after it are read by
    /// the next pass.
    pub deferred: usize,
}

impl Ingester<'_> {
    /// Reads each served pool's history (by its escrow's address) from the newest transaction
    /// back to that address's cursor, then stores it oldest first.
    pub async fn backfill(&self) -> Result<BackfillReport> {
        self.backfill_of(self.pools).await
    }

    /// [`Self::backfill`] for the escrows of `pools` only (some of the served pools: those live
    /// hints named lately).
    pub async fn backfill_of(&self, pools: &HashSet<Pubkey>) -> Result<BackfillReport> {
        let tip = self.metrics.counted(
            self.chain
                .client()
                .get_slot_with_commitment(self.commitment)
                .await
                .method("getSlot"),
        )?;
        let empty = BackfillReport {
            tip_slot: tip,
            read_through_slot: tip,
            ..BackfillReport::default()
        };
        let mut pools: Vec<&Pubkey> = pools.iter().collect();
        pools.sort();
        let fetches = Semaphore::new(FETCHES_IN_FLIGHT);
        let fetches = &fetches;
        // The first failure ends the pass, as a failing node would fail the rest: the parts
        // still in flight are dropped, each run of transactions stored with its cursor move in
        // one database transaction (a dropped one is rolled back; the next pass reads it again).
        let mut parts = futures::stream::iter(pools)
            .map(|pool| {
                let mut part = empty.clone();
                async move {
                    let escrow = pdas::escrow(pool);
                    self.backfill_address(&escrow, fetches, &mut part)
                        .await
                        .with_context(|| format!("reading the history of {pool}'s escrow {escrow}"))
                        .map(|()| part)
                }
            })
            .buffer_unordered(ADDRESSES_IN_FLIGHT);
        let mut report = empty.clone();
        while let Some(part) = parts.next().await {
            let part = part?;
            report.transactions += part.transactions;
            report.discovered += part.discovered;
            report.deferred += part.deferred;
            report.read_through_slot = report.read_through_slot.min(part.read_through_slot);
        }
        Ok(report)
    }

    /// One address's part of a backfill pass: its transactions newer than its cursor (and
    /// those of the cursor's slot not read yet), fetched up to [`FETCHES_PER_ADDRESS`] at a time
    /// (`fetches` bounding the whole pass) and stored oldest first, each run of fetched ones
    /// with its cursor move in one database transaction.
    async fn backfill_address(
        &self,
        address: &Pubkey,
        fetches: &Semaphore,
        report: &mut BackfillReport,
    ) -> Result<()> {
        let key = address.to_string();
        let cursor = self.store.cursor(&key).await?;
        let read_in_slot = match &cursor {
            Some(cursor) => self.store.read_in_slot(&key, cursor.slot).await?,
            None => HashSet::new(),
        };
        let newer = self
            .signatures_since(address, cursor.as_ref(), &read_in_slot)
            .await?;
        // This bridge's own settle transactions (most of an escrow's history once it settles
        // in batches) open no request: they are passed over unread.
        let listed: Vec<&str> = newer.iter().map(|entry| entry.signature.as_str()).collect();
        let own_settles = self.store.settle_signatures_among(&listed).await?;
        let own_settles = &own_settles;
        let mut stored = 0;
        let mut fetching = futures::stream::iter(newer.iter().rev())
            .map(|entry| async move {
                let requests = if entry.err.is_some() {
                    self.metrics
                        .skipped_transactions
                        .with_label_values(&["failed"])
                        .inc();
                    Some(Vec::new())
                } else if own_settles.contains(&entry.signature) {
                    self.metrics
                        .skipped_transactions
                        .with_label_values(&["own_settle"])
                        .inc();
                    Some(Vec::new())
                } else {
                    let _permit = fetches.acquire().await.context("the pass's fetches")?;
                    self.requests_of(entry).await?
                };
                anyhow::Ok((entry, requests))
            })
            .buffered(FETCHES_PER_ADDRESS)
            .ready_chunks(STORED_TOGETHER);
        while let Some(fetched) = fetching.next().await {
            let mut together = Vec::with_capacity(fetched.len());
            let mut ended = None;
            for next in fetched {
                let read = next.and_then(|(entry, requests)| {
                    let slot =
                        i64::try_from(entry.slot).context("the node listed a slot out of range")?;
                    anyhow::Ok((entry, slot, requests))
                });
                match read {
                    Ok((entry, slot, Some(requests))) => together.push(ReadTransaction {
                        cursor: Cursor {
                            signature: entry.signature.clone(),
                            slot,
                        },
                        requests,
                    }),
                    Ok((entry, _, None)) => {
                        ended = Some(Ok(entry));
                        break;
                    }
                    Err(error) => {
                        ended = Some(Err(error));
                        break;
                    }
                }
            }
            // What was fetched before a failure or a transaction not served yet is kept.
            self.store_read(&key, &together, report).await?;
            stored += together.len();
            match ended {
                None => {}
                Some(Err(error)) => return Err(error),
                Some(Ok(entry)) => {
                    // Listed but not served yet (a node can list a signature a moment before it
                    // serves the transaction at the same commitment): the cursor stays before
                    // it, and the next pass reads it and those after it. (A node that never
                    // serves it stalls this address's history, which the lag metric shows; the
                    // reconcile pass still finds its open requests.)
                    report.deferred += newer.len() - stored;
                    report.read_through_slot =
                        report.read_through_slot.min(entry.slot.saturating_sub(1));
                    self.metrics
                        .skipped_transactions
                        .with_label_values(&["not_served_yet"])
                        .inc();
                    tracing::debug!(signature = %entry.signature, "not served yet; read next pass");
                    break;
                }
            }
        }
        Ok(())
    }

    /// Stores `read` (consecutive transactions of the history at `key`, oldest first) and moves
    /// its cursor past them, in one database transaction, counted in `report`.
    async fn store_read(
        &self,
        key: &str,
        read: &[ReadTransaction],
        report: &mut BackfillReport,
    ) -> Result<()> {
        if read.is_empty() {
            return Ok(());
        }
        let inserted = self.store.ingest(key, read, self.worker).await?;
        report.transactions += read.len();
        report.discovered += inserted;
        if inserted > 0 {
            self.metrics
                .discovered
                .with_label_values(&["history"])
                .inc_by(inserted as u64);
            crash_point("discovered");
        }
        Ok(())
    }

    /// Lists open (pending or locked) requests of every pool on chain and stores the ones the
    /// history missed.
    pub async fn reconcile(&self) -> Result<usize> {
        let slot = self.metrics.counted(
            self.chain
                .client()
                .get_slot_with_commitment(CommitmentConfig::confirmed())
                .await
                .method("getSlot"),
        )?;
        let slot = i64::try_from(slot).context("slot out of range")?;
        let mut found = Vec::new();
        for (address, request) in self.open_requests().await? {
            // The request's own currency, frozen when the user signed (never the pool's now).
            let currency = String::from_utf8_lossy(&request.currency).into_owned();
            match stored_request(
                address,
                request.pool,
                request.id,
                request.user,
                [request.amount, request.rate, request.quoted],
                &currency,
                request.created_at,
                None,
                slot,
            ) {
                Some(new) => found.push(new),
                None => {
                    tracing::error!(%address, "request amounts exceed what the store holds; skipped")
                }
            }
        }
        let inserted = self.store.insert_found(&found, self.worker).await?;
        if inserted > 0 {
            crash_point("discovered");
            tracing::info!(
                inserted,
                "the reconcile pass found pending requests before the history delivered them"
            );
            self.metrics
                .discovered
                .with_label_values(&["reconcile"])
                .inc_by(inserted as u64);
        }
        Ok(inserted)
    }

    /// The open requests of the served pools: listed pool by pool (two `getProgramAccounts`
    /// calls each) for up to [`SCANS_PER_POOL_UP_TO`] pools, and for more (a platform serving
    /// its merchants' pools) every pool's at once, two calls in all, keeping the served pools'.
    async fn open_requests(&self) -> Result<Vec<(Pubkey, ExchangeRequest)>> {
        let failed = |error| self.metrics.failed_call("getProgramAccounts", error);
        if self.pools.len() > SCANS_PER_POOL_UP_TO {
            let every = accounts::open_requests_of_every_pool(self.chain)
                .await
                .map_err(failed)?;
            return Ok(every
                .into_iter()
                .filter(|(_, request)| self.pools.contains(&request.pool))
                .collect());
        }
        let mut open = Vec::new();
        for pool in self.pools {
            open.extend(
                accounts::open_requests(self.chain, pool)
                    .await
                    .map_err(failed)?,
            );
        }
        Ok(open)
    }

    /// The transactions of `address` newer than `cursor`, newest first: pages back by `before`
    /// and stops below the cursor's slot. The cursor's own slot is listed again (the node does
    /// not promise one order within a slot), less the signatures `read_in_slot` already.
    async fn signatures_since(
        &self,
        address: &Pubkey,
        cursor: Option<&Cursor>,
        read_in_slot: &HashSet<String>,
    ) -> Result<Vec<RpcConfirmedTransactionStatusWithSignature>> {
        let mut newer = Vec::new();
        let mut before: Option<Signature> = None;
        loop {
            let page = self.metrics.counted(
                self.chain
                    .client()
                    .get_signatures_for_address_with_config(
                        address,
                        GetConfirmedSignaturesForAddress2Config {
                            before,
                            until: None,
                            limit: Some(PAGE),
                            commitment: Some(self.commitment),
                        },
                    )
                    .await
                    .method("getSignaturesForAddress"),
            )?;
            let full = page.len() == PAGE;
            let last = page.last().map(|entry| entry.signature.clone());
            for entry in page {
                if let Some(cursor) = cursor {
                    let slot = i64::try_from(entry.slot).unwrap_or(i64::MAX);
                    if slot < cursor.slot {
                        return Ok(newer);
                    }
                    // The cursor's own signature is among them (stored with it).
                    if read_in_slot.contains(&entry.signature) {
                        continue;
                    }
                }
                newer.push(entry);
            }
            match (full, last) {
                (true, Some(last)) => {
                    before = Some(last.parse().context("the node returned a bad signature")?)
                }
                _ => return Ok(newer),
            }
        }
    }

    /// The requests of our pools that `entry`'s transaction created, or `None` when the node
    /// answers `getTransaction` with null: it listed the signature but does not serve the
    /// transaction yet at this commitment.
    async fn requests_of(
        &self,
        entry: &RpcConfirmedTransactionStatusWithSignature,
    ) -> Result<Option<Vec<NewRequest>>> {
        let signature: Signature = entry
            .signature
            .parse()
            .context("the node returned a bad signature")?;
        let config = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            commitment: Some(self.commitment),
            max_supported_transaction_version: Some(0),
        };
        // `send` rather than `get_transaction_with_config`, whose answer type cannot be null.
        let transaction: Option<EncodedConfirmedTransactionWithStatusMeta> = self.metrics.counted(
            self.chain
                .client()
                .send(
                    RpcRequest::GetTransaction,
                    serde_json::json!([signature.to_string(), config]),
                )
                .await
                .method("getTransaction"),
        )?;
        let Some(transaction) = transaction else {
            return Ok(None);
        };
        let found = events_of_transaction(&transaction)
            .with_context(|| format!("transaction {signature}"))?;
        if found.failed {
            self.metrics
                .skipped_transactions
                .with_label_values(&["failed"])
                .inc();
            return Ok(Some(Vec::new()));
        }
        if !found.undecodable.is_empty() {
            tracing::warn!(%signature, undecodable = ?found.undecodable, "events not understood");
            self.metrics
                .skipped_transactions
                .with_label_values(&["undecodable"])
                .inc();
        }
        let slot = i64::try_from(found.slot).context("slot out of range")?;
        let mut requests = Vec::new();
        for event in found.events {
            let AllotEvent::ExchangeRequested(event) = event else {
                continue;
            };
            if !self.pools.contains(&event.pool) {
                continue;
            }
            let currency = String::from_utf8_lossy(&event.currency).into_owned();
            match stored_request(
                event.request,
                event.pool,
                event.id,
                event.user,
                [event.amount, event.rate, event.quoted],
                &currency,
                event.created_at,
                Some(entry.signature.clone()),
                slot,
            ) {
                Some(new) => requests.push(new),
                None => {
                    tracing::error!(request = %event.request, "request amounts exceed what the store holds; skipped")
                }
            }
        }
        Ok(Some(requests))
    }
}

/// A request row, or `None` when an amount does not fit the store's BIGINT columns.
#[allow(clippy::too_many_arguments)]
fn stored_request(
    address: Pubkey,
    pool: Pubkey,
    id: u64,
    user: Pubkey,
    [amount, rate, quoted]: [u64; 3],
    currency: &str,
    created_at: i64,
    signature: Option<String>,
    slot: i64,
) -> Option<NewRequest> {
    Some(NewRequest {
        address: address.to_string(),
        pool: pool.to_string(),
        request_id: i64::try_from(id).ok()?,
        user_key: user.to_string(),
        amount: i64::try_from(amount).ok()?,
        rate: i64::try_from(rate).ok()?,
        quoted: i64::try_from(quoted).ok()?,
        currency: currency.to_owned(),
        created_at,
        signature,
        slot,
    })
}
