//! Bridge figures against localnet. First the chain's own rate for the transactions the bridge
//! sends (a loop of pre-signed locks and batched settlements). Then requests settled per second
//! (the requests exist before the bridges start), against that rate, and discovery → settlement
//! latency (p50/p95) with one worker on SQLite, one on PostgreSQL, four sharing PostgreSQL and
//! one of eight lanes (`payout_concurrency`) on PostgreSQL (HTTP payouts to a local provider),
//! draining 2,000 and then 10,000 pending requests (with each bridge's peak memory);
//! then the latency of requests arriving at a steady 4 a second while one worker runs, on each
//! store, and again on PostgreSQL with allocations sent beside them at ten times their rate
//! (40 a second, five to a transaction, to users credentialed for them and never allocated),
//! with the JSON-RPC calls they made per request (counted by a recording proxy); a platform's
//! bridge serving 1,000 pools it finds on chain (`discover_pools`), one request in each; a
//! backlog of 2,000 paid on chain in a stablecoin (the pool switched to it for those runs) by one
//! worker and by four, against a raw loop of the same settlements with payouts measured first;
//! the backlog of 2,000 on SQLite over HTTP and on chain, and by four workers over HTTP; the
//! backlog of 2,000 on PostgreSQL paid on confirmed locks (`lock_commitment`, run 14); the
//! time for a killed (`kill -9`) bridge to settle again after a restart; and the backfill rate
//! of the history path over everything the run wrote, into SQLite and into PostgreSQL. Prints a
//! table and writes `target/allot-bridge-figures.json`.
//!
//! `cargo bench --manifest-path app/localnet/Cargo.toml --bench bridge_figures --profile figures`
//! for figures (the validator and bridges optimised: a separate ~28-minute first build; the
//! README's latest table), or `--profile dev` for a quick run on the tests' debug build (its
//! figures measure mostly the debug validator);
//! `ALLOT_FIGURES_RUNS=0,4` measures only those of the runs below. Each run also prints the
//! mean time its requests spent in each state (from the bridge's transitions), and where the
//! machine's CPU time went meanwhile (the bench's own process, which runs the validator; the
//! bridges; the other processes, PostgreSQL's; idle: `common/cpu.rs`).
//! `ALLOT_BRIDGE_LOG_DIR` keeps the bridges' logs (see the harness). The validator's threads
//! that poll without sleeping run at the lowest priority (`common/polling_threads.rs`: on a
//! cluster they have the validator's own cores); `ALLOT_FIGURES_POLLING=keep` leaves them be.

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use allot::instructions::CredentialIssueArgs;
use allot::state::{AllocationRecord, ExchangeRequest, Pool, RequestStatus};
use allot_bridge::config::FeePolicy;
use allot_bridge::ingest::{BackfillReport, Ingester};
use allot_bridge::metrics::Metrics;
use allot_bridge::recent::Recent;
use allot_bridge::settle::{self, SettleOrder, SignedSettle};
use allot_bridge::store::{Cursor, ReadTransaction, Store, TimeInState, time_in_states};
use allot_bridge::test_support::postgres::TestPostgres;
use allot_bridge::test_support::provider::TestProvider;
use allot_bridge::test_support::rpc_counter::RpcCounter;
use allot_cli::pool_file::PoolFile;
use allot_client::accounts;
use allot_client::compute_budget::{ComputeBudget, MAX_COMPUTE_UNITS};
use allot_client::instructions::{self, Evidence, allocate};
use allot_client::pdas;
use allot_client::rpc_chain::RpcChain;

use anchor_lang::prelude::Pubkey;
use common::bridge_harness::{
    BASE_UNITS_PER_CENT, Bridge, Market, OPENING_IN_FLIGHT, UNITS_PER_REQUEST, balance,
    create_stablecoin, http_payout, send,
};
use common::{cpu, polling_threads};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_sdk::signature::Signature;
use solana_signer::Signer as _;
use spl_token_2022_interface::ID as TOKEN_2022;

#[path = "../tests/common/mod.rs"]
mod common;

/// One measured run: `workers` bridges of `lanes` lanes each (`payout_concurrency`) on `store`
/// settle `users × each` requests, opened before the bridges start (`arrival: None`, a backlog to
/// drain) or while they run, one transaction of four requests every `arrival` (`each` 2), with
/// allocations sent beside a steady arrival when `allocations_beside` says so.
struct Run {
    store: &'static str,
    workers: usize,
    lanes: usize,
    users: usize,
    /// Requests each user opens (of 5 units; users are allocated [`UNITS_PER_USER`]).
    each: usize,
    arrival: Option<Duration>,
    /// Allocations sent beside a steady arrival for each request arriving (0: none; 10: ten times
    /// the requests' rate), each to a bystander: a user credentialed in the pool, never allocated.
    allocations_beside: u32,
    /// 0: the requests are the market pool's. Otherwise the run creates this many pools of its
    /// own (settlement authority: the bridge's key), one request each from a new user of that
    /// pool, and its bridge finds them on chain (`discover_pools`): a platform's bridge serving
    /// its merchants' pools.
    new_pools: usize,
    /// How the bridge pays: the market's pool is switched to a stablecoin payout mint before an
    /// on-chain run, and back before the next run paying over HTTP and after the runs (requests
    /// freeze the mint when they are made).
    payout: Payout,
}

impl Run {
    /// The allocations sent beside the run: one to each of as many bystanders.
    fn allocations(&self) -> usize {
        self.users * self.each * self.allocations_beside as usize
    }

    /// The market's users the run's requests come from (a run with pools of its own makes new
    /// users for them).
    fn market_users(&self) -> usize {
        if self.new_pools > 0 { 0 } else { self.users }
    }
}

/// Units the bench's pool allocates each user: enough for the 10,000-request run's 20 requests
/// of 5 units, and for a raw user's two loops of [`RAW_REQUESTS_PER_USER`] (the example pool
/// allocates 10).
const UNITS_PER_USER: u64 = 100;

/// Requests a second arriving in the steady runs: one transaction of
/// [`REQUESTS_PER_ARRIVAL`] requests every [`STEADY_EVERY`].
const STEADY_EVERY: Duration = Duration::from_secs(1);

/// Requests in each transaction of a steady arrival (two users, two requests each).
const REQUESTS_PER_ARRIVAL: u32 = 4;

