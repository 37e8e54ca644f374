//! Two `allot-bridge` workers sharing one PostgreSQL database pay on chain (the stablecoin moves
//! inside the settle transaction) against the real validator; the first dies right after sending
//! a batched settle transaction, and later right after quoting a batch, and restarted behind a
//! node that refuses its first settle transactions, and every request is still paid exactly
//! once. The
//! requests wait before the workers start, so they are settled in batches: several settlements,
//! each with its own event, per transaction. Before them, a bridge that pays over HTTP is pointed
//! at the same requests and leaves them alone (review, no lock, no payment).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use allot::state::{ExchangeConfig, ExchangeRequest, Pool, RequestStatus};
use allot_bridge::settle;
use allot_bridge::state::RequestState;
use allot_bridge::store::Store;
use allot_bridge::test_support::postgres::TestPostgres;
use allot_bridge::test_support::provider::TestProvider;
use allot_bridge::test_support::rpc_counter::RpcCounter;
use allot_client::events::AllotEvent;
use allot_client::transaction_events::events_of_transaction;
use allot_client::{accounts, instructions};
use anchor_lang::prelude::Pubkey;
use common::bridge_harness::{
    BASE_UNITS_PER_CENT, Bridge, Market, TREASURY_BASE_UNITS, balance, balance_in, create_coin,
    http_payout, send, wait_metric,
};
use common::{compute_budget_of, transaction_when_written};
use solana_signer::Signer as _;
use spl_token_2022_interface::ID as TOKEN_2022;

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_on_postgres_pay_on_chain_exactly_once() {
    // Users 0-7 in the scenario below, 8-11 in the change of payout mint at its end.
    let market = Market::open(58_899, 59_900, 12, true).await;
    let mint = market.stablecoin.unwrap();
    let postgres = TestPostgres::start().expect("a PostgreSQL server");
    let database = postgres.database().await.unwrap();
    // A fixed priority fee, so the settle transactions carry one on an idle validator too.
    let payout = "priority_fee_micro_lamports = 11\n[payout]\nkind = \"onchain\"\n";
    let (first_config, _) = market.bridge_config("w1", &database.url, payout, 500, &market.ws_url);
    let (second_config, _) = market.bridge_config("w2", &database.url, payout, 500, &market.ws_url);
    let mut requests = Vec::new();
    for n in 0..4 {
        requests.push(market.request(n, 5 + n as u64).await);
    }
    let first_set: Vec<_> = requests.iter().map(|(address, _)| *address).collect();
    an_http_bridge_neither_locks_nor_pays_requests_paid_on_chain(&market, &first_set).await;
    // The first worker dies (abort, as kill -9) right after it broadcast its first batched
    // settle transaction, holding the claims of every request in it; the second finishes them
    // once the claims expire, reading the batch's fate from the stored signature.
    let first = Bridge::spawn(&first_config, Some("settle_broadcast"));
    first.wait_crash("settle_broadcast").await;
    let store = Store::open(&database.url).await.unwrap();
    let in_flight = store.requests().await.unwrap();
    let mut sharing = std::collections::BTreeMap::<String, usize>::new();
    for row in &in_flight {
        if row.state().unwrap() == RequestState::SettleSent {
            *sharing
                .entry(row.settle_signature.clone().unwrap())
                .or_default() += 1;
        }
    }
    assert!(
        sharing.values().any(|&rows| rows > 1),
        "the transaction in flight at the crash settles several requests: {sharing:?}"
    );
    let mut workers = vec![Bridge::spawn(&second_config, None)];
    market.wait_settled(&first_set, &mut workers).await;
    for worker in workers.drain(..) {
        assert!(worker.stop().await.success());
    }
    // Then it dies right after quoting a batch of discovered requests (`worker/quotes.rs`: all
    // claimed, read and quoted together, not let go); restarted under the same name, it takes its
    // claims back at once and pays them, through a node that refuses its first two settle
    // transactions (`worker/onchain_settles.rs`: stored, then the send fails): each is sent
    // again from its stored bytes once due, not signed anew.
    for n in 4..8 {
        requests.push(market.request(n, 1 + n as u64).await);
    }
    let second_set: Vec<_> = requests[4..].iter().map(|(address, _)| *address).collect();
    Bridge::spawn(&first_config, Some("quoted"))
        .wait_crash("quoted")
        .await;
    let refusing = RpcCounter::start(&market.url).await.unwrap();
    refusing.refuse("sendTransaction", 2);
    let (restarted_config, restarted_metrics) = market.bridge_config_via(
        "w1",
        &database.url,
        payout,
        500,
        &refusing.url,
        &market.ws_url,
    );
    workers.push(Bridge::spawn(&restarted_config, None));
    market.wait_settled(&second_set, &mut workers).await;
    // A refused transaction was sent again as stored, and no transaction was sent twice within
    // about two seconds (`RESEND_AFTER_MS`; every 800 ms before: the node retries on its own).
    let mut sends = std::collections::BTreeMap::<String, Vec<Instant>>::new();
    for call in refusing.calls() {
        if let Some(transaction) = call.transaction {
            sends.entry(transaction).or_default().push(call.at);
        }
    }
    assert!(
        sends.values().any(|times| times.len() > 1),
        "a refused transaction sent again from its stored bytes: {} transactions",
        sends.len()
    );
    for times in sends.values() {
        for pair in times.windows(2) {
            let apart = pair[1] - pair[0];
            assert!(
                apart >= Duration::from_millis(1_500),
                "the same bytes sent again after {apart:?}"
            );
        }
    }
    let addresses: Vec<_> = requests.iter().map(|(address, _)| *address).collect();

    let treasury_left = balance(&market.chain, &market.operator.1.key, &mint).await;
    let mut paid_total = 0;
    for (n, (address, quote)) in requests.iter().enumerate() {
        let user = market.users[n].1.key;
        // The quote is in cents; the coin has 6 decimals: each cent is 10,000 base units.
        assert_eq!(
            balance(&market.chain, &user, &mint).await,
            quote * BASE_UNITS_PER_CENT,
            "user {n} paid exactly its quote"
        );
        let on_chain: ExchangeRequest = accounts::fetch(&market.chain, *address)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(on_chain.paid_amount, *quote);
        paid_total += quote;
    }
    assert_eq!(
        treasury_left,
        TREASURY_BASE_UNITS - paid_total * BASE_UNITS_PER_CENT
    );
    // The running worker reports what the treasury holds of the payout mint.
    wait_metric(
        restarted_metrics,
        &format!("allot_bridge_treasury_base_units{{mint=\"{mint}\"}}"),
        |held| held == treasury_left as f64,
    )
    .await;
    // The account is settled at the cluster's confirmed view; the database follows once the
    // worker sees the settle transaction finalized.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rows = store.requests().await.unwrap();
        assert_eq!(rows.len(), 8);
        if rows
            .iter()
            .all(|r| r.state().unwrap() == RequestState::Settled)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled in the database: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for address in &second_set {
        assert_eq!(
            store.history(&address.to_string()).await.unwrap(),
            [
                RequestState::Discovered,
                RequestState::Quoted,
                RequestState::SettleSent,
                RequestState::Settled
            ],
            "{address}: one settle transaction, stored once and sent until it landed"
        );
    }
    // Every settle transaction that landed pays the configured priority fee under the
    // reservation of the settlements it carries, as the runtime's own instruction type reads
    // them; each settlement has its own event, and the waiting requests shared transactions.
    let rows = store.requests().await.unwrap();
    let signatures: BTreeSet<String> = rows
        .iter()
        .map(|row| {
            row.settle_signature
                .clone()
                .expect("a settled request has its settle signature")
        })
        .collect();
    let mut settled_by_events = BTreeSet::new();
    for signature in &signatures {
        let fetched = transaction_when_written(
            &market.chain,
            &signature.parse().unwrap(),
            Duration::from_secs(60),
        )
        .await;
        let settled: Vec<_> = events_of_transaction(&fetched)
            .unwrap()
            .events
            .into_iter()
            .filter_map(|event| match event {
                AllotEvent::ExchangeSettled(settled) => Some(settled.request),
                _ => None,
            })
            .collect();
        let decoded = fetched.transaction.transaction.decode().unwrap();
        let budget = compute_budget_of(&decoded);
        assert_eq!(budget.unit_price_micro_lamports, Some(11));
        assert_eq!(
            budget.unit_limit,
            Some(settle::SETTLE_WITH_PAYOUT_UNITS * settled.len() as u32),
            "{signature}: the reservation of {} settlements",
            settled.len()
        );
        for request in settled {
            assert!(settled_by_events.insert(request), "{request} settled twice");
        }
    }
    assert_eq!(settled_by_events, addresses.iter().copied().collect());
    assert!(
        signatures.len() < addresses.len(),
        "some requests shared a settle transaction: {signatures:?}"
    );
    for worker in workers {
        assert!(worker.stop().await.success());
    }
    each_request_is_paid_in_the_mint_its_terms_froze(&market, &first_config, &database.url).await;
}

