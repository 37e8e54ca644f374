//! Prometheus metrics and the `/metrics`, `/livez` and `/readyz` (alias `/healthz`) endpoints.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::rpc_failure::RpcFailure;
use crate::state::ALL_STATES;
use crate::store::now_ms;

/// The bridge's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests in each state (`state` label).
    pub requests: IntGaugeVec,
    /// Slots between the history's tip and the tip the last complete backfill read through.
    pub cursor_lag_slots: IntGauge,
    /// Pools served now (those of the file, and those found by settlement authority).
    pub pools_served: IntGauge,
    /// Failed JSON-RPC calls (`method` label).
    pub rpc_errors: IntCounterVec,
    /// Websocket subscriptions re-established.
    pub reconnects: IntCounter,
    /// Requests newly stored (from events or the reconcile pass; `source` label).
    pub discovered: IntCounterVec,
    /// Transactions of the history skipped (`reason`: failed, undecodable, `own_settle`: a
    /// settle transaction this bridge stored, passed over unread) or left for the next pass
    /// (`not_served_yet`: listed, but `getTransaction` answered null).
    pub skipped_transactions: IntCounterVec,
    /// Seconds from discovery to settlement.
    pub payout_latency: Histogram,
    /// Provider answers by result (`paid`, `retry`, `refused`, and `lookup_*` for lookups).
    pub payout_outcomes: IntCounterVec,
    /// Seconds since the oldest request that is not final was discovered (0: none open).
    pub oldest_open_age_seconds: IntGauge,
    /// Lamports the settlement authority (the fee payer of locks and settlements) holds.
    pub fee_payer_lamports: IntGauge,
    /// Base units held by the treasury of each payout mint (on-chain payouts only).
    pub treasury_base_units: IntGaugeVec,
    /// Disagreements the last reconciliation found (`kind` label).
    pub reconcile_findings: IntGaugeVec,
    /// When the last full pass ended (unix ms), for `/healthz`.
    last_pass_ms: AtomicI64,
    /// How old the last pass may be before `/healthz` fails.
    stale_after: Duration,
}

