//! Bridge figures against localnet: requests settled per second (the requests exist before the
//! bridge starts) and discovery → settlement latency (p50/p95) on SQLite and on PostgreSQL (HTTP payouts to a local provider), the time
//! for a killed (`kill -9`) bridge to settle again after a restart, and the backfill rate of the
//! history path. Prints a table and writes `target/allot-bridge-figures.json`.
//!
//! `cargo bench --manifest-path app/localnet/Cargo.toml --bench bridge_figures --profile dev`
//! (`--profile dev`: the release profile would rebuild the whole validator optimised).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use allot_bridge::ingest::Ingester;
use allot_bridge::metrics::Metrics;
use allot_bridge::store::Store;
use allot_bridge::test_support::postgres::TestPostgres;
use allot_bridge::test_support::provider::TestProvider;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use common::bridge_harness::{Bridge, Market};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;

#[path = "../tests/common/mod.rs"]
mod common;

/// Requests per store (each user requests twice).
const REQUESTS: usize = 20;

struct Figures {
    store: &'static str,
    requests: usize,
    seconds: f64,
    p50_ms: i64,
    p95_ms: i64,
}

async fn settle_batch(
    market: &Market,
    first_user: usize,
    database: &str,
    name: &str,
    provider: &TestProvider,
    store: &'static str,
) -> Figures {
    let payout = format!("[payout]\nkind = \"http\"\nurl = \"{}\"\n", provider.url);
    let (config, _) = market.bridge_config(name, database, &payout, 500, &market.ws_url);
    let mut requests = Vec::new();
    for n in 0..REQUESTS {
        requests.push(market.request(first_user + n / 2, 5).await.0);
    }
    let started = Instant::now();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&requests, &mut bridge).await;
    let seconds = started.elapsed().as_secs_f64();
    assert!(bridge.pop().unwrap().stop().await.success());
    let rows = Store::open(database)
        .await
        .unwrap()
        .requests()
        .await
        .unwrap();
    let mut latencies: Vec<i64> = rows
        .iter()
        .filter_map(|r| Some(r.settled_at_ms? - r.discovered_at_ms))
        .collect();
    latencies.sort_unstable();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    Figures {
        store,
        requests: requests.len(),
        seconds,
        p50_ms: at(50),
        p95_ms: at(95),
    }
}

#[tokio::main]
async fn main() {
    let users = REQUESTS + 2;
    let market = Market::open(7_899, 7_950, users, false).await;
    let provider = TestProvider::start().await.unwrap();

    let sqlite = format!(
        "sqlite://{}",
        market.dir.path().join("figures.db").display()
    );
    let on_sqlite = settle_batch(&market, 0, &sqlite, "sqlite", &provider, "SQLite").await;
    let postgres = TestPostgres::start().expect("a PostgreSQL server");
    let database = postgres.database().await.unwrap();
    let on_postgres = settle_batch(
        &market,
        REQUESTS / 2,
        &database.url,
        "postgres",
        &provider,
        "PostgreSQL",
    )
    .await;

    // kill -9 with a request in flight, restart: time until it is settled.
    let payout = format!("[payout]\nkind = \"http\"\nurl = \"{}\"\n", provider.url);
    let (config, _) = market.bridge_config("sqlite", &sqlite, &payout, 500, &market.ws_url);
    let (last, _) = market.request(REQUESTS, 5).await;
    let killed = Bridge::spawn(&config, Some("paid"));
    killed.wait_crash("paid").await;
    let restarted = Instant::now();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&[last], &mut bridge).await;
    let resume_seconds = restarted.elapsed().as_secs_f64();
    assert!(bridge.pop().unwrap().stop().await.success());

    // The history path alone, from an empty database: transactions read per second.
    let chain = RpcChain::new(market.url.clone(), CommitmentConfig::confirmed());
    let fresh = format!(
        "sqlite://{}",
        market.dir.path().join("backfill.db").display()
    );
    let store = Store::open(&fresh).await.unwrap();
    let pools: HashSet<Pubkey> = [market.pool].into_iter().collect();
    let metrics = Metrics::new(Duration::from_secs(60));
    let ingester = Ingester {
        chain: &chain,
        store: &store,
        pools: &pools,
        commitment: CommitmentConfig::finalized(),
        worker: "figures",
        metrics: &metrics,
    };
    let started = Instant::now();
    let report = ingester.backfill().await.expect("backfill");
    let backfill_seconds = started.elapsed().as_secs_f64();

    println!("| store | requests | settled in | requests/s | p50 discovered→settled | p95 |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for f in [&on_sqlite, &on_postgres] {
        println!(
            "| {} | {} | {:.1} s | {:.2} | {:.1} s | {:.1} s |",
            f.store,
            f.requests,
            f.seconds,
            f.requests as f64 / f.seconds,
            f.p50_ms as f64 / 1000.0,
            f.p95_ms as f64 / 1000.0
        );
    }
    println!("kill -9 at `paid`, restart → settled: {resume_seconds:.1} s");
    println!(
        "backfill: {} transactions ({} requests) in {backfill_seconds:.1} s ({:.0}/s)",
        report.transactions,
        report.discovered,
        report.transactions as f64 / backfill_seconds
    );
    let stores: Vec<_> = [&on_sqlite, &on_postgres]
        .iter()
        .map(|f| {
            json!({
                "store": f.store, "requests": f.requests, "seconds": f.seconds,
                "p50_ms": f.p50_ms, "p95_ms": f.p95_ms,
            })
        })
        .collect();
    let figures = json!({
        "stores": stores,
        "resume_after_kill_seconds": resume_seconds,
        "backfill": {
            "transactions": report.transactions,
            "discovered": report.discovered,
            "seconds": backfill_seconds,
        },
    });
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/allot-bridge-figures.json"
    );
    std::fs::write(path, serde_json::to_string_pretty(&figures).unwrap()).unwrap();
    println!("written to {path}");
}
