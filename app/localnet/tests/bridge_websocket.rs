//! The bridge's websocket goes half-open (a proxy freezes it: nothing moves, nothing closes);
//! the slot-heartbeat watchdog replaces it and the backfill that follows closes the gap.

use allot_bridge::test_support::provider::TestProvider;
use common::bridge_harness::{Bridge, Market, Proxy, metric, scrape, wait_metric};

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn a_half_open_websocket_is_replaced_and_backfill_closes_the_gap() {
    let market = Market::open(28_899, 29_900, 2, false).await;
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
    let (_, exposition) = scrape(metrics_port, "/metrics").await;
    assert_eq!(
        metric(
            &exposition,
            "allot_bridge_requests{state=\"manual_review\"}"
        ),
        Some(0.0)
    );
    assert!(bridge.pop().unwrap().stop().await.success());
}
