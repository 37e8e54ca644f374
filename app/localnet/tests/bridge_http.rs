//! The HTTP payouts on SQLite (the bridge's default store), on one validator: the crash
//! scenario (`common/http_crash_scenario.rs`), then each review command on requests the
//! provider refused (`common/review_scenario.rs`), then many requests waiting for their locks at
//! once, read from the node together, with blockhash and fee lookups shared between
//! transactions (seen through a proxy that records every JSON-RPC call).

use std::collections::HashMap;

use allot_bridge::http_provider::idempotency_key;
use allot_bridge::recent::{BLOCKHASH_MAX_AGE, FEE_MAX_AGE};
use allot_bridge::service::HINTED_SCAN_EVERY;
use allot_bridge::test_support::provider::TestProvider;
use allot_bridge::test_support::rpc_counter::RpcCounter;
use common::bridge_harness::{Bridge, Market};

mod common;

/// Users of the crash and review scenarios; the ones after them open the waiting requests.
const SCENARIO_USERS: usize = 5;
/// Users opening two requests each for the waiting-locks phase.
const WAITING_USERS: usize = 20;

#[tokio::test(flavor = "multi_thread")]
async fn http_payouts_survive_crashes_and_people_resolve_what_the_bridge_cannot() {
    let market = Market::open(48_899, 49_900, SCENARIO_USERS + WAITING_USERS, false).await;
    common::http_crash_scenario::killed_at_every_transition(&market, None).await;
    common::review_scenario::review_commands(&market).await;
    waiting_locks_are_read_together(&market).await;
}

/// Forty requests wait for their locks' finality at once. The bridge reads the finalized view
/// of them in shared `getMultipleAccounts` calls (before, each request was read on its own,
/// twice a second while it waited), and pays each exactly once.
async fn waiting_locks_are_read_together(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    let counter = RpcCounter::start(&market.url).await.unwrap();
    let database = format!(
        "sqlite://{}",
        market.dir.path().join("waiting-locks.db").display()
    );
    let payout = format!("[payout]\nkind = \"http\"\nurl = \"{}\"\n", provider.url);
    let requests = market
        .open_requests(SCENARIO_USERS..SCENARIO_USERS + WAITING_USERS)
        .await;
    let (config, _) = market.bridge_config_via(
        "waiting-locks",
        &database,
        &payout,
        500,
        &counter.url,
        &market.ws_url,
    );
    let started = std::time::Instant::now();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&requests, &mut bridge).await;
    assert!(bridge.pop().unwrap().stop().await.success());
    let elapsed = started.elapsed();

    let mut paid: HashMap<String, usize> = HashMap::new();
    for payment in provider.payments() {
        *paid.entry(payment.key).or_default() += 1;
    }
    for request in &requests {
        assert_eq!(
            paid.get(&idempotency_key(&request.to_string())),
            Some(&1),
            "{request} paid once"
        );
    }
    let calls = counter.calls();
    let finalized_reads: Vec<usize> = calls
        .iter()
        .filter(|call| {
            call.method == "getMultipleAccounts" && call.commitment.as_deref() == Some("finalized")
        })
        .map(|call| call.accounts)
        .collect();
    let accounts_read: usize = finalized_reads.iter().sum();
    println!(
        "{} requests: {} JSON-RPC calls ({:.1} per request); finalized view read {accounts_read} \
         times in {} calls; by method: {:?}",
        requests.len(),
        calls.len(),
        calls.len() as f64 / requests.len() as f64,
        finalized_reads.len(),
        counter.counts()
    );
    assert!(
        finalized_reads.iter().any(|&accounts| accounts >= 10),
        "some finalized read covered at least ten waiting requests: {finalized_reads:?}"
    );
    assert!(
        accounts_read >= 3 * finalized_reads.len(),
        "waiting requests shared their finalized reads (three or more per call on average): \
         {finalized_reads:?}"
    );
    // Locks and settlements sign with a blockhash and a priority fee asked at most every few
    // seconds (`allot_bridge::recent`), not once per transaction.
    let count = |method: &str| calls.iter().filter(|call| call.method == method).count();
    let (sent, blockhashes, fees) = (
        count("sendTransaction"),
        count("getLatestBlockhash"),
        count("getRecentPrioritizationFees"),
    );
    // At most one lookup per `max_age` (each starts at least that long after the one before),
    // and a few more for a transient failure on the busy machine (a failed lookup stands 1 s; a
    // failed history pass or scan forces a scan at the next pass).
    const SLACK: u64 = 4;
    let per = |max_age: std::time::Duration| {
        (elapsed.as_millis() / max_age.as_millis()) as u64 + 1 + SLACK
    };
    let seconds = elapsed.as_secs();
    assert!(
        blockhashes < sent && blockhashes as u64 <= per(BLOCKHASH_MAX_AGE),
        "{blockhashes} blockhash lookups for {sent} sends in {seconds} s"
    );
    assert!(
        fees < sent && fees as u64 <= per(FEE_MAX_AGE),
        "{fees} fee lookups (one pool) for {sent} sends in {seconds} s"
    );
    // The pool's open requests are scanned (`getProgramAccounts` for pending, then for locked:
    // the node's costliest read) at most every `HINTED_SCAN_EVERY` while hints arrive (every
    // `OPEN_SCAN_EVERY` otherwise), not at every pass (twice a second here).
    let scans = count("getProgramAccounts");
    assert!(
        scans as u64 <= 2 * per(HINTED_SCAN_EVERY),
        "{scans} getProgramAccounts in {seconds} s"
    );
}