/// The operator moves the pool's payouts to another stablecoin (under SPL Token, not
/// Token-2022; 2 decimals, not 6) while requests under the first wait: each request is paid in
/// the mint its terms froze, in that mint's base units (a cent is 10,000 base units of the first
/// and one of the second), from the treasury of that mint, and no settle transaction pays in
/// both.
async fn each_request_is_paid_in_the_mint_its_terms_froze(
    market: &Market,
    config: &Path,
    database_url: &str,
) {
    use spl_token_2022_interface::inline_spl_token::ID as SPL_TOKEN;
    let operator = &market.operator.0;
    let first_mint = market.stablecoin.unwrap();
    let mut under_first = Vec::new();
    for n in 8..10 {
        under_first.push(market.request(n, 5).await);
    }
    // USD 1,000 in cents.
    let second_treasury = 100_000;
    let second_mint = create_coin(&market.chain, operator, second_treasury, &SPL_TOKEN, 2).await;
    let pool: Pool = accounts::fetch(&market.chain, market.pool)
        .await
        .unwrap()
        .unwrap();
    let moved = ExchangeConfig {
        payout_mint: Some(second_mint),
        ..pool.exchange
    };
    send(
        &market.chain,
        &[instructions::pool_set_exchange(
            &operator.pubkey(),
            &market.pool,
            moved,
        )],
        &[operator],
    )
    .await;
    let mut under_second = Vec::new();
    for n in 10..12 {
        under_second.push(market.request(n, 6).await);
    }
    let first_treasury = balance(&market.chain, &operator.pubkey(), &first_mint).await;
    let all: Vec<Pubkey> = under_first
        .iter()
        .chain(&under_second)
        .map(|(address, _)| *address)
        .collect();
    let mut workers = vec![Bridge::spawn(config, None)];
    market.wait_settled(&all, &mut workers).await;
    for worker in workers {
        assert!(worker.stop().await.success());
    }

    // Each set: its requests and first user, its mint and token program, base units a cent,
    // the treasury before; then the other set's mint and program, which pays it nothing.
    let first = (first_mint, TOKEN_2022);
    let second = (second_mint, SPL_TOKEN);
    let paid = [
        (
            &under_first,
            8,
            first,
            BASE_UNITS_PER_CENT,
            first_treasury,
            second,
        ),
        (&under_second, 10, second, 1, second_treasury, first),
    ];
    let store = Store::open(database_url).await.unwrap();
    let mut signatures = Vec::new();
    for (requests, first_user, (mint, token_program), base_units_per_cent, before, other) in paid {
        let (other_mint, other_program) = other;
        let mut quoted_total = 0;
        let mut paid_by = BTreeSet::new();
        for (offset, (address, quote)) in requests.iter().enumerate() {
            let user = market.users[first_user + offset].1.key;
            let wanted = quote * base_units_per_cent;
            assert_eq!(
                balance_in(&market.chain, &user, &mint, &token_program).await,
                wanted,
                "user {} paid its quote of {quote} cents in {mint}",
                first_user + offset
            );
            assert_eq!(
                balance_in(&market.chain, &user, &other_mint, &other_program).await,
                0,
                "user {} paid nothing in {other_mint}",
                first_user + offset
            );
            let on_chain: ExchangeRequest = accounts::fetch(&market.chain, *address)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(on_chain.payout_mint, Some(mint));
            assert_eq!(on_chain.payout_base_units, wanted);
            quoted_total += quote;
            let row = store.request(&address.to_string()).await.unwrap().unwrap();
            paid_by.insert(row.settle_signature.unwrap());
        }
        let left = balance_in(&market.chain, &operator.pubkey(), &mint, &token_program).await;
        assert_eq!(left, before - quoted_total * base_units_per_cent, "{mint}");
        signatures.push(paid_by);
    }
    assert!(
        signatures[0].is_disjoint(&signatures[1]),
        "no settle transaction pays in both mints: {signatures:?}"
    );
}

