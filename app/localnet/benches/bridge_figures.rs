//! Bridge figures against localnet: requests settled per second (the requests exist before the
//! bridges start) and discovery → settlement latency (p50/p95) with one worker on SQLite, one on
//! PostgreSQL and four sharing PostgreSQL (HTTP payouts to a local provider); the time for a
//! killed (`kill -9`) bridge to settle again after a restart; and the backfill rate of the history
//! path over everything the run wrote, into SQLite and into PostgreSQL. Prints a table and writes
//! `target/allot-bridge-figures.json`.
//!
//! `cargo bench --manifest-path app/localnet/Cargo.toml --bench bridge_figures --profile dev`
//! (`--profile dev`: the release profile would rebuild the whole validator optimised).

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use allot::state::Pool;
use allot_bridge::ingest::{BackfillReport, Ingester};
use allot_bridge::metrics::Metrics;
use allot_bridge::store::Store;
use allot_bridge::test_support::postgres::TestPostgres;
use allot_bridge::test_support::provider::TestProvider;
use allot_client::rpc_chain::RpcChain;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::prelude::Pubkey;
use common::bridge_harness::{Bridge, Market, send};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_signer::Signer;

#[path = "../tests/common/mod.rs"]
mod common;

/// Each user opens two requests of 5 units (the example pool allocates 10, minimum holding 5).
const REQUESTS_PER_USER: usize = 2;
/// Users per request-opening transaction (two requests each: four instructions).
const USERS_PER_TRANSACTION: usize = 2;

/// One measured run: `workers` bridges on `store` drain `users × 2` requests.
struct Run {
    store: &'static str,
    workers: usize,
    users: usize,
}

const RUNS: [Run; 3] = [
    Run {
        store: "SQLite",
        workers: 1,
        users: 125,
    },
    Run {
        store: "PostgreSQL",
        workers: 1,
        users: 125,
    },
    Run {
        store: "PostgreSQL",
        workers: 4,
        users: 250,
    },
];

struct Figures {
    store: &'static str,
    workers: usize,
    requests: usize,
    seconds: f64,
    p50_ms: i64,
    p95_ms: i64,
    /// Distinct settle transactions that settled the run's requests (batches share one).
    settle_transactions: usize,
}

/// Opens two requests for each of `users`, several users per transaction (the pool hands out
/// request ids in order, so transactions go one after another); returns the addresses.
async fn open_requests(market: &Market, users: Range<usize>) -> Vec<Pubkey> {
    let mut addresses = Vec::new();
    let users: Vec<usize> = users.collect();
    for group in users.chunks(USERS_PER_TRANSACTION) {
        let pool: Pool = accounts::fetch(&market.chain, market.pool)
            .await
            .unwrap()
            .unwrap();
        let mut id = pool.exchange_state.next_request_id;
        let mut ixs = Vec::new();
        let mut signers: Vec<&Keypair> = vec![&market.operator.0];
        for &n in group {
            let user = &market.users[n].0;
            for _ in 0..REQUESTS_PER_USER {
                ixs.push(instructions::exchange_request(
                    &user.pubkey(),
                    &user.pubkey(),
                    &market.pool,
                    id,
                    5,
                ));
                addresses.push(pdas::exchange_request(&market.pool, id));
                id += 1;
            }
            signers.push(user);
        }
        send(&market.chain, &ixs, &signers).await;
    }
    addresses
}

async fn settle_run(
    market: &Market,
    run: &Run,
    first_user: usize,
    database: &str,
    provider: &TestProvider,
) -> Figures {
    let payout = format!("[payout]\nkind = \"http\"\nurl = \"{}\"\n", provider.url);
    let requests = open_requests(market, first_user..first_user + run.users).await;
    let started = Instant::now();
    let mut bridges = Vec::new();
    for worker in 0..run.workers {
        let name = format!("{}-{}-{worker}", run.store, run.workers);
        let (config, _) = market.bridge_config(&name, database, &payout, 500, &market.ws_url);
        bridges.push(Bridge::spawn(&config, None));
    }
    market.wait_settled(&requests, &mut bridges).await;
    let seconds = started.elapsed().as_secs_f64();
    for bridge in bridges {
        assert!(bridge.stop().await.success());
    }
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
    let settle_transactions = rows
        .iter()
        .filter_map(|r| r.settle_signature.as_deref())
        .collect::<HashSet<_>>()
        .len();
    Figures {
        store: run.store,
        workers: run.workers,
        requests: requests.len(),
        seconds,
        p50_ms: at(50),
        p95_ms: at(95),
        settle_transactions,
    }
}

/// One backfill pass of the history into the empty database at `url`; its report and seconds.
async fn backfill(chain: &RpcChain, url: &str, pool: Pubkey) -> (BackfillReport, f64) {
    let store = Store::open(url).await.unwrap();
    let pools: HashSet<Pubkey> = [pool].into_iter().collect();
    let metrics = Metrics::new(Duration::from_secs(60));
    let ingester = Ingester {
        chain,
        store: &store,
        pools: &pools,
        commitment: CommitmentConfig::finalized(),
        worker: "figures",
        metrics: &metrics,
    };
    let started = Instant::now();
    let report = ingester.backfill().await.expect("backfill");
    (report, started.elapsed().as_secs_f64())
}