/// Allocations in each transaction sent beside a steady arrival: as many as a legacy
/// transaction holds (docs/figures.md).
const ALLOCATIONS_PER_TRANSACTION: usize = 5;

/// Compute units reserved for each allocation beside a steady arrival: a first allocation
/// (creating the token account and the record) consumed 19,691–25,699 (docs/figures.md).
const UNITS_PER_ALLOCATION: u32 = 40_000;

const RUNS: [Run; 15] = [
    Run {
        store: "SQLite",
        workers: 1,
        lanes: 1,
        users: 125,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 1,
        users: 125,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    Run {
        store: "PostgreSQL",
        workers: 4,
        lanes: 1,
        users: 250,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    // A backlog of 2,000 (issue #15 asks for at least 2,000 requests): up to ~1,000 the rate
    // grew with the requests in flight, each waiting about the chain's finality for its lock;
    // since the signature arithmetic is optimised every lock is sent within seconds and the
    // chain's finality under this load bounds the run (docs/figures.md, session 17).
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    Run {
        store: "SQLite",
        workers: 1,
        lanes: 1,
        users: 100,
        each: 2,
        arrival: Some(STEADY_EVERY),
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 1,
        users: 100,
        each: 2,
        arrival: Some(STEADY_EVERY),
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    // 10,000 pending at once (issue #15: the bridge's memory with 10,000 requests pending),
    // 20 requests from each of 500 users.
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 8,
        users: 500,
        each: 20,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    // Run 5 with allocations beside at ten times the requests' rate (issue #15: RPC calls per
    // settled request with allocations running beside the exchanges): 2,000 allocations, 40 a
    // second, while the 200 requests arrive.
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 1,
        users: 100,
        each: 2,
        arrival: Some(STEADY_EVERY),
        allocations_beside: 10,
        new_pools: 0,
        payout: Payout::Http,
    },
    // A platform's bridge serving 1,000 pools (issue #15), found on chain: a backlog of one
    // request in each.
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 8,
        users: 1_000,
        each: 1,
        arrival: None,
        allocations_beside: 0,
        new_pools: 1_000,
        payout: Payout::Http,
    },
    // The backlog of 2,000 paid on chain (issue #15: HTTP and on-chain payouts): the stablecoin
    // moves inside the settle transaction, so a request waits for no lock and no finality.
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Onchain,
    },
    // The same with four workers sharing the database (issue #15: 1 and 4 workers).
    Run {
        store: "PostgreSQL",
        workers: 4,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Onchain,
    },
    // The backlog of 2,000 on SQLite too, over HTTP and on chain (issue #15: SQLite and
    // PostgreSQL, HTTP and on-chain payouts, at least 2,000 requests). One worker: workers
    // share a database only on PostgreSQL.
    Run {
        store: "SQLite",
        workers: 1,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    Run {
        store: "SQLite",
        workers: 1,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Onchain,
    },
    // Four workers paying 2,000 over HTTP (issue #15: 1 and 4 workers, both payouts).
    Run {
        store: "PostgreSQL",
        workers: 4,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::Http,
    },
    // Run 3 paid on confirmed locks (`lock_commitment = "confirmed"`): the wait for finality
    // taken out of the HTTP path for requests their users cannot cancel for an hour.
    Run {
        store: "PostgreSQL",
        workers: 1,
        lanes: 8,
        users: 1_000,
        each: 2,
        arrival: None,
        allocations_beside: 0,
        new_pools: 0,
        payout: Payout::HttpConfirmedLocks,
    },
];

/// Waits (two minutes at most) until the store at `database` records every one of `requests`
/// settled.
async fn wait_recorded_settled(database: &str, requests: &[Pubkey]) {
    let own: HashSet<String> = requests.iter().map(Pubkey::to_string).collect();
    let store = Store::open(database).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let settled = store
            .requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|row| own.contains(&row.address) && row.settled_at_ms.is_some())
            .count();
        if settled == own.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{settled} of {} requests recorded settled",
            own.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    store.close().await;
}

/// How a run's bridge pays the users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Payout {
    /// Over HTTP, to the local provider: each request locked, its lock final, then paid.
    Http,
    /// Over HTTP with `lock_commitment = "confirmed"`: each request locked, then paid once its
    /// lock is confirmed (the pool's requests cannot be cancelled for a day).
    HttpConfirmedLocks,
    /// On chain, in the pool's stablecoin, inside the settle transaction (no lock).
    Onchain,
}

impl Payout {
    /// The name in the tables.
    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::HttpConfirmedLocks => "HTTP, confirmed locks",
            Self::Onchain => "on chain",
        }
    }
}

/// What one run measured.
struct Figures {
    store: &'static str,
    /// How its bridges paid (its bridge/raw ratio is against the raw loop of the same kind).
    payout: Payout,
    workers: usize,
    lanes: usize,
    /// How the requests arrived: "backlog", or a steady rate.
    arrival: String,
    requests: usize,
    seconds: f64,
    p50_ms: i64,
    p95_ms: i64,
    /// The settle transactions that settled the run's requests (batches share one).
    settle_transactions: HashSet<String>,
    /// JSON-RPC calls the run's bridges made (through a recording proxy; the websocket aside).
    rpc_calls: usize,
    /// The same, by method.
    rpc_methods: std::collections::BTreeMap<String, usize>,
    /// Where the requests' time went: how long they stayed in each state.
    states: Vec<TimeInState>,
    /// The largest peak resident memory of the run's bridge processes, KiB.
    peak_memory_kib: Option<u64>,
    /// Where the machine's CPU time went during the run (`None` off Linux).
    cpu: Option<CpuSplit>,
    /// The allocations sent beside the run, and how many a second (sent to confirmed).
    allocations_beside: Option<(usize, f64)>,
}

