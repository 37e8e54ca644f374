//! The HTTP-payout crash scenario, run on each database (`bridge_http.rs`: SQLite,
//! `bridge_http_postgres.rs`): the bridge (a separate `allot-bridge` process) pays through a
//! real HTTP payment provider; killed at every state transition and restarted, it pays each
//! request exactly once; a failed transaction that carried an event and a forged event from
//! another program are ignored; SIGTERM stops it cleanly; `status` reads its database.

use std::collections::HashMap;

use super::bridge_harness::{
    Bridge, Market, bridge_status, metric, scrape, send_forged_event, wait_healthy, wait_metric,
};
use allot::state::{ExchangeRequest, RequestStatus};
use allot_bridge::crash::CRASH_POINTS;
use allot_bridge::settle::payout_reference;
use allot_bridge::state::RequestState;
use allot_bridge::store::Store;
use allot_bridge::test_support::provider::TestProvider;
use allot_client::chain::Chain as _;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::prelude::Pubkey;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_sdk::transaction::Transaction;
use solana_signer::Signer;

/// Runs the scenario on `market` (users 0–2), storing in PostgreSQL at `postgres_url` (SQLite
/// in the market's directory when `None`).
pub async fn killed_at_every_transition(market: &Market, postgres_url: Option<String>) {
    let provider = TestProvider::start().await.unwrap();
    // A provider that forgets idempotency keys at once: a blind second call would pay twice, so
    // exactly once rests on the bridge asking its ledger (GET /payouts/{key}) first.
    provider.forget_keys_after(std::time::Duration::ZERO);
    let (first, first_quote) = market.request(0, 8).await;
    let (second, second_quote) = market.request(1, 6).await;

    // A failed transaction whose first instruction requested an exchange (and emitted its event)
    // before the second one failed: nothing it did happened, and the bridge must not pay it.
    let doomed_id = allot_client::request_id::random();
    let user = &market.users[2].0;
    let blockhash = market.chain.latest_blockhash().await.unwrap();
    let doomed = Transaction::new_signed_with_payer(
        &[
            instructions::exchange_request(
                &user.pubkey(),
                &user.pubkey(),
                &market.pool,
                doomed_id,
                5,
            ),
            instructions::exchange_request(
                &user.pubkey(),
                &user.pubkey(),
                &market.pool,
                allot_client::request_id::random(),
                1_000,
            ),
        ],
        Some(&user.pubkey()),
        &[user],
        blockhash,
    );
    let doomed_signature = market
        .chain
        .client()
        .send_transaction_with_config(
            &doomed,
            RpcSendTransactionConfig {
                skip_preflight: true,
                ..RpcSendTransactionConfig::default()
            },
        )
        .await
        .expect("sent without preflight");
    let doomed_request = pdas::exchange_request(&market.pool, doomed_id);

    // Another program's inner instruction carrying allot's event-CPI tag, discriminator and a
    // well-formed ExchangeRequested for this pool: a forgery the bridge must not pay.
    let forged_request = Pubkey::new_unique();
    let forged = allot::events::ExchangeRequested {
        pool: market.pool,
        request: forged_request,
        id: 999,
        user: market.users[2].0.pubkey(),
        kind: allot::state::ResourceKind::VirtualStock,
        amount: 1_000,
        rate: 2_500_000_000,
        unit_value: 2_500_000_000,
        quoted: 1_000_000,
        currency: *b"USD",
        currency_digits: 2,
        payout_mint: None,
        created_at: 0,
        cancel_after: 3_600,
        debt_repaid: 0,
    };
    let forged_signature = send_forged_event(&market.chain, &market.users[2].0, &forged).await;

    let database = postgres_url
        .unwrap_or_else(|| format!("sqlite://{}", market.dir.path().join("bridge.db").display()));
    let payout = format!(
        "[payout]\nkind = \"http\"\nurl = \"{}\"\ntimeout_ms = 1000\n",
        provider.url
    );
    let (config, metrics_port) =
        market.bridge_config("solo", &database, &payout, 500, &market.ws_url);
    for point in CRASH_POINTS {
        Bridge::spawn(&config, Some(point)).wait_crash(point).await;
    }
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&[first, second], &mut bridge).await;

    // Exactly one payment per request, under its idempotency key, of its quote.
    let payments = provider.payments();
    assert_eq!(payments.len(), 2, "{payments:?}");
    let paid: HashMap<_, _> = payments.iter().map(|p| (p.key.clone(), p)).collect();
    for (request, quote) in [(first, first_quote), (second, second_quote)] {
        let payment = paid[&market.payout_key(&request).await];
        assert_eq!(payment.order.amount, quote);
        let on_chain: ExchangeRequest = accounts::fetch(&market.chain, request)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(on_chain.status, RequestStatus::Settled);
        assert_eq!(on_chain.paid_amount, quote);
        assert_eq!(
            on_chain.payout_reference,
            payout_reference(&payment.payment_id)
        );
    }
    // The kill between the provider's answer and storing it made the bridge ask what became of
    // that call (the lookup found the payment) instead of calling again: one call per payment.
    let calls = provider.calls();
    assert_eq!(calls.len(), payments.len(), "no second call: {calls:?}");
    let lookups = provider.lookups();
    assert!(
        lookups.iter().any(|key| paid.contains_key(key)),
        "the restarted bridge looked the crashed payout up: {lookups:?}"
    );
    // Each request was locked on chain before it was paid.
    for request in [first, second] {
        let on_chain: ExchangeRequest = accounts::fetch(&market.chain, request)
            .await
            .unwrap()
            .unwrap();
        assert!(on_chain.locked_at > 0, "{request} was paid without a lock");
    }

    // The last bridge may have found both requests settled by an earlier one: it is ready once
    // a pass of its own ended.
    wait_healthy(metrics_port).await;
    // The gauges are refreshed at the end of each pass.
    let exposition = wait_metric(
        metrics_port,
        "allot_bridge_requests{state=\"settled\"}",
        |n| n == 2.0,
    )
    .await;
    assert_eq!(
        metric(
            &exposition,
            "allot_bridge_requests{state=\"manual_review\"}"
        ),
        Some(0.0)
    );
    assert!(exposition.contains("allot_bridge_cursor_lag_slots"));
    // Liveness and readiness for an orchestrator; the money path's operating figures.
    assert_eq!(scrape(metrics_port, "/livez").await.0, 200);
    assert_eq!(scrape(metrics_port, "/readyz").await.0, 200);
    assert!(
        metric(&exposition, "allot_bridge_fee_payer_lamports").is_some_and(|l| l > 0.0),
        "{exposition}"
    );
    // Nothing is open once both are settled.
    wait_metric(
        metrics_port,
        "allot_bridge_oldest_open_request_age_seconds",
        |age| age == 0.0,
    )
    .await;

    let stopped = bridge.pop().unwrap().stop().await;
    assert!(stopped.success(), "SIGTERM is a clean stop: {stopped}");

    // The failed transaction landed, and left no request and no row.
    let status = market
        .chain
        .client()
        .get_signature_statuses_with_history(&[doomed_signature])
        .await
        .unwrap()
        .value[0]
        .clone()
        .expect("the failed transaction is in the history");
    assert!(status.err.is_some());
    assert!(
        market
            .chain
            .account(doomed_request)
            .await
            .unwrap()
            .is_none()
    );
    let store = Store::open(&database).await.unwrap();
    assert!(
        store
            .request(&doomed_request.to_string())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.requests().await.unwrap().len(), 2);
    assert!(
        store
            .request(&forged_request.to_string())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        provider
            .calls()
            .iter()
            .all(|c| c.order.request != forged_request.to_string()),
        "the forged request was never paid"
    );
    // The forgery did reach the history as an inner instruction with allot's event bytes.
    let forged_tx = super::transaction_when_written(
        &market.chain,
        &forged_signature,
        std::time::Duration::from_secs(60),
    )
    .await;
    let inner: Option<Vec<_>> = forged_tx
        .transaction
        .meta
        .as_ref()
        .unwrap()
        .inner_instructions
        .clone()
        .into();
    assert_eq!(
        inner.map(|i| i.len()),
        Some(1),
        "the forger's self-invocation is recorded"
    );
    let decoded = allot_client::transaction_events::events_of_transaction(&forged_tx).unwrap();
    assert!(decoded.events.is_empty() && !decoded.failed);
    let history = store.history(&first.to_string()).await.unwrap();
    assert_eq!(
        history,
        [
            RequestState::Discovered,
            RequestState::Quoted,
            RequestState::PayoutPending,
            RequestState::Paid,
            RequestState::SettleSent,
            RequestState::Settled
        ]
    );
    // `status` reads the same database.
    let report = bridge_status(&config);
    assert_eq!(report["by_state"]["settled"], 2);
    assert_eq!(report["open"].as_array().unwrap().len(), 0);
}