/// Every signature of the program's history at `commitment`, paged back to the beginning.
async fn history(chain: &RpcChain, commitment: CommitmentConfig) -> HashSet<String> {
    let mut all = HashSet::new();
    let mut before = None;
    loop {
        let page = chain
            .client()
            .get_signatures_for_address_with_config(
                &allot::ID,
                GetConfirmedSignaturesForAddress2Config {
                    before,
                    until: None,
                    limit: Some(1_000),
                    commitment: Some(commitment),
                },
            )
            .await
            .expect("history page");
        let Some(last) = page.last() else {
            return all;
        };
        before = Some(last.signature.parse().unwrap());
        let full = page.len() == 1_000;
        all.extend(page.into_iter().map(|entry| entry.signature));
        if !full {
            return all;
        }
    }
}

#[tokio::main]
async fn main() {
    let measured_users: usize = RUNS.iter().map(|r| r.users).sum();
    let market = Market::open(7_899, 7_950, measured_users + 1, false).await;
    let provider = TestProvider::start().await.unwrap();
    let postgres = TestPostgres::start().expect("a PostgreSQL server");
    let sqlite = format!(
        "sqlite://{}",
        market.dir.path().join("figures.db").display()
    );

    let mut figures = Vec::new();
    let mut first_user = 0;
    for run in &RUNS {
        // A fresh database per run: each run's rows are its own requests.
        let database = match run.store {
            "SQLite" => sqlite.clone(),
            _ => postgres.database().await.unwrap().url,
        };
        figures.push(settle_run(&market, run, first_user, &database, &provider).await);
        first_user += run.users;
    }

    // kill -9 with a request in flight, restart: time until it is settled.
    let payout = format!("[payout]\nkind = \"http\"\nurl = \"{}\"\n", provider.url);
    let (config, _) = market.bridge_config("sqlite", &sqlite, &payout, 500, &market.ws_url);
    let (last, _) = market.request(measured_users, 5).await;
    let killed = Bridge::spawn(&config, Some("paid"));
    killed.wait_crash("paid").await;
    let restarted = Instant::now();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&[last], &mut bridge).await;
    let resume_seconds = restarted.elapsed().as_secs_f64();
    assert!(bridge.pop().unwrap().stop().await.success());

    // The history path alone, from an empty database on each store: transactions read per
    // second.
    let chain = RpcChain::new(market.url.clone(), CommitmentConfig::confirmed());
    let fresh_sqlite = format!(
        "sqlite://{}",
        market.dir.path().join("backfill.db").display()
    );
    let fresh_postgres = postgres.database().await.unwrap().url;
    let mut backfills = Vec::new();
    for (store, url) in [("SQLite", fresh_sqlite), ("PostgreSQL", fresh_postgres)] {
        let (report, seconds) = backfill(&chain, &url, market.pool).await;
        backfills.push((store, report, seconds));
    }
    // What the history held, read independently, and whether the settle transactions of the
    // SQLite run are in it: the backfill figure is only as good as its coverage.
    let finalized = history(&chain, CommitmentConfig::finalized()).await;
    let confirmed = history(&chain, CommitmentConfig::confirmed()).await;
    let settles: HashSet<String> = Store::open(&sqlite)
        .await
        .unwrap()
        .requests()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.settle_signature)
        .collect();
    let settles_in_history = settles.iter().filter(|s| finalized.contains(*s)).count();
    println!(
        "history of the program: {} transactions finalized, {} confirmed; SQLite run's settle \
         transactions in the finalized history: {settles_in_history} of {}",
        finalized.len(),
        confirmed.len(),
        settles.len()
    );

    println!(
        "| store | workers | requests | settle transactions | all settled in | requests/s | p50 discovered→settled | p95 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for f in &figures {
        println!(
            "| {} | {} | {} | {} | {:.1} s | {:.1} | {:.1} s | {:.1} s |",
            f.store,
            f.workers,
            f.requests,
            f.settle_transactions,
            f.seconds,
            f.requests as f64 / f.seconds,
            f.p50_ms as f64 / 1000.0,
            f.p95_ms as f64 / 1000.0
        );
    }
    println!("kill -9 at `paid`, restart → settled: {resume_seconds:.1} s");
    for (store, report, seconds) in &backfills {
        println!(
            "backfill on {store}: {} transactions ({} requests) in {seconds:.1} s ({:.0}/s)",
            report.transactions,
            report.discovered,
            report.transactions as f64 / seconds
        );
    }
    let runs: Vec<_> = figures
        .iter()
        .map(|f| {
            json!({
                "store": f.store, "workers": f.workers, "requests": f.requests,
                "seconds": f.seconds, "p50_ms": f.p50_ms, "p95_ms": f.p95_ms,
                "settle_transactions": f.settle_transactions,
            })
        })
        .collect();
    let figures = json!({
        "runs": runs,
        "resume_after_kill_seconds": resume_seconds,
        "backfill": backfills
            .iter()
            .map(|(store, report, seconds)| json!({
                "store": store,
                "transactions": report.transactions,
                "discovered": report.discovered,
                "seconds": seconds,
            }))
            .collect::<Vec<_>>(),
    });
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/allot-bridge-figures.json"
    );
    std::fs::write(path, serde_json::to_string_pretty(&figures).unwrap()).unwrap();
    println!("written to {path}");
}
