//! `allot-bridge run`: the ingester (one per database, by lease), the payout worker, live hints,
//! metrics, and a graceful stop.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use allot::state::Pool;
use allot_client::accounts::{self, FetchError};
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, Signer};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{Payout, Settings};
use crate::http_provider::HttpProvider;
use crate::ingest::{Ingester, SCANS_PER_POOL_UP_TO};
use crate::metrics::{self, Metrics};
use crate::reconcile::{self, FindingKind};
use crate::store::{Store, now_ms};
use crate::worker::{PayoutAdapter, Worker};

/// The ingester lease's name.
pub const INGEST_LEASE: &str = "ingester";
/// After a live hint, passes repeat this often until the history shows the transaction.
const HINTED_INTERVAL: Duration = Duration::from_millis(500);
/// How long a hint keeps passes frequent.
const HINT_WINDOW: Duration = Duration::from_secs(60);

/// How often a bridge serving more than [`SCANS_PER_POOL_UP_TO`] pools reads every pool's
/// history; between, each pass reads the escrows live hints named lately.
const READ_ALL_EVERY: Duration = Duration::from_secs(15);

/// How often the ingesting worker reconciles the provider's ledger with the store and the chain.
const RECONCILE_EVERY: Duration = Duration::from_secs(600);
/// How far back each reconciliation looks: a day.
const RECONCILE_WINDOW_MS: i64 = 86_400_000;
/// How often the pools' open requests are listed (`getProgramAccounts` for pending and for locked
/// requests, per pool, or for every pool's beyond [`SCANS_PER_POOL_UP_TO`] pools) to store any
/// the history has not delivered yet, when no hint says exchanges are happening. The scan reads at `confirmed` and the history at `finalized` by
/// default, so on a live cluster the scan usually finds a request first (docs/notes.md, "Bridge
/// discovery in practice"); it is also the node's costliest read, so it runs at the first pass,
/// after a failed history pass or scan, at most every [`HINTED_SCAN_EVERY`] within a minute of a
/// live hint (start-up, websocket reconnects and the bridge's own settlements wake it too), and
/// every this long otherwise.
pub const OPEN_SCAN_EVERY: Duration = Duration::from_secs(15);
/// How often the open requests are listed while live hints arrive (see [`OPEN_SCAN_EVERY`]).
pub const HINTED_SCAN_EVERY: Duration = Duration::from_secs(2);
/// How often the fee payer's and the treasury's balances are read for `/metrics`.
const BALANCES_EVERY: Duration = Duration::from_secs(10);
/// With `discover_pools`, pools are looked for every four polls, but no more often than this…
const DISCOVER_MIN: Duration = Duration::from_secs(2);
/// …and no less often than this.
const DISCOVER_MAX: Duration = Duration::from_secs(60);

/// Runs the bridge until `shutdown` resolves; the current step of the current request finishes
/// first, and the ingester lease is handed back.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let authority = settings.settlement_authority()?;
    let store = open_store(&settings)
        .await?
        .with_held_looks_every(crate::worker::HELD_LOOK_EVERY_MS);
    let chain = RpcChain::new(settings.rpc_url.clone(), CommitmentConfig::confirmed());
    let stop = stop_when(shutdown);
    let Some(pools) =
        check_pools_once_reachable(&chain, &store, &settings, &authority.pubkey(), stop.clone())
            .await?
    else {
        store.close().await;
        return Ok(());
    };
    let payout = payout_adapter(&settings.payout)?;
    let metrics = Metrics::new((settings.poll_interval * 6).max(Duration::from_secs(30)));
    let metrics_server = spawn_metrics_server(settings.metrics_addr, metrics.clone(), stop.clone());
    let bridge = Bridge {
        settings,
        chain,
        store,
        authority,
        payout,
        metrics,
        wake: Arc::new(Notify::new()),
        hinted: Arc::default(),
        stop,
    };
    let mut passes = bridge.start(pools);
    bridge.work_until_stopped(&mut passes).await?;
    bridge.shut_down(passes.hints, metrics_server).await
}