/// A bridge that pays over HTTP, pointed at requests whose frozen terms say they are paid on
/// chain, sends each to manual review with the reason, and neither locks them (they stay pending
/// on chain for the bridge that pays on chain) nor calls its provider.
async fn an_http_bridge_neither_locks_nor_pays_requests_paid_on_chain(
    market: &Market,
    requests: &[solana_sdk::pubkey::Pubkey],
) {
    let provider = TestProvider::start().await.unwrap();
    let database = format!("sqlite://{}", market.dir.path().join("http.db").display());
    let payout = http_payout(&provider.url);
    let (config, _) = market.bridge_config("http", &database, &payout, 500, &market.ws_url);
    // Created (migrated) before the bridge starts: two processes migrating one new SQLite file
    // at once race.
    let store = Store::open(&database).await.unwrap();
    let bridge = Bridge::spawn(&config, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    let reviewed = loop {
        let rows = store.requests().await.unwrap();
        let reviewed: Vec<_> = rows
            .into_iter()
            .filter(|row| row.state().unwrap() == RequestState::ManualReview)
            .collect();
        if reviewed.len() == requests.len() {
            break reviewed;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} in review: {}",
            reviewed.len(),
            requests.len(),
            bridge.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(bridge.stop().await.success());
    for row in &reviewed {
        let reason = row.review_reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains("paid on chain") && reason.contains("this bridge pays over HTTP"),
            "{}: {reason}",
            row.address
        );
    }
    let on_chain = accounts::fetch_many::<ExchangeRequest>(&market.chain, requests)
        .await
        .unwrap();
    assert!(
        on_chain.iter().all(|r| r
            .as_ref()
            .is_some_and(|r| r.status == RequestStatus::Pending)),
        "still pending, not locked: {on_chain:?}"
    );
    assert!(
        provider.payments().is_empty(),
        "the provider was not called"
    );
}