impl Metrics {
    /// The metrics; `/healthz` fails when no pass ended within `stale_after`.
    pub fn new(stale_after: Duration) -> Arc<Self> {
        let registry = Registry::new();
        let requests = IntGaugeVec::new(
            Opts::new("allot_bridge_requests", "Exchange requests by state"),
            &["state"],
        )
        .expect("valid metric");
        let cursor_lag_slots = IntGauge::new(
            "allot_bridge_cursor_lag_slots",
            "Slots between the history tip when the last full backfill started and what the last complete one read through",
        )
        .expect("valid metric");
        let pools_served = IntGauge::new(
            "allot_bridge_pools_served",
            "Pools whose requests this bridge pays now",
        )
        .expect("valid metric");
        let rpc_errors = IntCounterVec::new(
            Opts::new("allot_bridge_rpc_errors_total", "Failed JSON-RPC calls"),
            &["method"],
        )
        .expect("valid metric");
        let reconnects = IntCounter::new(
            "allot_bridge_ws_reconnects_total",
            "Websocket subscriptions re-established",
        )
        .expect("valid metric");
        let discovered = IntCounterVec::new(
            Opts::new("allot_bridge_discovered_total", "Requests newly stored"),
            &["source"],
        )
        .expect("valid metric");
        let skipped_transactions = IntCounterVec::new(
            Opts::new(
                "allot_bridge_skipped_transactions_total",
                "History transactions skipped",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let payout_latency = Histogram::with_opts(
            HistogramOpts::new(
                "allot_bridge_payout_latency_seconds",
                "Seconds from discovery to settlement",
            )
            .buckets(vec![1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0]),
        )
        .expect("valid metric");
        let payout_outcomes = IntCounterVec::new(
            Opts::new(
                "allot_bridge_payout_outcomes_total",
                "Payment provider answers by result",
            ),
            &["result"],
        )
        .expect("valid metric");
        let oldest_open_age_seconds = IntGauge::new(
            "allot_bridge_oldest_open_request_age_seconds",
            "Seconds since the oldest request that is not final was discovered",
        )
        .expect("valid metric");
        let fee_payer_lamports = IntGauge::new(
            "allot_bridge_fee_payer_lamports",
            "Lamports of the settlement authority, which pays for locks and settlements",
        )
        .expect("valid metric");
        let treasury_base_units = IntGaugeVec::new(
            Opts::new(
                "allot_bridge_treasury_base_units",
                "Base units of the payout mint in the treasury that on-chain payouts come from",
            ),
            &["mint"],
        )
        .expect("valid metric");
        let reconcile_findings = IntGaugeVec::new(
            Opts::new(
                "allot_bridge_reconcile_findings",
                "Disagreements between the provider's ledger, the store and the chain",
            ),
            &["kind"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(cursor_lag_slots.clone()),
            Box::new(pools_served.clone()),
            Box::new(rpc_errors.clone()),
            Box::new(reconnects.clone()),
            Box::new(discovered.clone()),
            Box::new(skipped_transactions.clone()),
            Box::new(payout_latency.clone()),
            Box::new(payout_outcomes.clone()),
            Box::new(oldest_open_age_seconds.clone()),
            Box::new(fee_payer_lamports.clone()),
            Box::new(treasury_base_units.clone()),
            Box::new(reconcile_findings.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        for state in ALL_STATES {
            requests.with_label_values(&[state.as_str()]).set(0);
        }
        Arc::new(Self {
            registry,
            requests,
            cursor_lag_slots,
            pools_served,
            rpc_errors,
            reconnects,
            discovered,
            skipped_transactions,
            payout_latency,
            payout_outcomes,
            oldest_open_age_seconds,
            fee_payer_lamports,
            treasury_base_units,
            reconcile_findings,
            last_pass_ms: AtomicI64::new(now_ms()),
            stale_after,
        })
    }

    /// Counts a failed RPC call.
    pub fn rpc_failed(&self, failure: &RpcFailure) {
        self.rpc_errors.with_label_values(&[failure.method]).inc();
    }

    /// `result`, its failure counted under its JSON-RPC method.
    pub fn counted<T>(&self, result: Result<T, RpcFailure>) -> anyhow::Result<T> {
        result.map_err(|failure| {
            self.rpc_failed(&failure);
            failure.into()
        })
    }

    /// A failed call of `method`, counted.
    pub fn failed_call(&self, method: &'static str, error: impl ToString) -> anyhow::Error {
        let failure = RpcFailure::new(method, error);
        self.rpc_failed(&failure);
        failure.into()
    }

    /// Notes that a full pass ended now.
    pub fn pass_ended(&self) {
        self.last_pass_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Whether a pass ended recently enough.
    pub fn healthy(&self) -> bool {
        let age = now_ms().saturating_sub(self.last_pass_ms.load(Ordering::Relaxed));
        u128::try_from(age).unwrap_or(0) <= self.stale_after.as_millis()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("text encoding cannot fail");
        String::from_utf8(text).expect("the exposition is UTF-8")
    }
}

/// Serves `/metrics`, `/livez`, `/readyz` and `/healthz` on `addr` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/livez", get(alive))
        .route("/readyz", get(health))
        .route("/healthz", get(health))
        .with_state(metrics);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render_metrics(State(metrics): State<Arc<Metrics>>) -> String {
    metrics.render()
}

/// Liveness: the process serves (restart it when this fails).
async fn alive() -> &'static str {
    "alive\n"
}

/// Readiness (also `/healthz`): a full pass ended recently (stop routing work to it when this
/// fails).
async fn health(State(metrics): State<Arc<Metrics>>) -> (StatusCode, &'static str) {
    if metrics.healthy() {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no pass completed recently\n",
        )
    }
}
