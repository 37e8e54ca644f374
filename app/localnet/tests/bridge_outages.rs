//! Three `allot-bridge` workers (three lanes each: `payout_concurrency = 3`) on one PostgreSQL
//! database reached over TLS (`verify-full`), paying over HTTP, with the node's JSON-RPC and
//! websocket behind proxies the test can cut:
//! 0. started while the JSON-RPC is gone: they say the node cannot be reached and wait for it;
//! 1. hundreds of requests, each paid exactly once (payments counted per idempotency key at the
//!    provider, each for the request's quote);
//! 2. the websocket gone for 30 s while dozens of requests land: all paid once after it returns;
//! 3. the JSON-RPC gone from the moment the provider is paying until after the request's cancel
//!    time: the user cannot cancel the locked request (the program refuses it), and once the node
//!    is back the request is settled, paid once.
//!
//! The pool here gives each user 1,000 units and lets a pending request be cancelled 20 s after
//! it is made, so that an outage outlasts the cancel time within a test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use allot::error::AllotError;
use allot::state::{ExchangeRequest, RequestStatus};
use allot_bridge::http_provider::idempotency_key;
use allot_bridge::test_support::postgres::TestPostgres;
use allot_bridge::test_support::provider::{SLOW_ANSWER, TestProvider};
use allot_client::chain::Chain as _;
use allot_client::{accounts, instructions};
use anchor_lang::prelude::Pubkey;
use common::bridge_harness::{Bridge, Market, Proxy, send, wait_metric};
use solana_sdk::transaction::{Transaction, VersionedTransaction};
use solana_signer::Signer as _;

mod common;

