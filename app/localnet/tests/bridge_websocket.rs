//! The bridge's websocket goes half-open (a proxy freezes it: nothing moves, nothing closes);
//! the slot-heartbeat watchdog replaces it and the request made meanwhile is paid. Then the
//! payment provider fails twice (retried under the same key: one payment) and refuses a payee
//! (manual review with the provider's reason; nothing settled). Last, a platform's bridge
//! configured with no pool (`discover_pools`) serves a merchant's pool created while it runs,
//! found on chain by its settlement authority.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_bridge::test_support::provider::TestProvider;
use allot_client::accounts;
use anchor_lang::prelude::Pubkey;
use common::bridge_harness::{
    Bridge, Market, Proxy, bridge_status, free_port, http_payout, send, wait_metric,
};
use common::{EXAMPLE_POOL_FILE, allot, create_pool_from, issue_credentials, wallet};
use solana_signer::Signer as _;

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
    let payout = http_payout(&provider.url);
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
    let key = market.payout_key(&third).await;
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

    a_platform_bridge_serves_pools_it_finds_on_chain(&market, &provider).await;
}

/// A bridge with no pool in its file and `discover_pools = true` serves every pool whose
/// settlement authority is its key: the market's pool at once, and a merchant's pool created
/// while it runs (the merchant names the platform's key in its pool file's `[exchange]`).
async fn a_platform_bridge_serves_pools_it_finds_on_chain(
    market: &Market,
    provider: &TestProvider,
) {
    let platform = market.operator.0.pubkey();
    let metrics_port = free_port();
    let config = market.dir.path().join("platform.toml");
    std::fs::write(
        &config,
        format!(
            "rpc_url = \"{}\"\nws_url = \"{}\"\ndiscover_pools = true\nsettlement_keypair = \"{}\"\n\
             database_url = \"sqlite://{}\"\nworker_name = \"platform\"\n\
             metrics_addr = \"127.0.0.1:{metrics_port}\"\npoll_interval_ms = 1000\n\
             [payout]\nkind = \"http\"\nurl = \"{}\"\n",
            market.url,
            market.ws_url,
            market.operator.1.file,
            market.dir.path().join("platform.db").display(),
            provider.url
        ),
    )
    .unwrap();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    // Its metrics listen once the start-up checks (and the first look for pools) are done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", metrics_port)).is_err() {
        if let Some(status) = bridge[0].child.try_wait().unwrap() {
            panic!(
                "the platform bridge exited ({status}):\n{}",
                bridge[0].log_tail()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            bridge[0].log_tail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    wait_metric(metrics_port, "allot_bridge_pools_served", |n| n == 1.0).await;

    // A merchant (its own operator key, funded by the platform) creates a pool settled by the
    // platform's key; the verifier and a user of the market take part in it.
    let (merchant, merchant_wallet) = wallet(&market.dir, "merchant");
    send(
        &market.chain,
        &[anchor_lang::solana_program::system_instruction::transfer(
            &platform,
            &merchant.pubkey(),
            2_000_000_000,
        )],
        &[&market.operator.0],
    )
    .await;
    let text = EXAMPLE_POOL_FILE.replace("pool_id = 1", "pool_id = 7")
        + &format!("settlement_authority = \"{platform}\"\n");
    let pool = create_pool_from(
        &market.chain,
        &market.url,
        &market.dir,
        &merchant_wallet,
        &market.verifier.1.key,
        &text,
    )
    .await;
    let user = &market.users[0].1;
    issue_credentials(
        &market.chain,
        &market.url,
        &market.dir,
        &market.verifier.1,
        &pool,
        &[user.key],
    )
    .await;
    let pool_text = pool.to_string();
    let cranked = allot(
        &market.chain,
        &market.url,
        &merchant_wallet,
        &["crank", "--pool", &pool_text],
    )
    .await;
    assert_eq!(cranked["allocations"], 1);

    // The bridge finds the pool, reads its history and pays the user's request in it.
    wait_metric(metrics_port, "allot_bridge_pools_served", |n| n == 2.0).await;
    let paid_before = provider.payments().len();
    let requested = allot(
        &market.chain,
        &market.url,
        user,
        &["user", "exchange", "--pool", &pool_text, "--amount", "5"],
    )
    .await;
    let request: Pubkey = requested["request"].as_str().unwrap().parse().unwrap();
    market.wait_settled(&[request], &mut bridge).await;
    assert_eq!(provider.payments().len(), paid_before + 1);
    let paid = provider.payments().last().cloned().unwrap();
    assert_eq!(paid.key, market.payout_key(&request).await);
    assert_eq!(paid.order.request, request.to_string());
    assert_eq!(paid.order.user, user.key.to_string());
    assert_eq!(paid.order.amount, requested["quoted"].as_u64().unwrap());
    assert!(bridge.pop().unwrap().stop().await.success());
}