/// `pools` by their escrows' addresses.
fn by_escrow(pools: &BTreeSet<Pubkey>) -> HashMap<Pubkey, Pubkey> {
    pools
        .iter()
        .map(|pool| (allot_client::pdas::escrow(pool), *pool))
        .collect()
}

/// The store at `settings.database_url`, opened (its password kept out of the error).
async fn open_store(settings: &Settings) -> Result<Store> {
    Store::open(&settings.database_url).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact(&settings.database_url)
        )
    })
}

/// A stop signal that turns true once `shutdown` resolves.
fn stop_when(shutdown: impl Future<Output = ()> + Send + 'static) -> watch::Receiver<bool> {
    let (stop_sender, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_sender.send(true);
    });
    stop
}

/// How users are paid, as the settings say.
fn payout_adapter(payout: &Payout) -> Result<PayoutAdapter> {
    Ok(match payout {
        Payout::Onchain { treasury } => PayoutAdapter::Onchain {
            treasury: *treasury,
        },
        Payout::Http {
            url,
            timeout,
            max_attempts,
            concurrent_calls,
            token,
            lock_commitment,
        } => PayoutAdapter::Http {
            provider: HttpProvider::new(url, *timeout, token.clone())
                .context("cannot build the HTTP client")?,
            max_attempts: *max_attempts,
            concurrent_calls: *concurrent_calls,
            lock_commitment: *lock_commitment,
        },
    })
}

/// Serves `/metrics` on `addr` until `stop` turns true (a failure is logged).
fn spawn_metrics_server(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        if let Err(error) = metrics::serve(addr, metrics, stopped).await {
            tracing::error!(%addr, "metrics endpoint failed: {error}");
        }
    })
}

/// What every stage of the running bridge reads: its settings, the node, the store, its key,
/// how it pays, its metrics, and the signals that wake and stop it.
struct Bridge {
    /// The settings it runs with.
    settings: Settings,
    /// The cluster.
    chain: RpcChain,
    /// The database.
    store: Store,
    /// The settlement authority.
    authority: Keypair,
    /// How users are paid.
    payout: PayoutAdapter,
    /// Where counts, failures and latencies go.
    metrics: Arc<Metrics>,
    /// Notified by live hints: the next pass starts at once, and passes are frequent for a while.
    wake: Arc<Notify>,
    /// The escrows live hints named, and when.
    hinted: Arc<crate::hints::Hinted>,
    /// Turns true when the bridge is to stop.
    stop: watch::Receiver<bool>,
}

/// What the main loop carries from one pass to the next.
struct Passes {
    /// The pools served.
    pools: BTreeSet<Pubkey>,
    /// The live hints task for the escrows of `pools` (with `ingest`).
    hints: Option<JoinHandle<()>>,
    /// When pools were last looked for (with `discover_pools`).
    discovered_at: Instant,
    /// Until when passes repeat every [`HINTED_INTERVAL`] after a live hint.
    hinted_until: Instant,
    /// When the provider's ledger was last reconciled.
    reconciled_at: Option<Instant>,
    /// When the open requests were last listed successfully.
    open_scanned_at: Option<Instant>,
    /// When the fee payer's and the treasury's balances were last read.
    balances_read_at: Option<Instant>,
    /// The slot the last complete backfill of every served pool read through.
    read_through: Option<u64>,
    /// The served pools by their escrows' addresses (what hints name).
    pools_by_escrow: HashMap<Pubkey, Pubkey>,
    /// When every served pool's history was last read successfully (a bridge serving many pools
    /// reads only hinted escrows between such passes).
    read_all_at: Option<Instant>,
}