/// Runs `run` on `database`: opens its requests (users from `first_user` on), starts its bridges
/// (paying over HTTP to `provider`, or on chain in `stablecoin`), sends allocations to
/// `bystanders` beside a steady arrival, waits until every request is settled, checks what was
/// paid, and returns what it measured.
async fn settle_run(
    market: &Market,
    run: &Run,
    first_user: usize,
    database: &str,
    provider: &TestProvider,
    bystanders: &[Pubkey],
    stablecoin: Option<Pubkey>,
) -> Figures {
    assert!(
        run.allocations_beside == 0 || run.arrival.is_some(),
        "allocations run beside a steady arrival only"
    );
    assert_eq!(
        bystanders.len(),
        run.allocations(),
        "a bystander for each allocation beside the run"
    );
    let kind = match run.payout {
        Payout::Http => format!("kind = \"http\"\nurl = \"{}\"\n", provider.url),
        Payout::HttpConfirmedLocks => format!(
            "kind = \"http\"\nurl = \"{}\"\nlock_commitment = \"confirmed\"\n",
            provider.url
        ),
        Payout::Onchain => "kind = \"onchain\"\n".to_owned(),
    };
    let payout = format!(
        "discover_pools = {}\npayout_concurrency = {}\n[payout]\n{kind}",
        run.new_pools > 0,
        run.lanes,
    );
    start_at_history_tip(market, database).await;
    let users = first_user..first_user + run.users;
    let backlog = match run.arrival {
        None if run.new_pools > 0 => {
            assert_eq!(
                (run.users, run.each),
                (run.new_pools, 1),
                "one new user and one request a pool"
            );
            open_in_new_pools(market, run.new_pools).await
        }
        None => market.open_requests_each(users.clone(), run.each).await,
        Some(_) => {
            assert_eq!(run.each, 2, "steady arrivals open two requests a user");
            Vec::new()
        }
    };
    // What the treasury holds before an on-chain run's bridge pays from it.
    let paid_from = match (run.payout, stablecoin) {
        (Payout::Onchain, Some(mint)) => Some((
            mint,
            balance(&market.chain, &market.operator.0.pubkey(), &mint).await,
        )),
        (Payout::Onchain, None) => panic!("an on-chain run needs the pool's stablecoin"),
        (Payout::Http | Payout::HttpConfirmedLocks, _) => None,
    };
    let counter = RpcCounter::start(&market.url).await.unwrap();
    let machine_before = cpu::machine_seconds();
    let bench_before = cpu::process_seconds(std::process::id());
    let started = Instant::now();
    let mut bridges = Vec::new();
    for worker in 0..run.workers {
        let name = format!(
            "{}-{}x{}-{worker}-{}",
            run.store,
            run.workers,
            run.lanes,
            run.arrival.map_or("backlog", |_| "steady")
        );
        let (config, _) =
            market.bridge_config_via(&name, database, &payout, 500, &counter.url, &market.ws_url);
        bridges.push(Bridge::spawn(&config, None));
    }
    let (requests, allocations_beside) = match run.arrival {
        None => (backlog, None),
        Some(every) if run.allocations_beside > 0 => {
            // ALLOCATIONS_PER_TRANSACTION allocations every this long: allocations_beside
            // times the REQUESTS_PER_ARRIVAL requests arriving every `every`.
            let allocating_every = every * u32::try_from(ALLOCATIONS_PER_TRANSACTION).unwrap()
                / (REQUESTS_PER_ARRIVAL * run.allocations_beside);
            let (requests, allocated) = tokio::join!(
                open_steadily(market, users, every),
                allocate_steadily(market, bystanders, allocating_every)
            );
            (requests, Some(allocated))
        }
        Some(every) => (open_steadily(market, users, every).await, None),
    };
    market.wait_settled(&requests, &mut bridges).await;
    let seconds = started.elapsed().as_secs_f64();
    // The bridges record a settlement once it has landed at their commitment: confirmed, or
    // finalized when they pay on confirmed locks (a finality after the chain shows it).
    wait_recorded_settled(database, &requests).await;
    let peak_memory_kib = bridges.iter().filter_map(Bridge::peak_memory_kib).max();
    let cpu = CpuSplit::of_run(
        machine_before,
        bench_before,
        bridges.iter().map(Bridge::cpu_seconds).sum(),
    );
    for bridge in bridges {
        assert!(bridge.stop().await.success());
    }
    let allocations_beside = allocations_beside.map(|(sent, seconds)| {
        assert_eq!(
            sent,
            run.allocations(),
            "every allocation beside the run sent"
        );
        (sent, sent as f64 / seconds)
    });
    assert_allocated(market, bystanders).await;
    if let Some((mint, treasury_before)) = paid_from {
        assert_paid_on_chain(market, &mint, &requests, treasury_before).await;
    }
    // The run's own requests only: a bridge on a fresh database also finds every earlier
    // request of the pool in the history (settled already) and records it so.
    let own: HashSet<String> = requests.iter().map(Pubkey::to_string).collect();
    let store = Store::open(database).await.unwrap();
    let rows: Vec<_> = store
        .requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|row| own.contains(&row.address))
        .collect();
    assert_eq!(
        rows.len(),
        requests.len(),
        "every request of the run recorded"
    );
    let states = time_in_states(&store.transitions().await.unwrap(), |address| {
        own.contains(address)
    });
    let mut latencies: Vec<i64> = rows
        .iter()
        .filter_map(|r| Some(r.settled_at_ms? - r.discovered_at_ms))
        .collect();
    latencies.sort_unstable();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    let settle_transactions = rows
        .iter()
        .filter_map(|r| r.settle_signature.clone())
        .collect::<HashSet<_>>();
    Figures {
        store: run.store,
        payout: run.payout,
        workers: run.workers,
        lanes: run.lanes,
        arrival: run.arrival.map_or_else(
            || match run.new_pools {
                0 => "backlog".into(),
                pools => format!("backlog, {pools} pools"),
            },
            |every| {
                let steady = format!(
                    "{:.0}/s steady",
                    f64::from(REQUESTS_PER_ARRIVAL) / every.as_secs_f64()
                );
                match run.allocations_beside {
                    0 => steady,
                    times => format!("{steady}, allocations ×{times}"),
                }
            },
        ),
        requests: requests.len(),
        seconds,
        p50_ms: at(50),
        p95_ms: at(95),
        settle_transactions,
        rpc_calls: counter.calls().len(),
        rpc_methods: counter.counts(),
        states,
        peak_memory_kib,
        cpu,
        allocations_beside,
    }
}