/// Requests made while everything is up (four users, fifty each).
const REQUESTS_PER_USER: u64 = 50;
/// Requests made while the websocket is gone.
const REQUESTS_WITHOUT_WEBSOCKET: u64 = 24;
/// The pool's cancel timeout in this test (seconds).
const CANCEL_TIMEOUT_SECONDS: i64 = 20;

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_over_tls_pay_hundreds_once_through_websocket_and_rpc_outages() {
    let market = Market::open_with(38_899, 39_900, 4, false, |pool| {
        pool.replace("amount = 10\n", "amount = 1_000\n")
            .replace("min_holding = 5", "min_holding = 1")
            .replace(
                "cancel_timeout_seconds = 86_400",
                &format!("cancel_timeout_seconds = {CANCEL_TIMEOUT_SECONDS}"),
            )
    })
    .await;
    let postgres = TestPostgres::start_tls().expect("a PostgreSQL server that takes TLS only");
    let database = postgres.database().await.unwrap();
    assert!(database.url.contains("sslmode=verify-full"));
    let provider = TestProvider::start().await.unwrap();
    let rpc = Proxy::start(market.url.trim_start_matches("http://").to_owned()).await;
    let ws = Proxy::start(
        market
            .ws_url
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .to_owned(),
    )
    .await;
    // Three lanes per worker: nine requests move at once, each still paid exactly once.
    let payout = format!(
        "payout_concurrency = 3\n[payout]\nkind = \"http\"\nurl = \"{}\"\n",
        provider.url
    );
    let (rpc_url, ws_url) = (
        format!("http://127.0.0.1:{}", rpc.port),
        format!("ws://127.0.0.1:{}", ws.port),
    );
    // Passes every minute only: requests arrive through the websocket's hints, or through the
    // history read after it reconnects.
    // 0. Started while the node's JSON-RPC is gone, each worker names the node it cannot reach
    //    and waits for it (the start-up check retried) instead of exiting.
    rpc.cut();
    let mut workers = Vec::new();
    let mut metrics_ports = Vec::new();
    for name in ["w1", "w2", "w3"] {
        let (config, port) =
            market.bridge_config_via(name, &database.url, &payout, 60_000, &rpc_url, &ws_url);
        workers.push(Bridge::spawn(&config, None));
        metrics_ports.push(port);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for worker in &mut workers {
        loop {
            let log = std::fs::read_to_string(&worker.log).unwrap_or_default();
            if log.contains(&format!("cannot reach the node at {rpc_url}")) {
                break;
            }
            assert!(
                worker.child.try_wait().unwrap().is_none(),
                "a worker exited:\n{log}"
            );
            assert!(
                Instant::now() < deadline,
                "no unreachable-node message:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for worker in &mut workers {
        assert!(
            worker.child.try_wait().unwrap().is_none(),
            "a worker exited while the node was down:\n{}",
            worker.log_tail()
        );
    }
    rpc.restore();

    // 1. Hundreds of requests.
    let mut requests = Vec::new();
    for _ in 0..REQUESTS_PER_USER / 10 {
        for user in 0..market.users.len() {
            requests.extend(market.request_batch(user, 10).await);
        }
    }
    assert_eq!(requests.len(), 200);
    market.wait_settled(&requests, &mut workers).await;
    assert_paid_once(&market, &provider, &requests).await;

    // 2. The websocket gone for 30 s while dozens of requests land.
    ws.cut();
    let cut_at = Instant::now();
    let mut unseen = Vec::new();
    for user in 0..3 {
        unseen.extend(
            market
                .request_batch(user, REQUESTS_WITHOUT_WEBSOCKET / 3)
                .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(cut_at.elapsed())).await;
    ws.restore();
    market.wait_settled(&unseen, &mut workers).await;
    requests.extend(&unseen);
    assert_paid_once(&market, &provider, &requests).await;
    for port in &metrics_ports {
        wait_metric(*port, "allot_bridge_ws_reconnects_total", |n| n >= 1.0).await;
    }

    // 3. The node unreachable from the moment the provider pays until past the cancel time.
    provider.slow_next(1);
    let user = &market.users[3];
    let locked = market.request_batch(3, 1).await[0];
    let key = market.payout_key(&locked).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !provider.calls().iter().any(|call| call.key == key) {
        assert!(Instant::now() < deadline, "the provider was never called");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The provider is paying now (it answers after SLOW_ANSWER): the bridge cannot settle.
    rpc.cut();
    let request = on_chain(&market, locked).await;
    assert_eq!(request.status, RequestStatus::Locked);
    let outage_at = Instant::now();
    assert_eq!(
        request.cancel_after,
        request.created_at + CANCEL_TIMEOUT_SECONDS
    );
    // The outage lasts past the request's cancel time, and past the provider's answer (the
    // bridge then holds a payment it cannot settle).
    while market.chain.unix_timestamp().await.unwrap() <= request.cancel_after + 5
        || outage_at.elapsed() <= SLOW_ANSWER + Duration::from_secs(2)
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Past its cancel time, a pending request could be cancelled; a locked one cannot.
    let cancel = instructions::exchange_cancel(&user.1.key, &market.pool, request.id);
    let blockhash = market.chain.latest_blockhash().await.unwrap();
    let transaction = Transaction::new_signed_with_payer(
        &[cancel],
        Some(&user.0.pubkey()),
        &[&user.0],
        blockhash,
    );
    let refused = market
        .chain
        .send(VersionedTransaction::from(transaction))
        .await
        .expect_err("a locked request cannot be cancelled");
    assert_eq!(
        refused.custom_code(),
        Some(u32::from(AllotError::RequestLocked)),
        "{refused}"
    );
    assert_eq!(
        on_chain(&market, locked).await.status,
        RequestStatus::Locked
    );
    rpc.restore();
    // A transaction that mentions the program wakes the workers (a live hint) at once.
    let after_id = allot_client::request_id::random();
    send(
        &market.chain,
        &[instructions::exchange_request(
            &user.1.key,
            &user.1.key,
            &market.pool,
            after_id,
            1,
        )],
        &[&user.0],
    )
    .await;
    let after = allot_client::pdas::exchange_request(&market.pool, after_id);
    market.wait_settled(&[locked, after], &mut workers).await;
    requests.extend([locked, after]);
    assert_paid_once(&market, &provider, &requests).await;
    for worker in workers {
        assert!(worker.stop().await.success());
    }
}

/// Every request in `requests` is settled on chain and paid exactly once at the provider (one
/// payment under its idempotency key, for its quote), and the provider paid nothing else.
async fn assert_paid_once(market: &Market, provider: &TestProvider, requests: &[Pubkey]) {
    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    for payment in provider.payments() {
        per_key
            .entry(payment.key.clone())
            .or_default()
            .push(payment.order.amount);
    }
    let on_chain = accounts::fetch_many::<ExchangeRequest>(&market.chain, requests)
        .await
        .unwrap();
    for (address, request) in requests.iter().zip(on_chain) {
        let request = request.expect("the request exists");
        assert_eq!(request.status, RequestStatus::Settled, "{address}");
        let key = idempotency_key(&address.to_string(), request.created_at);
        assert_eq!(
            per_key.get(&key),
            Some(&vec![request.quoted]),
            "{address}: one payment of its quote"
        );
    }
    assert_eq!(
        per_key.len(),
        requests.len(),
        "no payment for anything else"
    );
}

async fn on_chain(market: &Market, address: Pubkey) -> ExchangeRequest {
    accounts::fetch(&market.chain, address)
        .await
        .unwrap()
        .expect("the request exists")
}