impl Bridge {
    /// Starts the live hints for `pools`, counts them and says the bridge started.
    fn start(&self, pools: BTreeSet<Pubkey>) -> Passes {
        let pools_by_escrow = by_escrow(&pools);
        let hints = self.watch_hints(&pools_by_escrow);
        self.count_pools_served(&pools);
        tracing::info!(worker = %self.settings.worker, pools = pools.len(), discover = self.settings.discover_pools, backend = ?self.store.backend(), "bridge started");
        let now = Instant::now();
        Passes {
            pools_by_escrow,
            pools,
            hints,
            discovered_at: now,
            hinted_until: now,
            reconciled_at: None,
            open_scanned_at: None,
            balances_read_at: None,
            read_through: None,
            read_all_at: None,
        }
    }

    /// Live hints for the served pools' escrows (the keys of `pools_by_escrow`; replaced when the
    /// pools served change), when this worker ingests.
    fn watch_hints(&self, pools_by_escrow: &HashMap<Pubkey, Pubkey>) -> Option<JoinHandle<()>> {
        self.settings.ingest.then(|| {
            tokio::spawn(crate::hints::watch(
                self.settings.ws_url.clone(),
                pools_by_escrow.keys().copied().collect(),
                self.wake.clone(),
                self.hinted.clone(),
                self.metrics.clone(),
                self.stop.clone(),
            ))
        })
    }

    /// Sets `allot_bridge_pools_served`.
    fn count_pools_served(&self, pools: &BTreeSet<Pubkey>) {
        self.metrics
            .pools_served
            .set(i64::try_from(pools.len()).unwrap_or(i64::MAX));
    }

    /// Whether the bridge is to stop.
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// The main loop: a [`pass`](Self::pass) then a [`pause`](Self::pause), until the bridge
    /// is to stop; the payout lanes share one cache of blockhashes and fees.
    async fn work_until_stopped(&self, passes: &mut Passes) -> Result<()> {
        let lane_names = lane_names(&self.settings.worker, self.settings.payout_concurrency);
        let recent = crate::recent::Recent::new(self.settings.fees);
        let lanes: Vec<Worker> = lane_names
            .iter()
            .map(|name| Worker {
                chain: &self.chain,
                store: &self.store,
                authority: &self.authority,
                payout: &self.payout,
                name,
                metrics: &self.metrics,
                recent: &recent,
            })
            .collect();
        while !self.stopped() {
            if self.pass(&lanes, passes).await? {
                self.metrics.pass_ended();
            }
            self.pause(passes).await;
        }
        Ok(())
    }