/// Where the machine's CPU time (all cores) went during a run, in seconds.
struct CpuSplit {
    /// The bench's own process: the validator, the JSON-RPC counting proxy and the harness
    /// (which, in a steady run, also opens the requests and sends the allocations beside).
    bench: f64,
    /// The run's bridge processes.
    bridges: f64,
    /// Every other process: PostgreSQL's, and whatever else the machine ran.
    others: f64,
    /// Idle (or waiting for I/O).
    idle: f64,
}

impl CpuSplit {
    /// The split from the machine's and the bench's CPU times read at the run's start, the
    /// bridges' CPU time at its end, and both read again now.
    fn of_run(
        machine_before: Option<cpu::MachineTime>,
        bench_before: Option<f64>,
        bridges: Option<f64>,
    ) -> Option<Self> {
        let machine = cpu::machine_seconds()?.since(machine_before?);
        let bench = cpu::process_seconds(std::process::id())? - bench_before?;
        let bridges = bridges?;
        Some(Self {
            bench,
            bridges,
            others: (machine.busy - bench - bridges).max(0.0),
            idle: machine.all - machine.busy,
        })
    }

    /// Each part's share of the whole, as a percentage.
    fn shares(&self) -> [f64; 4] {
        let all = (self.bench + self.bridges + self.others + self.idle).max(f64::EPSILON);
        [self.bench, self.bridges, self.others, self.idle].map(|part| 100.0 * part / all)
    }
}

/// Stores, in the empty database at `url`, the pool's history read up to its newest transaction
/// (confirmed, waited for until finalized): a bridge starting on it reads only what comes after
/// (the run's own requests), as one that has been running would, not every earlier run's
/// requests again. (The newest *finalized* one, read at once, left the last 17 s of the run
/// before unread: run 10 found 1,288 of run 9's requests and closed them beside its own.)
async fn start_at_history_tip(market: &Market, url: &str) {
    let escrow = pdas::escrow(&market.pool);
    let newest = market
        .chain
        .client()
        .get_signatures_for_address_with_config(
            &escrow,
            GetConfirmedSignaturesForAddress2Config {
                before: None,
                until: None,
                limit: Some(1),
                commitment: Some(CommitmentConfig::confirmed()),
            },
        )
        .await
        .expect("the escrow's newest transaction");
    let Some(newest) = newest.first() else {
        return;
    };
    let signature: Signature = newest.signature.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = market
            .chain
            .client()
            .get_signature_statuses_with_history(&[signature])
            .await
            .expect("the escrow's newest transaction's status")
            .value
            .pop()
            .flatten();
        if status.is_some_and(|status| status.satisfies_commitment(CommitmentConfig::finalized())) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the escrow's newest transaction {signature} not finalized in two minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let newest = ReadTransaction {
        cursor: Cursor {
            signature: newest.signature.clone(),
            slot: i64::try_from(newest.slot).unwrap(),
        },
        requests: Vec::new(),
    };
    let store = Store::open(url).await.unwrap();
    store
        .ingest(&escrow.to_string(), &[newest], "figures")
        .await
        .unwrap();
    store.close().await;
}

/// Opens the requests of `users` (two each) two users to a transaction, one transaction every
/// `every` while the bridges run, each sent at its time whether or not the ones before have
/// confirmed (requests are named by random ids: nothing orders them); their addresses.
async fn open_steadily(market: &Market, users: Range<usize>, every: Duration) -> Vec<Pubkey> {
    use futures::StreamExt as _;
    let start = tokio::time::Instant::now();
    let users: Vec<usize> = users.collect();
    let opened: Vec<Vec<Pubkey>> = futures::stream::iter(users.chunks(2).enumerate())
        .map(|(n, pair)| async move {
            tokio::time::sleep_until(start + every * u32::try_from(n).unwrap()).await;
            market.open_requests(pair[0]..pair[0] + pair.len()).await
        })
        .buffer_unordered(STEADY_IN_FLIGHT)
        .collect()
        .await;
    opened.concat()
}

/// Ids of the pools the many-pools run creates (the market's pool is `pool_id = 1`).
const FIRST_NEW_POOL_ID: u64 = 1_000;

