//! The bridge's websocket goes half-open (a proxy freezes it: nothing moves, nothing closes);
//! the slot-heartbeat watchdog replaces it and the request made meanwhile is paid. Then the
//! payment provider fails twice (retried under the same key: one payment) and refuses a payee
//! (manual review with the provider's reason; nothing settled).

use allot::state::{ExchangeRequest, RequestStatus};
use allot_bridge::http_provider::idempotency_key;
use allot_bridge::test_support::provider::TestProvider;
use allot_client::accounts;
use common::bridge_harness::{Bridge, Market, Proxy, bridge_status, wait_metric};

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn a_half_open_websocket_is_replaced_and_backfill_closes_the_gap() {
    let market = Market::open(28_899, 29_900, 4, false).await;
    let provider = TestProvider::start().await.unwrap();
    let upstream = market
        .ws_url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(upstream).await;
    let database = format!("sqlite://{}", market.dir.path().join("ws.db").display());
    let payout = format!("[payout]\nkind = \"http\"\nurl = \"{}\"\n", provider.url);
    // Passes every 60 s only: within the test, requests arrive through hints and reconnects.
    let ws_url = format!("ws://127.0.0.1:{}", proxy.port);
    let (config, metrics_port) = market.bridge_config("ws", &database, &payout, 60_000, &ws_url);
    let mut bridge = vec![Bridge::spawn(&config, None)];
    let (first, _) = market.request(0, 5).await;
    market.wait_settled(&[first], &mut bridge).await;

    proxy.freeze();
    // Made while the websocket is half-open: no hint reaches the bridge for it.
    let (second, _) = market.request(1, 7).await;
    // The heartbeat watchdog notices within its timeout and subscribes again.
    wait_metric(metrics_port, "allot_bridge_ws_reconnects_total", |n| {
        n >= 1.0
    })
    .await;
    market.wait_settled(&[second], &mut bridge).await;
    assert_eq!(provider.payments().len(), 2);

    // Two 500s: retried with backoff under the same idempotency key, paid once.
    provider.fail_next(2);
    let (third, _) = market.request(2, 6).await;
    market.wait_settled(&[third], &mut bridge).await;
    let key = idempotency_key(&third.to_string());
    let calls = provider.calls().iter().filter(|c| c.key == key).count();
    assert_eq!(calls, 3, "two failures, then the payment");
    assert_eq!(provider.payments().len(), 3);

    // A refusal (422) is final: a person must look; nothing is settled.
    provider.refuse_user(&market.users[3].1.key.to_string());
    let (refused, _) = market.request(3, 5).await;
    wait_metric(
        metrics_port,
        "allot_bridge_requests{state=\"manual_review\"}",
        |n| n == 1.0,
    )
    .await;
    // The settled accounts reach the database once their settle transactions are finalized.
    wait_metric(
        metrics_port,
        "allot_bridge_requests{state=\"settled\"}",
        |n| n == 3.0,
    )
    .await;
    let on_chain: ExchangeRequest = accounts::fetch(&market.chain, refused)
        .await
        .unwrap()
        .unwrap();
    // Locked before the provider was asked: it waits for a person (review) or its lock's expiry.
    assert_eq!(on_chain.status, RequestStatus::Locked);
    assert_eq!(provider.payments().len(), 3);
    assert!(bridge.pop().unwrap().stop().await.success());
    let report = bridge_status(&config);
    let open = report["open"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{report}");
    assert_eq!(open[0]["address"], refused.to_string());
    let reason = open[0]["review_reason"].as_str().unwrap();
    assert!(
        reason.contains("422") && reason.contains("payee account closed"),
        "{reason}"
    );
}