    /// One pass: pools looked for when due, the histories read under the ingester lease, due
    /// requests worked on every lane, requests counted, balances read and the provider's ledger
    /// reconciled when due. Whether every step that counts succeeded (failures are logged); an
    /// error only when the store cannot be asked for the lease.
    async fn pass(&self, lanes: &[Worker<'_>], passes: &mut Passes) -> Result<bool> {
        let mut pass_ok = true;
        if self.settings.discover_pools && passes.discovered_at.elapsed() >= self.discover_every() {
            pass_ok &= self.discover_pools(passes).await;
        }
        if self.settings.ingest
            && self
                .store
                .acquire_lease(INGEST_LEASE, &self.settings.worker, self.lease_ms())
                .await?
        {
            pass_ok &= self.ingest(passes).await;
        }
        pass_ok &= drain_lanes(lanes, &|| self.stopped()).await;
        pass_ok &= self.count_requests().await;
        if passes
            .balances_read_at
            .is_none_or(|at| at.elapsed() >= BALANCES_EVERY)
        {
            passes.balances_read_at = Some(Instant::now());
            self.read_balances(&passes.pools).await;
        }
        if let PayoutAdapter::Http { provider, .. } = &self.payout
            && self.settings.ingest
            && passes
                .reconciled_at
                .is_none_or(|at| at.elapsed() >= RECONCILE_EVERY)
        {
            passes.reconciled_at = Some(Instant::now());
            self.reconcile_ledger(provider).await;
        }
        Ok(pass_ok)
    }

    /// How often pools are looked for: every four polls, within [`DISCOVER_MIN`] and
    /// [`DISCOVER_MAX`].
    fn discover_every(&self) -> Duration {
        (self.settings.poll_interval * 4).clamp(DISCOVER_MIN, DISCOVER_MAX)
    }

    /// How long the ingester lease is held per pass: four polls, at least 20 s.
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.poll_interval.as_millis() * 4)
            .unwrap_or(i64::MAX)
            .max(20_000)
    }

    /// Looks for the pools to serve again; when they changed, serves the new set (its hints
    /// replace the old ones, and the next pass starts at once). False when the look failed
    /// (logged).
    async fn discover_pools(&self, passes: &mut Passes) -> bool {
        passes.discovered_at = Instant::now();
        match served_pools(&self.chain, &self.settings, &self.authority.pubkey()).await {
            Ok(now) if now != passes.pools => {
                let added: Vec<Pubkey> = now.difference(&passes.pools).copied().collect();
                let dropped: Vec<Pubkey> = passes.pools.difference(&now).copied().collect();
                tracing::info!(?added, ?dropped, served = now.len(), "pools served changed");
                passes.pools = now;
                passes.pools_by_escrow = by_escrow(&passes.pools);
                self.count_pools_served(&passes.pools);
                if let Some(old) = passes.hints.take() {
                    old.abort();
                }
                passes.hints = self.watch_hints(&passes.pools_by_escrow);
                // The new pools' histories are read now, not at the next poll.
                for pool in &added {
                    self.hinted.note(allot_client::pdas::escrow(pool));
                }
                self.wake.notify_one();
                true
            }
            Ok(_) => true,
            Err(error) => {
                tracing::warn!("cannot look for pools settled by this bridge: {error:#}");
                false
            }
        }
    }

    /// One ingest pass, under the ingester lease: the served pools' histories read (the lag
    /// measured), then their open requests listed when a scan is due. False when either failed
    /// (logged).
    async fn ingest(&self, passes: &mut Passes) -> bool {
        let served: HashSet<Pubkey> = passes.pools.iter().copied().collect();
        let ingester = Ingester {
            chain: &self.chain,
            store: &self.store,
            pools: &served,
            commitment: self.settings.history_commitment,
            worker: &self.settings.worker,
            metrics: &self.metrics,
        };
        let backfill_ok = match self.escrows_to_read(passes) {
            None => self.backfill(&ingester, passes).await,
            Some(hinted) => self.backfill_hinted(&ingester, &hinted, passes).await,
        };
        let scan_every = if Instant::now() < passes.hinted_until {
            HINTED_SCAN_EVERY
        } else {
            OPEN_SCAN_EVERY
        };
        if !backfill_ok
            || passes
                .open_scanned_at
                .is_none_or(|at| at.elapsed() >= scan_every)
        {
            match ingester.reconcile().await {
                // A failed scan is tried again at the next pass.
                Ok(_) => passes.open_scanned_at = Some(Instant::now()),
                Err(error) => {
                    tracing::warn!("reconcile failed: {error:#}");
                    return false;
                }
            }
        }
        backfill_ok
    }

    /// `None` when this pass reads every served pool's history; otherwise the served pools
    /// whose escrows live hints named within [`HINT_WINDOW`], which is all a pass reads when the
    /// bridge serves more than [`SCANS_PER_POOL_UP_TO`] pools, between full passes every
    /// [`READ_ALL_EVERY`] (and after a failed one, and when subscriptions start again). A pool's
    /// request the hints missed is still found by the open-request scan, and by the next full
    /// pass.
    fn escrows_to_read(&self, passes: &Passes) -> Option<HashSet<Pubkey>> {
        let everything = self.hinted.take_everything();
        if passes.pools.len() <= SCANS_PER_POOL_UP_TO
            || everything
            || passes
                .read_all_at
                .is_none_or(|at| at.elapsed() >= READ_ALL_EVERY)
        {
            return None;
        }
        Some(
            self.hinted
                .within(HINT_WINDOW)
                .iter()
                .filter_map(|escrow| passes.pools_by_escrow.get(escrow))
                .copied()
                .collect(),
        )
    }

    /// Reads the histories of `pools` (some of those served); false when it failed (logged: the
    /// next pass reads every pool's).
    async fn backfill_hinted(
        &self,
        ingester: &Ingester<'_>,
        pools: &HashSet<Pubkey>,
        passes: &mut Passes,
    ) -> bool {
        if pools.is_empty() {
            return true;
        }
        match ingester.backfill_of(pools).await {
            Ok(report) => {
                if report.discovered > 0 {
                    tracing::info!(
                        discovered = report.discovered,
                        transactions = report.transactions,
                        pools = pools.len(),
                        "hinted pools' history read"
                    );
                }
                true
            }
            Err(error) => {
                tracing::warn!("backfill of hinted pools failed: {error:#}");
                passes.read_all_at = None;
                false
            }
        }
    }

    /// Reads the served pools' histories and sets the cursor lag; false when the backfill failed
    /// (logged).
    async fn backfill(&self, ingester: &Ingester<'_>, passes: &mut Passes) -> bool {
        // Lag: slots between the history's tip when this pass started and what the last
        // complete backfill read through (it grows while backfills fail; the tip is then
        // asked for alone).
        let mut backfill_ok = true;
        let tip = match ingester.backfill().await {
            Ok(report) => {
                passes.read_through = Some(report.read_through_slot);
                passes.read_all_at = Some(Instant::now());
                if report.discovered > 0 {
                    tracing::info!(
                        discovered = report.discovered,
                        transactions = report.transactions,
                        "history read"
                    );
                }
                Some(report.tip_slot)
            }
            Err(error) => {
                backfill_ok = false;
                passes.read_all_at = None;
                tracing::warn!("backfill failed: {error:#}");
                self.chain
                    .client()
                    .get_slot_with_commitment(self.settings.history_commitment)
                    .await
                    .ok()
            }
        };
        if let (Some(read), Some(tip)) = (passes.read_through, tip) {
            self.metrics
                .cursor_lag_slots
                .set(i64::try_from(tip.saturating_sub(read)).unwrap_or(i64::MAX));
        }
        backfill_ok
    }

    /// Sets the requests per state and the oldest open request's age; false when the store
    /// could not say (logged).
    async fn count_requests(&self) -> bool {
        let mut ok = true;
        match self.store.counts().await {
            Ok(counts) => {
                for (state, count) in counts {
                    self.metrics
                        .requests
                        .with_label_values(&[state.as_str()])
                        .set(count);
                }
            }
            Err(error) => {
                ok = false;
                tracing::warn!("cannot count requests: {error}");
            }
        }
        match self.store.oldest_open_discovered_ms().await {
            Ok(oldest) => self
                .metrics
                .oldest_open_age_seconds
                .set(oldest.map_or(0, |at| now_ms().saturating_sub(at).max(0) / 1_000)),
            Err(error) => {
                ok = false;
                tracing::warn!("cannot read the oldest open request: {error}");
            }
        }
        ok
    }

    /// Sets the fee payer's balance and, under on-chain payouts, the treasury's balance per
    /// payout mint of `pools` (failures are counted or logged).
    async fn read_balances(&self, pools: &BTreeSet<Pubkey>) {
        match self
            .chain
            .client()
            .get_balance(&self.authority.pubkey())
            .await
        {
            Ok(lamports) => self
                .metrics
                .fee_payer_lamports
                .set(i64::try_from(lamports).unwrap_or(i64::MAX)),
            Err(error) => {
                self.metrics.failed_call("getBalance", error);
            }
        }
        if let Payout::Onchain { treasury } = &self.settings.payout {
            let served: Vec<Pubkey> = pools.iter().copied().collect();
            match crate::treasury::balances(
                &self.chain,
                &served,
                &self.authority.pubkey(),
                *treasury,
            )
            .await
            {
                Ok(balances) => {
                    for balance in balances {
                        self.metrics
                            .treasury_base_units
                            .with_label_values(&[&balance.mint.to_string()])
                            .set(i64::try_from(balance.base_units).unwrap_or(i64::MAX));
                    }
                }
                Err(error) => tracing::warn!("cannot read the treasury's balance: {error:#}"),
            }
        }
    }

    /// Compares the provider's ledger of the last day with the store and the chain, counting and
    /// logging each finding (a failure is logged).
    async fn reconcile_ledger(&self, provider: &HttpProvider) {
        let since_ms = now_ms().saturating_sub(RECONCILE_WINDOW_MS);
        match reconcile::run(provider, &self.store, &self.chain, since_ms).await {
            Ok(findings) => {
                for kind in FindingKind::ALL {
                    let count = findings.iter().filter(|f| f.kind == kind).count();
                    self.metrics
                        .reconcile_findings
                        .with_label_values(&[kind.as_str()])
                        .set(i64::try_from(count).unwrap_or(i64::MAX));
                }
                for finding in findings {
                    tracing::error!(address = %finding.address, kind = finding.kind.as_str(), "reconciliation: {}", finding.detail);
                }
            }
            Err(error) => tracing::warn!("reconciliation failed: {error:#}"),
        }
    }

    /// Waits for the next pass: a poll interval ([`HINTED_INTERVAL`] within a window of a live
    /// hint), cut short by a hint (which opens a new window) or by the stop.
    async fn pause(&self, passes: &mut Passes) {
        let now = Instant::now();
        let pause = if now < passes.hinted_until {
            HINTED_INTERVAL
        } else {
            self.settings.poll_interval
        };
        // Requests deferred meanwhile (waiting for companions, a settle transaction's status,
        // a lock's finality) are taken at the next pass: draining them as they fall due
        // (`work_until`, tried on 2026-12-04) polled the node so often that the in-process
        // validator slowed and `bridge_figures` fell from about 8 to 2 requests/s.
        let mut stop_wait = self.stop.clone();
        tokio::select! {
            () = self.wake.notified() => passes.hinted_until = Instant::now() + HINT_WINDOW,
            () = tokio::time::sleep(pause) => {}
            _ = stop_wait.wait_for(|stopped| *stopped) => {}
        }
    }

    /// Hands back the ingester lease, gives the hints and the metrics endpoint up to 5 s each to
    /// end, and closes the store.
    async fn shut_down(
        self,
        hints: Option<JoinHandle<()>>,
        metrics_server: JoinHandle<()>,
    ) -> Result<()> {
        tracing::info!("stopping: handing back the ingester lease");
        if self.settings.ingest {
            self.store
                .release_lease(INGEST_LEASE, &self.settings.worker)
                .await?;
        }
        if let Some(hints) = hints {
            let _ = tokio::time::timeout(Duration::from_secs(5), hints).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), metrics_server).await;
        self.store.close().await;
        Ok(())
    }
}