/// Creates `count` pools of the example file's terms (settlement authority: the operator, the
/// bridge's key; the market's verifier authorised), gives each a new user with a credential and
/// an allocation, and opens one request of 5 units in each, [`OPENING_IN_FLIGHT`] transactions
/// at once; the requests' addresses.
async fn open_in_new_pools(market: &Market, count: usize) -> Vec<Pubkey> {
    use futures::StreamExt as _;
    let operator = &market.operator.0;
    let verifier = &market.verifier.0;
    let path = market.dir.path().join("new-pool.toml");
    std::fs::write(&path, common::EXAMPLE_POOL_FILE).unwrap();
    let mut file = PoolFile::read(&path).expect("the example pool file reads");
    let config = file
        .exchange_config(&operator.pubkey())
        .unwrap()
        .expect("the example pool opens exchange");
    let budget = ComputeBudget {
        unit_limit: Some(MAX_COMPUTE_UNITS),
        unit_price_micro_lamports: None,
    };
    let mut pools = Vec::with_capacity(count);
    let mut creations = Vec::with_capacity(count);
    for n in 0..count {
        file.pool_id = FIRST_NEW_POOL_ID + u64::try_from(n).unwrap();
        let pool = pdas::pool(&operator.pubkey(), file.pool_id);
        pools.push(pool);
        creations.push(budget.apply(&[
            instructions::pool_create(&operator.pubkey(), file.create_args()),
            instructions::pool_set_exchange(&operator.pubkey(), &pool, config),
            instructions::pool_fund(&operator.pubkey(), &pool, file.rule.amount),
            instructions::verifier_add(&operator.pubkey(), &pool, &verifier.pubkey()),
        ]));
    }
    futures::stream::iter(&creations)
        .map(|ixs| async move { send(&market.chain, ixs, &[operator]).await })
        .buffer_unordered(OPENING_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    let users: Vec<Keypair> = (0..count).map(|_| Keypair::new()).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut indicators = [0; allot::constants::INDICATOR_COUNT];
    indicators[usize::from(file.rule.indicator)] = 5_000;
    let credential = CredentialIssueArgs {
        // A pool's first period: each was created moments ago.
        period: 0,
        indicators,
        expires_at: i64::try_from(now).unwrap() + 2 * file.period_seconds,
        evidence_hash: [0; 32],
    };
    let credential = &credential;
    futures::stream::iter(pools.iter().zip(&users))
        .map(|(pool, user)| async move {
            let ixs = [
                instructions::credential_issue(
                    &verifier.pubkey(),
                    pool,
                    &user.pubkey(),
                    credential.clone(),
                ),
                allocate(
                    &verifier.pubkey(),
                    pool,
                    &user.pubkey(),
                    Evidence::Credential,
                ),
            ];
            send(&market.chain, &ixs, &[verifier]).await
        })
        .buffer_unordered(OPENING_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    futures::stream::iter(pools.iter().zip(&users))
        .map(|(pool, user)| async move {
            let id = allot_client::request_id::random();
            let ix =
                instructions::exchange_request(&user.pubkey(), &verifier.pubkey(), pool, id, 5);
            send(&market.chain, &[ix], &[verifier, user]).await;
            pdas::exchange_request(pool, id)
        })
        .buffered(OPENING_IN_FLIGHT)
        .collect()
        .await
}

/// Allocates once to each of `bystanders` (credentialed, never allocated), paid by the verifier's
/// key (a crank's own key, as in practice: not the bridge's settlement authority, whose fee
/// account every settlement writes),
/// [`ALLOCATIONS_PER_TRANSACTION`] to a transaction, one transaction every `every`, each sent at
/// its time whether or not the ones before have confirmed; the allocations sent and the seconds
/// from the first send to the last confirmation.
async fn allocate_steadily(
    market: &Market,
    bystanders: &[Pubkey],
    every: Duration,
) -> (usize, f64) {
    use futures::StreamExt as _;
    let crank = &market.verifier.0;
    let budget = ComputeBudget {
        unit_limit: Some(
            UNITS_PER_ALLOCATION * u32::try_from(ALLOCATIONS_PER_TRANSACTION).unwrap(),
        ),
        unit_price_micro_lamports: None,
    };
    let started = Instant::now();
    let start = tokio::time::Instant::now();
    let sent: Vec<usize> =
        futures::stream::iter(bystanders.chunks(ALLOCATIONS_PER_TRANSACTION).enumerate())
            .map(|(n, users)| async move {
                let allocations: Vec<_> = users
                    .iter()
                    .map(|user| allocate(&crank.pubkey(), &market.pool, user, Evidence::Credential))
                    .collect();
                tokio::time::sleep_until(start + every * u32::try_from(n).unwrap()).await;
                send(&market.chain, &budget.apply(&allocations), &[crank]).await;
                users.len()
            })
            .buffer_unordered(STEADY_IN_FLIGHT)
            .collect()
            .await;
    (sent.iter().sum(), started.elapsed().as_secs_f64())
}

/// Panics unless each of `bystanders` holds one allocation of [`UNITS_PER_USER`] in its
/// allocation record: the allocations sent beside a run landed.
async fn assert_allocated(market: &Market, bystanders: &[Pubkey]) {
    let records: Vec<Pubkey> = bystanders
        .iter()
        .map(|user| pdas::allocation_record(&market.pool, user))
        .collect();
    let found = accounts::fetch_many::<AllocationRecord>(&market.chain, &records)
        .await
        .expect("the bystanders' allocation records read");
    for (user, record) in bystanders.iter().zip(found) {
        let record = record.unwrap_or_else(|| panic!("bystander {user} was not allocated"));
        assert_eq!(
            (record.allocations, record.allocated),
            (1, UNITS_PER_USER),
            "bystander {user}'s allocation"
        );
    }
}

/// Transactions of a steady arrival that may wait for confirmation at once (far more than
/// arrive during one confirmation, so arrival keeps its pace).
const STEADY_IN_FLIGHT: usize = 64;

/// The indices of [`RUNS`] to measure: all, or those listed in `ALLOT_FIGURES_RUNS`
/// (comma-separated, from 0), to look at one run without the others.
fn chosen_runs() -> Vec<usize> {
    match std::env::var("ALLOT_FIGURES_RUNS") {
        Err(_) => (0..RUNS.len()).collect(),
        Ok(list) => list
            .split(',')
            .map(|index| {
                let index: usize = index.trim().parse().unwrap_or_else(|_| {
                    panic!(
                        "ALLOT_FIGURES_RUNS: {index:?} is not a run index (0..{})",
                        RUNS.len()
                    )
                });
                assert!(index < RUNS.len(), "ALLOT_FIGURES_RUNS: no run {index}");
                index
            })
            .collect(),
    }
}

/// Users whose requests measure the chain's own rate.
const RAW_USERS: usize = 250;

/// Requests each raw user opens for each raw loop: 2,000 a loop, the bridges' backlog. (With
/// 250 requests, an optimised validator settled the loop within a slot or two: a burst, not a
/// rate.) Two loops take 16 requests of 5 units, within a user's [`UNITS_PER_USER`].
const RAW_REQUESTS_PER_USER: usize = 8;

// Both raw loops' requests fit in what each raw user is allocated.
const _: () = assert!(2 * RAW_REQUESTS_PER_USER as u64 * UNITS_PER_REQUEST <= UNITS_PER_USER);

/// (a) The chain's own rate for what the bridge sends, for requests opened now by `users`: paid
/// off chain, the locks seven to a transaction (`settle::sign_locks`), then the settlements seven
/// to a transaction (`settle::sign`, as the worker batches them); paid on chain (the pool has a
/// payout mint), no locks and the settlements with their payouts, three to a transaction. All
/// signed beforehand, sent as fast as the node takes them and confirmed together with
/// `getSignatureStatuses`. No database, no provider, no wait for finality. Returns the requests
/// settled, the seconds from the first send to the last confirmation, and the seconds from
/// then until the last settlement was finalized.
async fn raw_chain_rate(market: &Market, users: Range<usize>) -> (usize, f64, f64) {
    let rpc = market.chain.client();
    let authority = &market.operator.0;
    let recent = Recent::new(FeePolicy::Fixed(0));
    let addresses = market
        .open_requests_each(users, RAW_REQUESTS_PER_USER)
        .await;
    let requests: Vec<ExchangeRequest> = accounts::fetch_many(&market.chain, &addresses)
        .await
        .unwrap()
        .into_iter()
        .map(|request| request.expect("an opened request"))
        .collect();
    // A request paid on chain is settled without a lock, its payout inside the settlement.
    let paid_off_chain: Vec<ExchangeRequest> = requests
        .iter()
        .filter(|request| request.payout_mint.is_none())
        .cloned()
        .collect();
    let mut locks = Vec::new();
    let mut unlocked = &paid_off_chain[..];
    while !unlocked.is_empty() {
        let (signed, count) = settle::sign_locks(rpc, &recent, authority, unlocked)
            .await
            .unwrap();
        locks.push(signed);
        unlocked = &unlocked[count..];
    }
    let orders: Vec<SettleOrder> = requests
        .iter()
        .map(|request| SettleOrder {
            request: request.clone(),
            reference: settle::payout_reference(&format!("raw-{}", request.id)),
            payout: settle::onchain_payout(request, &authority.pubkey(), TOKEN_2022, None),
        })
        .collect();
    let mut settles = Vec::new();
    let mut rest = &orders[..];
    while !rest.is_empty() {
        let (signed, count) = settle::sign(rpc, &recent, authority, rest).await.unwrap();
        settles.push(signed);
        rest = &rest[count..];
    }
    let treasury_before = match &stablecoin_of(&requests) {
        Some(mint) => balance(&market.chain, &authority.pubkey(), mint).await,
        None => 0,
    };
    let started = Instant::now();
    for lock in &locks {
        settle::send(rpc, &lock.base64).await.unwrap();
    }
    confirm_all(market, &locks, CommitmentConfig::confirmed()).await;
    for settle in &settles {
        settle::send(rpc, &settle.base64).await.unwrap();
    }
    confirm_all(market, &settles, CommitmentConfig::confirmed()).await;
    let seconds = started.elapsed().as_secs_f64();
    // How much longer until the last of them is final: what a payout waits for after its lock.
    let confirmed_at = Instant::now();
    confirm_all(market, &settles, CommitmentConfig::finalized()).await;
    let finality_seconds = confirmed_at.elapsed().as_secs_f64();
    let settled = accounts::fetch_many::<ExchangeRequest>(&market.chain, &addresses)
        .await
        .unwrap();
    assert!(
        settled.iter().all(|r| r
            .as_ref()
            .is_some_and(|r| r.status == RequestStatus::Settled)),
        "every request of the raw loop settled"
    );
    if let Some(mint) = stablecoin_of(&requests) {
        assert_paid_on_chain(market, &mint, &addresses, treasury_before).await;
    }
    (addresses.len(), seconds, finality_seconds)
}

/// The stablecoin `requests` are paid in on chain (they share the pool's terms), if any.
fn stablecoin_of(requests: &[ExchangeRequest]) -> Option<Pubkey> {
    requests.first().and_then(|request| request.payout_mint)
}

/// Asserts that each request at `addresses` is settled and was paid exactly its quote on chain
/// in `mint`: each user's account of the mint holds exactly the sum of its requests' quotes (the
/// users are paid on chain in this check's requests only), and the settlement authority's
/// treasury, holding `treasury_before` base units before them, paid exactly the sum of all.
/// Quotes are cents; the stablecoin has six decimals.
async fn assert_paid_on_chain(
    market: &Market,
    mint: &Pubkey,
    addresses: &[Pubkey],
    treasury_before: u64,
) {
    let settled = accounts::fetch_many::<ExchangeRequest>(&market.chain, addresses)
        .await
        .unwrap();
    let mut owed_cents: std::collections::BTreeMap<Pubkey, u64> = Default::default();
    for request in settled {
        let request = request.expect("a settled request stays until closed");
        assert_eq!(request.status, RequestStatus::Settled);
        assert_eq!(request.payout_mint, Some(*mint));
        *owed_cents.entry(request.user).or_default() += request.quoted;
    }
    let users: Vec<Pubkey> = owed_cents.keys().copied().collect();
    let held = token_balances(market, &users, mint).await;
    for ((user, cents), held) in owed_cents.iter().zip(held) {
        assert_eq!(
            held,
            cents * BASE_UNITS_PER_CENT,
            "user {user} paid exactly its quotes"
        );
    }
    let treasury_after = balance(&market.chain, &market.operator.0.pubkey(), mint).await;
    let paid = treasury_before
        .checked_sub(treasury_after)
        .expect("the treasury only pays out");
    assert_eq!(
        paid,
        owed_cents.values().sum::<u64>() * BASE_UNITS_PER_CENT,
        "the treasury paid the quotes and nothing more"
    );
}

/// What each of `owners`' associated accounts of the Token-2022 `mint` holds (0 when it does not
/// exist), read 100 accounts a call.
async fn token_balances(market: &Market, owners: &[Pubkey], mint: &Pubkey) -> Vec<u64> {
    use allot_client::chain::Chain as _;
    use spl_token_2022_interface::extension::StateWithExtensions;
    use spl_token_2022_interface::state::Account;
    let mut held = Vec::with_capacity(owners.len());
    for chunk in owners.chunks(100) {
        let addresses: Vec<Pubkey> = chunk
            .iter()
            .map(|owner| pdas::token_account(owner, mint))
            .collect();
        let found = market.chain.accounts(addresses).await.unwrap();
        held.extend(found.into_iter().map(|account| {
            account.map_or(0, |account| {
                StateWithExtensions::<Account>::unpack(&account.data)
                    .expect("a token account")
                    .base
                    .amount
            })
        }));
    }
    held
}

/// The stablecoin's treasury at the start: enough for every request the bench opens (the
/// harness's `TREASURY_BASE_UNITS` pays a few).
const BENCH_TREASURY_BASE_UNITS: u64 = 1_000_000_000_000_000;

/// Makes the market's pool pay the requests made from now on the way `payout` says: on chain
/// in `stablecoin` (created and funded on first use), or off chain (no payout mint).
async fn switch_payout(market: &Market, payout: Payout, stablecoin: &mut Option<Pubkey>) {
    let operator = &market.operator.0;
    let mint = match (payout, *stablecoin) {
        (Payout::Http | Payout::HttpConfirmedLocks, _) => None,
        (Payout::Onchain, Some(mint)) => Some(mint),
        (Payout::Onchain, None) => {
            let mint = create_stablecoin(&market.chain, operator, BENCH_TREASURY_BASE_UNITS).await;
            *stablecoin = Some(mint);
            Some(mint)
        }
    };
    let pool: Pool = accounts::fetch(&market.chain, market.pool)
        .await
        .unwrap()
        .expect("the market's pool");
    if pool.exchange.payout_mint == mint {
        return;
    }
    let mut config = pool.exchange;
    config.payout_mint = mint;
    let set = instructions::pool_set_exchange(&operator.pubkey(), &market.pool, config);
    send(&market.chain, &[set], &[operator]).await;
}

/// How long a transaction of the raw loop may stay unseen before it is sent again, as stored:
/// the bridge's spacing for its own resends (its store's `take_resend`).
const RESEND_UNSEEN_AFTER: Duration = Duration::from_secs(2);

/// Waits until every one of `sent` has reached `commitment`, successful (read 256 signatures a
/// call). One the node has not seen is sent again, as stored, at most every
/// [`RESEND_UNSEEN_AFTER`] (the bridge's spacing); the wait fails at once, naming it, when its
/// blockhash had expired before the look that did not see it (rather than waiting out the
/// deadline).
async fn confirm_all(market: &Market, sent: &[SignedSettle], commitment: CommitmentConfig) {
    let rpc = market.chain.client();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut waiting: Vec<&SignedSettle> = sent.iter().collect();
    let mut resent_at = Instant::now();
    while !waiting.is_empty() {
        // Read before the statuses: one unseen after this height was passed cannot land.
        let height = rpc.get_block_height().await.unwrap();
        let mut still = Vec::new();
        let mut unseen = Vec::new();
        for chunk in waiting.chunks(256) {
            let signatures: Vec<Signature> = chunk
                .iter()
                .map(|signed| signed.signature.parse().unwrap())
                .collect();
            let statuses = rpc.get_signature_statuses(&signatures).await.unwrap().value;
            for (signed, status) in chunk.iter().zip(statuses) {
                match status {
                    Some(status) if status.satisfies_commitment(commitment) => {
                        assert!(
                            status.err.is_none(),
                            "{} failed: {:?}",
                            signed.signature,
                            status.err
                        );
                    }
                    Some(_) => still.push(*signed),
                    None => {
                        still.push(*signed);
                        unseen.push(*signed);
                    }
                }
            }
        }
        waiting = still;
        if !unseen.is_empty() && resent_at.elapsed() >= RESEND_UNSEEN_AFTER {
            if let Some(expired) = unseen
                .iter()
                .find(|signed| signed.last_valid_height < height)
            {
                panic!(
                    "{} expired unseen (valid through block height {}, now {height}); {} of {} unseen",
                    expired.signature,
                    expired.last_valid_height,
                    unseen.len(),
                    sent.len()
                );
            }
            for signed in &unseen {
                // A refused resend changes nothing: the next read of the statuses decides.
                let _ = settle::send(rpc, &signed.base64).await;
            }
            resent_at = Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "{} not {:?}",
            waiting.len(),
            commitment.commitment
        );
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
    // Users only for the runs measured: setting up a user (credential, allocation) takes the
    // harness time, and the 2,000-request run alone has 1,000.
    let chosen = chosen_runs();
    let measured_users: usize = chosen.iter().map(|&index| RUNS[index].market_users()).sum();
    let market = Market::open_with(
        7_899,
        7_950,
        measured_users + 1 + RAW_USERS,
        false,
        |pool| {
            let edited = pool.replace("\namount = 10\n", &format!("\namount = {UNITS_PER_USER}\n"));
            assert_ne!(
                edited, pool,
                "the example pool's rule allocates `amount = 10`"
            );
            edited
        },
    )
    .await;
    // The validator's polling threads at the lowest priority (common/polling_threads.rs), unless
    // `ALLOT_FIGURES_POLLING=keep` asks to measure them as they come.
    if std::env::var("ALLOT_FIGURES_POLLING").as_deref() == Ok("keep") {
        println!("the validator's polling threads keep their priority");
    } else {
        let lowered = polling_threads::lower_priority(&polling_threads::POLLING_THREADS);
        println!(
            "the validator's polling threads ({}) at nice 19: {lowered}",
            polling_threads::POLLING_THREADS.join(", ")
        );
    }
    let provider = TestProvider::start().await.unwrap();
    let postgres = TestPostgres::start().expect("a PostgreSQL server");
    let sqlite = format!(
        "sqlite://{}",
        market.dir.path().join("figures.db").display()
    );
    // Bystanders for the runs that send allocations beside their requests, each run its own:
    // new keys credentialed in the pool and never allocated (the market cranked its users
    // already, and a user is allocated once a period).
    let allocations: usize = chosen.iter().map(|&index| RUNS[index].allocations()).sum();
    let bystanders: Vec<Pubkey> = (0..allocations).map(|_| Keypair::new().pubkey()).collect();
    if !bystanders.is_empty() {
        common::issue_credentials(
            &market.chain,
            &market.url,
            &market.dir,
            &market.verifier.1,
            &market.pool,
            &bystanders,
        )
        .await;
    }

    // (a) first: the chain's own rate for the same transactions, on users after the bridges'.
    let raw_first = measured_users + 1;
    let (raw_requests, raw_seconds, finality_seconds) =
        raw_chain_rate(&market, raw_first..raw_first + RAW_USERS).await;
    let raw_rate = raw_requests as f64 / raw_seconds;

    // The same for settlements paying on chain (no locks), when a run pays so: on the same
    // fresh chain, right after, on the raw loop's users again (each holds units for more
    // requests). `stablecoin`: the pool's, once made.
    let mut stablecoin = None;
    let raw_onchain = if chosen
        .iter()
        .any(|&index| RUNS[index].payout == Payout::Onchain)
    {
        switch_payout(&market, Payout::Onchain, &mut stablecoin).await;
        Some(raw_chain_rate(&market, raw_first..raw_first + RAW_USERS).await)
    } else {
        None
    };

    let mut figures = Vec::new();
    let mut first_user = 0;
    let mut first_bystander = 0;
    for (index, run) in RUNS.iter().enumerate() {
        if !chosen.contains(&index) {
            continue;
        }
        // A fresh database per run.
        let database = match run.store {
            "SQLite" => format!(
                "sqlite://{}",
                market.dir.path().join(format!("run-{index}.db")).display()
            ),
            _ => postgres.database().await.unwrap().url,
        };
        switch_payout(&market, run.payout, &mut stablecoin).await;
        let beside = &bystanders[first_bystander..first_bystander + run.allocations()];
        figures.push(
            settle_run(
                &market, run, first_user, &database, &provider, beside, stablecoin,
            )
            .await,
        );
        first_user += run.market_users();
        first_bystander += run.allocations();
    }

    // The scenario below pays over HTTP.
    switch_payout(&market, Payout::Http, &mut stablecoin).await;

    // kill -9 with a request in flight, restart: time until it is settled.
    let payout = http_payout(&provider.url);
    start_at_history_tip(&market, &sqlite).await;
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
    // What the history held, read independently, and whether the runs' settle transactions
    // are in it: the backfill figure is only as good as its coverage.
    let finalized = history(&chain, CommitmentConfig::finalized()).await;
    let confirmed = history(&chain, CommitmentConfig::confirmed()).await;
    let settles: HashSet<&String> = figures
        .iter()
        .flat_map(|f| &f.settle_transactions)
        .collect();
    let settles_in_history = settles
        .iter()
        .filter(|s| finalized.contains(s.as_str()))
        .count();
    println!(
        "history of the program: {} transactions finalized, {} confirmed; the runs' settle \
         transactions in the finalized history: {settles_in_history} of {}",
        finalized.len(),
        confirmed.len(),
        settles.len()
    );

    println!(
        "raw chain rate paid off chain (locks, then settlements seven to a transaction, pre-signed): {raw_requests} \
         requests in {raw_seconds:.1} s ({raw_rate:.1}/s); the last settlement finalized \
         {finality_seconds:.1} s after the last was confirmed"
    );
    if let Some((requests, seconds, _)) = raw_onchain {
        println!(
            "raw chain rate paid on chain (settlements with their stablecoin payouts three to a \
             transaction, no locks, pre-signed): {requests} requests in {seconds:.1} s ({:.1}/s)",
            requests as f64 / seconds
        );
    }
    // Each run against the chain's own rate for the transactions it sends.
    let raw_rate_of = |payout: Payout| match (payout, raw_onchain) {
        (Payout::Onchain, Some((requests, seconds, _))) => requests as f64 / seconds,
        _ => raw_rate,
    };
    println!(
        "| store | payout | workers × lanes | arrival | requests | settle transactions | all settled in | requests/s | bridge/raw | p50 discovered→settled | p95 | JSON-RPC calls per request | bridge peak memory | allocations beside |"
    );
    println!(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for f in &figures {
        println!(
            "| {} | {} | {} × {} | {} | {} | {} | {:.1} s | {:.1} | {:.2} | {:.1} s | {:.1} s | {:.1} | {} | {} |",
            f.store,
            f.payout.as_str(),
            f.workers,
            f.lanes,
            f.arrival,
            f.requests,
            f.settle_transactions.len(),
            f.seconds,
            f.requests as f64 / f.seconds,
            f.requests as f64 / f.seconds / raw_rate_of(f.payout),
            f.p50_ms as f64 / 1000.0,
            f.p95_ms as f64 / 1000.0,
            f.rpc_calls as f64 / f.requests as f64,
            f.peak_memory_kib
                .map_or("?".into(), |kib| format!("{:.0} MiB", kib as f64 / 1024.0)),
            f.allocations_beside
                .map_or("—".into(), |(sent, per_second)| format!(
                    "{sent} at {per_second:.1}/s"
                ))
        );
    }
    for f in &figures {
        let states: Vec<String> = f
            .states
            .iter()
            .map(|t| {
                format!(
                    "{} {:.1} s (max {:.1} s, {} visits)",
                    t.state,
                    t.mean_ms() as f64 / 1000.0,
                    t.longest_ms as f64 / 1000.0,
                    t.visits
                )
            })
            .collect();
        println!(
            "mean time in each state, {} {} {} × {} ({}): {}",
            f.store,
            f.payout.as_str(),
            f.workers,
            f.lanes,
            f.arrival,
            states.join(", ")
        );
    }
    for f in &figures {
        println!(
            "JSON-RPC calls of {} {} {} × {} ({}): {:?}",
            f.store,
            f.payout.as_str(),
            f.workers,
            f.lanes,
            f.arrival,
            f.rpc_methods
        );
    }
    for f in &figures {
        let Some(split) = &f.cpu else { continue };
        let [bench, bridges, others, idle] = split.shares();
        println!(
            "CPU of {} {} {} × {} ({}): the bench's process (validator, proxy, harness) {:.1} s ({bench:.0}%), bridges {:.1} s ({bridges:.0}%), other processes (PostgreSQL, …) {:.1} s ({others:.0}%), idle {:.1} s ({idle:.0}%)",
            f.store,
            f.payout.as_str(),
            f.workers,
            f.lanes,
            f.arrival,
            split.bench,
            split.bridges,
            split.others,
            split.idle
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
                "store": f.store, "payout": f.payout.as_str(), "workers": f.workers, "lanes": f.lanes, "arrival": f.arrival,
                "requests": f.requests,
                "seconds": f.seconds, "p50_ms": f.p50_ms, "p95_ms": f.p95_ms,
                "settle_transactions": f.settle_transactions.len(), "rpc_calls": f.rpc_calls,
                "rpc_methods": f.rpc_methods, "peak_memory_kib": f.peak_memory_kib,
                "cpu_seconds": f.cpu.as_ref().map(|split| json!({
                    "bench": split.bench, "bridges": split.bridges,
                    "others": split.others, "idle": split.idle,
                })),
                "allocations_beside": f.allocations_beside.map(|(sent, per_second)| json!({
                    "allocations": sent, "per_second": per_second,
                })),
                "states": f.states.iter().map(|t| json!({
                    "state": t.state.as_str(), "visits": t.visits,
                    "total_ms": t.total_ms, "longest_ms": t.longest_ms,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let figures = json!({
        "raw_chain": {
            "requests": raw_requests, "seconds": raw_seconds,
            "finalized_after_confirmed_seconds": finality_seconds,
        },
        "raw_chain_paid_on_chain": raw_onchain.map(|(requests, seconds, finality)| json!({
            "requests": requests, "seconds": seconds,
            "finalized_after_confirmed_seconds": finality,
        })),
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