/// The names under which a worker's `lanes` claim requests: its own name for one lane (as
/// before lanes existed), `<name>#<lane>` for several — distinct, so no two lanes ever hold
/// the same request.
fn lane_names(worker: &str, lanes: usize) -> Vec<String> {
    if lanes <= 1 {
        return vec![worker.to_owned()];
    }
    (0..lanes).map(|lane| format!("{worker}#{lane}")).collect()
}

/// Drains due requests on every lane at once; false when a lane failed (logged).
async fn drain_lanes(lanes: &[Worker<'_>], stopped: &dyn Fn() -> bool) -> bool {
    let results = futures::future::join_all(lanes.iter().map(|lane| lane.drain(stopped))).await;
    let mut all_ok = true;
    for (lane, result) in lanes.iter().zip(results) {
        if let Err(error) = result {
            all_ok = false;
            tracing::warn!(lane = lane.name, "payout pass failed: {error:#}");
        }
    }
    all_ok
}

/// The longest wait between two start-up checks while the node cannot be reached.
const UNREACHABLE_RETRY_MAX: Duration = Duration::from_secs(30);

/// [`check_pools`] then [`served_pools`], retried while the node cannot be reached (1 s, 2 s,
/// 4 s … at most [`UNREACHABLE_RETRY_MAX`] apart, each failure logged): a bridge started before
/// its node, or during an outage, waits for it instead of exiting. Any other failure (a pool
/// missing, another settlement authority) is returned at once. The pools to serve, or `None`
/// when `stop` came first.
async fn check_pools_once_reachable(
    chain: &RpcChain,
    store: &Store,
    settings: &Settings,
    authority: &Pubkey,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<BTreeSet<Pubkey>>> {
    let mut wait = Duration::from_secs(1);
    loop {
        let checked = match check_pools(chain, store, settings, authority).await {
            Ok(()) => served_pools(chain, settings, authority).await,
            Err(error) => Err(error),
        };
        match checked {
            Ok(pools) => return Ok(Some(pools)),
            Err(error) if node_unreachable(&error) => {
                tracing::warn!(retry_in_seconds = wait.as_secs(), "{error:#}");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return Ok(None),
                }
                wait = (wait * 2).min(UNREACHABLE_RETRY_MAX);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether `error` (from [`check_pools`], whose chain reads are account fetches) comes from a
/// node that could not be reached at all.
fn node_unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<FetchError>()
            .is_some_and(FetchError::is_unreachable)
    })
}

/// Every configured pool exists and names `authority` as its settlement authority, unless
/// `store` holds payouts of that pool still under way: a key that lost the authority (an
/// operator transfer) still settles the requests it locked, so the bridge starts to finish them
/// (new requests of the pool go to manual review).
async fn check_pools(
    chain: &RpcChain,
    store: &Store,
    settings: &Settings,
    authority: &Pubkey,
) -> Result<()> {
    for address in &settings.pools {
        let pool = accounts::fetch::<Pool>(chain, *address)
            .await
            .with_context(|| format!("cannot read pool {address} from {}", settings.rpc_url))?
            .with_context(|| format!("pool {address} does not exist on {}", settings.rpc_url))?;
        let current = pool.exchange.settlement_authority;
        if current != *authority {
            let under_way = store.payouts_under_way(&address.to_string()).await?;
            ensure!(
                under_way > 0,
                "the settlement keypair {authority} is not the settlement authority of pool {address} (it is {current})"
            );
            tracing::warn!(%address, %current, under_way, "this bridge's key is no longer the pool's settlement authority: it finishes the payouts it locked, and sends new requests of the pool to manual review");
        }
        if matches!(settings.payout, Payout::Onchain { .. }) {
            ensure!(
                pool.exchange.payout_mint.is_some(),
                "payout kind \"onchain\" needs a payout mint, and pool {address} has none"
            );
        }
    }
    Ok(())
}

/// The pools to serve: those of the file and, with `discover_pools`, every pool whose settlement
/// authority is `authority` (one whose requests this bridge could not pay, a pool without a
/// payout mint under on-chain payouts, is left out and logged).
async fn served_pools(
    chain: &RpcChain,
    settings: &Settings,
    authority: &Pubkey,
) -> Result<BTreeSet<Pubkey>> {
    let mut pools: BTreeSet<Pubkey> = settings.pools.iter().copied().collect();
    if settings.discover_pools {
        let found = accounts::pools_settled_by(chain, authority)
            .await
            .with_context(|| format!("cannot list the pools on {}", settings.rpc_url))?;
        for (address, pool) in found {
            if matches!(settings.payout, Payout::Onchain { .. })
                && pool.exchange.payout_mint.is_none()
            {
                tracing::warn!(%address, "pool settled by this bridge has no payout mint for on-chain payouts: not served");
                continue;
            }
            pools.insert(address);
        }
    }
    Ok(pools)
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::lane_names;

    #[test]
    fn lanes_claim_under_distinct_names() {
        assert_eq!(lane_names("w1", 1), ["w1"]);
        assert_eq!(lane_names("w1", 3), ["w1#0", "w1#1", "w1#2"]);
    }
}
