//! The HTTP payouts on SQLite (the bridge's default store), on one validator: the crash
//! scenario (`common/http_crash_scenario.rs`), then each review command on requests the
//! provider refused (`common/review_scenario.rs`), then many requests waiting for their locks at
//! once, read from the node together and paid several at a time, with blockhash and fee lookups shared between
//! transactions (seen through a proxy that records every JSON-RPC call), then a request closed
//! under a quoted row and a later one opened at its address, and last the pool handed to a new
//! operator, whose own bridge runs, while the old bridge has a payment under way.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use allot::state::{ExchangeRequest, Pool, RequestStatus};
use allot_bridge::state::RequestState;
use allot_bridge::store::Store;
use allot_client::{accounts, instructions};
use anchor_lang::solana_program::system_instruction::transfer;
use common::bridge_harness::send;
use common::wallet;
use solana_signer::Signer;

use allot_bridge::http_provider::legacy_idempotency_key;
use allot_bridge::recent::{BLOCKHASH_MAX_AGE, FEE_MAX_AGE};
use allot_bridge::service::HINTED_SCAN_EVERY;
use allot_bridge::settle::payout_reference;
use allot_bridge::test_support::provider::TestProvider;
use allot_bridge::test_support::rpc_counter::RpcCounter;
use common::bridge_harness::{Bridge, Market, http_payout};
use common::review_scenario::{reconcile, review};

mod common;

/// Users of the crash and review scenarios; the ones after them open the waiting requests.
const SCENARIO_USERS: usize = 5;
/// Users opening two requests each for the waiting-locks phase.
const WAITING_USERS: usize = 20;
/// The user whose request is paid before the operator transfer; the next one requests after it
/// (paid by the new operator's bridge), and the one after that before the old bridge restarts.
const HANDOVER_USER: usize = SCENARIO_USERS + WAITING_USERS;
/// The user who closes a request and opens another at its address.
const REUSING_USER: usize = HANDOVER_USER + 3;
/// The users whose requests a bridge with a fresh database finds locked by its own key: one
/// paid under the request's key, one under the address-only key of bridges before migration 0007.
const ADOPTED_USERS: [usize; 2] = [REUSING_USER + 1, REUSING_USER + 2];
/// The users of the phase paying on confirmed locks: one requests under the pool's day-long
/// cancel timeout, the other under ten minutes.
const CONFIRMED_USERS: [usize; 2] = [ADOPTED_USERS[1] + 1, ADOPTED_USERS[1] + 2];

#[tokio::test(flavor = "multi_thread")]
async fn http_payouts_survive_crashes_and_people_resolve_what_the_bridge_cannot() {
    let market = Market::open(48_899, 49_900, CONFIRMED_USERS[1] + 1, false).await;
    common::http_crash_scenario::killed_at_every_transition(&market, None).await;
    common::review_scenario::review_commands(&market).await;
    waiting_locks_are_read_together(&market).await;
    a_later_request_at_a_closed_requests_address_is_paid_under_its_own_row(&market).await;
    a_fresh_database_asks_the_provider_before_paying_a_lock_it_did_not_make(&market).await;
    a_confirmed_lock_pays_before_finality_only_when_no_cancel_can_follow(&market).await;
    // Last: it moves the pool's settlement authority away from the harness's bridge key.
    a_bridge_that_lost_its_authority_finishes_only_its_own_locks(&market).await;
}

/// The bridge is killed right after the provider paid a request it locked, and before it
/// settled; meanwhile the operator hands the pool to a new operator (who becomes the settlement
/// authority) and another user requests. The new operator's bridge (its own key, database and
/// provider) sends the paid request to manual review — locked by another key, which may be
/// paying it — and never pays it, while it locks, pays and settles the other request. Then a
/// third user requests and the old bridge restarts: it still starts (it has a payout under way),
/// settles what it locked and paid, exactly once, and sends the third request to manual review
/// without locking or paying it.
async fn a_bridge_that_lost_its_authority_finishes_only_its_own_locks(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    // The waiting-locks phase's database: every request of the pool before this one is final.
    let database = format!(
        "sqlite://{}",
        market.dir.path().join("waiting-locks.db").display()
    );
    let payout = http_payout(&provider.url);
    let (config, _) = market.bridge_config("handover", &database, &payout, 500, &market.ws_url);
    let (paid, paid_quote) = market.request(HANDOVER_USER, 5).await;
    Bridge::spawn(&config, Some("paid"))
        .wait_crash("paid")
        .await;
    let old_key = market.operator.0.pubkey();
    let (new_operator, new_wallet) = wallet(&market.dir, "new-operator");
    send(
        &market.chain,
        &[
            instructions::pool_propose_operator(&old_key, &market.pool, &new_operator.pubkey()),
            // Its bridge pays the fees of its locks and settlements.
            transfer(&old_key, &new_operator.pubkey(), 1_000_000_000),
        ],
        &[&market.operator.0],
    )
    .await;
    send(
        &market.chain,
        &[instructions::pool_accept_operator(
            &new_operator.pubkey(),
            &market.pool,
        )],
        &[&market.operator.0, &new_operator],
    )
    .await;
    let pool: Pool = accounts::fetch(&market.chain, market.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pool.exchange.settlement_authority, new_operator.pubkey());
    let (later, later_quote) = market.request(HANDOVER_USER + 1, 5).await;

    // The new settlement authority's bridge, before the old one is back. It reads the pool's
    // whole history: every request of the earlier phases is final by now (settled, rejected,
    // cancelled or closed), so `paid` and `later` are the only ones it could pay.
    let new_provider = TestProvider::start().await.unwrap();
    let new_database = format!(
        "sqlite://{}",
        market.dir.path().join("new-operator.db").display()
    );
    let new_payout = http_payout(&new_provider.url);
    let (new_config, _) =
        market.bridge_config_signed_by("new-operator", &new_database, &new_payout, &new_wallet);
    let mut new_bridge = vec![Bridge::spawn(&new_config, None)];
    market.wait_settled(&[later], &mut new_bridge).await;
    let new_store = Store::open(&new_database).await.unwrap();
    let not_its_lock = in_review(&new_store, &paid, &new_bridge[0]).await;
    assert!(new_bridge.pop().unwrap().stop().await.success());
    new_store.close().await;
    let reason = not_its_lock.review_reason.unwrap_or_default();
    assert!(
        reason.contains("locked by another settlement key")
            && reason.contains(&old_key.to_string()),
        "{reason}"
    );
    let settled_later: ExchangeRequest = accounts::fetch(&market.chain, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            settled_later.status,
            settled_later.locked_by,
            settled_later.paid_amount
        ),
        (RequestStatus::Settled, new_operator.pubkey(), later_quote)
    );
    let new_keys: Vec<String> = new_provider.payments().into_iter().map(|p| p.key).collect();
    assert_eq!(
        new_keys,
        vec![market.payout_key(&later).await],
        "the new key pays its own request once, never the old key's"
    );
    let paid_key = market.payout_key(&paid).await;
    assert!(
        new_provider.calls().iter().all(|call| call.key != paid_key),
        "the new bridge never asked its provider to pay the old key's request"
    );

    let (latest, _) = market.request(HANDOVER_USER + 2, 5).await;
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&[paid], &mut bridge).await;
    let store = Store::open(&database).await.unwrap();
    let reviewed = in_review(&store, &latest, &bridge[0]).await;
    assert!(bridge.pop().unwrap().stop().await.success());
    store.close().await;

    let reason = reviewed.review_reason.unwrap_or_default();
    assert!(
        reason.contains("no longer the pool's settlement authority"),
        "{reason}"
    );
    let settled: ExchangeRequest = accounts::fetch(&market.chain, paid).await.unwrap().unwrap();
    assert_eq!(
        (settled.status, settled.locked_by, settled.paid_amount),
        (RequestStatus::Settled, old_key, paid_quote)
    );
    let untouched: ExchangeRequest = accounts::fetch(&market.chain, latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (untouched.status, untouched.locked_at),
        (RequestStatus::Pending, 0)
    );
    let keys: Vec<String> = provider.payments().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        vec![market.payout_key(&paid).await],
        "paid once, the later ones never"
    );
}

/// Two requests locked by the bridge's key (as a bridge whose database was then lost or
/// replaced would have left them), each already paid at the provider: one under its own key,
/// one under the address-only key bridges used before migration 0007. A bridge with a fresh
/// database asks the provider's ledger before any call of its own: it settles the first with
/// the payment it finds, sends the second to manual review naming that payment, and calls the
/// provider for neither; a person marks the second paid and it settles once.
async fn a_fresh_database_asks_the_provider_before_paying_a_lock_it_did_not_make(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    let database = format!(
        "sqlite://{}",
        market.dir.path().join("adopting.db").display()
    );
    let payout = http_payout(&provider.url);
    let (config, _) = market.bridge_config("adopting", &database, &payout, 500, &market.ws_url);
    let operator = &market.operator.0;
    let mut requests = Vec::new();
    for user in ADOPTED_USERS {
        let (address, quote) = market.request(user, 4).await;
        let request: ExchangeRequest = accounts::fetch(&market.chain, address)
            .await
            .unwrap()
            .unwrap();
        let lock = instructions::exchange_lock(
            &operator.pubkey(),
            &market.pool,
            request.id,
            request.created_at,
        );
        send(&market.chain, &[lock], &[operator]).await;
        requests.push((address, quote));
    }
    let [(own, own_quote), (legacy, legacy_quote)] = requests[..] else {
        unreachable!()
    };
    let own_payment = provider.plant_payment(&market.payout_key(&own).await, own_quote);
    let legacy_key = legacy_idempotency_key(&legacy.to_string());
    let legacy_payment = provider.plant_payment(&legacy_key, legacy_quote);

    let store = Store::open(&database).await.unwrap();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&[own], &mut bridge).await;
    let reviewed = in_review(&store, &legacy, &bridge[0]).await;
    let reason = reviewed.review_reason.clone().unwrap_or_default();
    assert!(
        reason.contains(&legacy_payment) && reason.contains(&legacy_key),
        "{reason}"
    );
    let settled: ExchangeRequest = accounts::fetch(&market.chain, own).await.unwrap().unwrap();
    assert_eq!(
        (
            settled.status,
            settled.paid_amount,
            settled.payout_reference
        ),
        (
            RequestStatus::Settled,
            own_quote,
            payout_reference(&own_payment)
        )
    );
    let held: ExchangeRequest = accounts::fetch(&market.chain, legacy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.status, RequestStatus::Locked);

    // A person finds the payment was this request's, made before the upgrade.
    let legacy_text = legacy.to_string();
    let said = review(
        &config,
        &[
            "mark-paid",
            "--request",
            &legacy_text,
            "--payment-id",
            &legacy_payment,
            "--by",
            "erin",
            "--reason",
            "paid by the bridge before the upgrade",
        ],
    );
    assert!(said.contains("mark_paid by erin -> paid"), "{said}");
    market.wait_settled(&[legacy], &mut bridge).await;
    assert!(bridge.pop().unwrap().stop().await.success());
    store.close().await;
    let settled: ExchangeRequest = accounts::fetch(&market.chain, legacy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            settled.status,
            settled.paid_amount,
            settled.payout_reference
        ),
        (
            RequestStatus::Settled,
            legacy_quote,
            payout_reference(&legacy_payment)
        )
    );
    // Looked up, never called: one payment each, the planted ones.
    let ours = [own.to_string(), legacy_text];
    assert!(
        provider
            .calls()
            .iter()
            .all(|call| !ours.contains(&call.order.request)),
        "{:?}",
        provider.calls()
    );
    assert_eq!(provider.payments().len(), 2);
    let lookups = provider.lookups();
    assert!(
        lookups.contains(&market.payout_key(&own).await) && lookups.contains(&legacy_key),
        "{lookups:?}"
    );
}

/// The row of `request` once `bridge` has sent it to manual review (within two minutes).
async fn in_review(
    store: &Store,
    request: &solana_sdk::pubkey::Pubkey,
    bridge: &Bridge,
) -> allot_bridge::store::StoredRequest {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let row = store.request(&request.to_string()).await.unwrap();
        let state = row.as_ref().and_then(|row| row.state().ok());
        if let (Some(row), Some(RequestState::ManualReview)) = (row, state) {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "{request} did not reach manual review (it is {state:?})\n{}",
            bridge.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Request ids are the clients' choice, so a closed request's address can hold a later request.
/// The bridge quotes a request (and is killed before locking it); its user cancels it, closes it
/// and opens another at the same id. Restarted, the bridge must not lock, pay or settle the later
/// request on the strength of the earlier one's row (which would pay the earlier quote for it).
/// It paid and sent nothing for that row, so the row ends as withdrawn by itself (kept in
/// `earlier_requests`, no person needed, no provider call under its key), and the bridge takes
/// the later request up under a row and payout key of its own, pays its own quote once and
/// settles it. (A row with a provider call, a payment or a settle transaction still goes to a
/// person: `worker::closed_before_paying`.)
async fn a_later_request_at_a_closed_requests_address_is_paid_under_its_own_row(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    let database = format!(
        "sqlite://{}",
        market.dir.path().join("reused-address.db").display()
    );
    let payout = http_payout(&provider.url);
    let (config, _) = market.bridge_config("reuse", &database, &payout, 500, &market.ws_url);
    // A second's cancel timeout, for this phase only (requests freeze it when they are made).
    let operator = &market.operator.0;
    let original = exchange_terms(market).await;
    let quick = allot::state::ExchangeConfig {
        cancel_timeout_seconds: 1,
        ..original
    };
    send(&market.chain, &[set_exchange(market, quick)], &[operator]).await;

    let user = &market.users[REUSING_USER].0;
    let id = allot_client::request_id::random();
    let address = allot_client::pdas::exchange_request(&market.pool, id);
    let open = |amount| {
        instructions::exchange_request(&user.pubkey(), &user.pubkey(), &market.pool, id, amount)
    };
    send(&market.chain, &[open(5)], &[user]).await;
    // Killed as it quotes (an earlier phase's request left open may be quoted first: again).
    let store = Store::open(&database).await.unwrap();
    let mut quoted = None;
    for _ in 0..5 {
        Bridge::spawn(&config, Some("quoted"))
            .wait_crash("quoted")
            .await;
        let row = store.request(&address.to_string()).await.unwrap();
        if let Some(row) = row.filter(|r| r.state().ok() == Some(RequestState::Quoted)) {
            quoted = Some(row);
            break;
        }
    }
    let quoted = quoted.expect("the bridge quoted the request");

    // Past the cancel time: cancelled, closed, and a later request at the same id.
    tokio::time::sleep(Duration::from_secs(3)).await;
    send(
        &market.chain,
        &[
            instructions::exchange_cancel(&user.pubkey(), &market.pool, id),
            instructions::exchange_close(&market.pool, id, &user.pubkey()),
        ],
        &[user],
    )
    .await;
    // The later request is made under the pool's usual terms (a day's cancel time).
    send(
        &market.chain,
        &[set_exchange(market, original)],
        &[operator],
    )
    .await;
    send(&market.chain, &[open(6)], &[user]).await;
    let later: ExchangeRequest = accounts::fetch(&market.chain, address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((later.id, later.amount), (id, 6));
    assert!(later.created_at > quoted.created_at);

    store.close().await;

    // Restarted, the bridge finds a later request where its quoted row's was. It paid and sent
    // nothing for that row, so the row ends as withdrawn by itself (before, it went to manual
    // review and waited for a person's `review close`), and the next scan of open requests
    // takes the later request up: its own row and key, its own quote, paid once and settled.
    let address_text = address.to_string();
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&[address], &mut bridge).await;
    // The bridge records the settlement once it sees it confirmed.
    let store = Store::open(&database).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let row = store.request(&address_text).await.unwrap().unwrap();
        if row.state().unwrap() == RequestState::Settled {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the row stays {}",
            row.state_name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(bridge.pop().unwrap().stop().await.success());
    let settled: ExchangeRequest = accounts::fetch(&market.chain, address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (settled.created_at, settled.paid_amount),
        (later.created_at, later.quoted)
    );
    let later_key = allot_bridge::http_provider::idempotency_key(&address_text, later.created_at);
    let paid: Vec<_> = provider
        .payments()
        .into_iter()
        .filter(|payment| payment.order.request == address_text)
        .collect();
    assert_eq!(paid.len(), 1, "one payment at {address_text}: {paid:?}");
    assert_eq!(
        (&paid[0].key, paid[0].order.amount, &paid[0].order.user),
        (&later_key, later.quoted, &user.pubkey().to_string())
    );
    let keys: Vec<_> = provider
        .calls()
        .into_iter()
        .filter(|call| call.order.request == address_text)
        .map(|call| call.key)
        .collect();
    assert!(
        !keys.is_empty() && keys.iter().all(|key| *key == later_key),
        "the provider was asked to pay only under the later request's key: {keys:?}"
    );
    // Before the earlier row ended by itself, the provider's ledger was asked under its key and
    // the address-only key of older bridges (a restored database may not know a call made).
    let earlier_key =
        allot_bridge::http_provider::idempotency_key(&address_text, quoted.created_at);
    let looked_up = provider.lookups();
    assert!(
        looked_up.contains(&earlier_key)
            && looked_up.contains(&legacy_idempotency_key(&address_text)),
        "the earlier row's keys looked up before it ended: {looked_up:?}"
    );
    assert_eq!(
        settled.payout_reference,
        payout_reference(&paid[0].payment_id)
    );
    assert_eq!(
        (row.created_at, row.payout_key(), row.payment_id.as_ref()),
        (later.created_at, later_key, Some(&paid[0].payment_id))
    );
    let kept = store.earlier_requests().await.unwrap();
    let kept: Vec<_> = kept
        .iter()
        .filter(|r| r.address == address_text)
        .map(|r| (r.state().unwrap(), r.created_at, r.payment_id.clone()))
        .collect();
    assert_eq!(
        kept,
        [(RequestState::Withdrawn, quoted.created_at, None)],
        "the earlier request's row, kept as it was closed"
    );
    store.close().await;
    let shown: serde_json::Value =
        serde_json::from_str(&review(&config, &["show", "--request", &address_text])).unwrap();
    assert_eq!(
        (
            &shown["state"],
            &shown["created_at"],
            &shown["earlier_requests"][0]["state"],
            &shown["earlier_requests"][0]["created_at"]
        ),
        (
            &serde_json::json!("settled"),
            &serde_json::json!(later.created_at),
            &serde_json::json!("withdrawn"),
            &serde_json::json!(quoted.created_at)
        ),
        "{shown}"
    );
    // No person was needed: nothing went to review, and nobody acted.
    assert_eq!(shown["review_actions"], serde_json::json!([]), "{shown}");
    let history = shown["history"].as_array().unwrap();
    assert!(
        history.contains(&serde_json::json!("withdrawn"))
            && history.iter().all(|state| state != "manual_review"),
        "{shown}"
    );
    // Anyone may close the settled request: reconcile then judges it by its row (before, every
    // settled request closed inside the report's window was reported paid_not_settled).
    let close = instructions::exchange_close(&market.pool, id, &user.pubkey());
    send(&market.chain, &[close], &[user]).await;
    let gone = accounts::fetch::<ExchangeRequest>(&market.chain, address).await;
    assert!(gone.unwrap().is_none());
    let report = reconcile(&config);
    let here: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["address"] == address_text.as_str())
        .collect();
    assert!(here.is_empty(), "{report}");
}

/// `lock_commitment = "confirmed"`: a request its user could not cancel for a day even were a
/// fork to undo its lock is paid once its lock is confirmed (the request itself final), before
/// the finalized view shows the lock; one made under a ten-minute cancel timeout is paid only
/// once the finalized view shows its lock, as every request is by default. Each is paid once, its own quote under its
/// own key, and settled.
async fn a_confirmed_lock_pays_before_finality_only_when_no_cancel_can_follow(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    let database = format!(
        "sqlite://{}",
        market.dir.path().join("confirmed-locks.db").display()
    );
    let payout = format!(
        "{}lock_commitment = \"confirmed\"\n",
        http_payout(&provider.url)
    );
    let (config, _) = market.bridge_config("confirmed", &database, &payout, 500, &market.ws_url);
    let operator = &market.operator.0;
    let original = exchange_terms(market).await;
    let far = market
        .open_requests_each(CONFIRMED_USERS[0]..CONFIRMED_USERS[0] + 1, 1)
        .await[0];
    let ten_minutes = allot::state::ExchangeConfig {
        cancel_timeout_seconds: 600,
        ..original
    };
    send(
        &market.chain,
        &[set_exchange(market, ten_minutes)],
        &[operator],
    )
    .await;
    let near = market
        .open_requests_each(CONFIRMED_USERS[1]..CONFIRMED_USERS[1] + 1, 1)
        .await[0];
    send(
        &market.chain,
        &[set_exchange(market, original)],
        &[operator],
    )
    .await;

    // When the finalized view first shows each request no longer pending (locked, or already
    // settled), read every 100 ms while the bridge runs.
    let watched = [far, near];
    let finalized_chain = allot_client::rpc_chain::RpcChain::new(
        market.url.clone(),
        solana_commitment_config::CommitmentConfig::finalized(),
    );
    // Both requests made final before the bridge starts (as a backlog is): a lock counts, for
    // `far`, once confirmed and its request final, so its payment then waits for no finality.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !matches!(
        accounts::fetch::<ExchangeRequest>(&finalized_chain, near).await,
        Ok(Some(_))
    ) {
        assert!(Instant::now() < deadline, "{near} never final");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let watch = tokio::spawn(async move {
        let mut seen: [Option<Instant>; 2] = [None, None];
        let deadline = Instant::now() + Duration::from_secs(240);
        while seen.iter().any(Option::is_none) && Instant::now() < deadline {
            for (index, address) in watched.iter().enumerate() {
                if seen[index].is_some() {
                    continue;
                }
                // A failed read is read again at the next round.
                let request = accounts::fetch::<ExchangeRequest>(&finalized_chain, *address).await;
                if matches!(request, Ok(Some(r)) if r.status != RequestStatus::Pending) {
                    seen[index] = Some(Instant::now());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    });
    let mut bridge = vec![Bridge::spawn(&config, None)];
    market.wait_settled(&watched, &mut bridge).await;
    assert!(bridge.pop().unwrap().stop().await.success());
    let [far_final, near_final] = watch
        .await
        .unwrap()
        .map(|seen| seen.expect("the finalized view showed the lock"));

    let payments = provider.payments();
    let paid_at = |address: &solana_sdk::pubkey::Pubkey| {
        let paid: Vec<_> = payments
            .iter()
            .filter(|payment| payment.order.request == address.to_string())
            .collect();
        assert_eq!(paid.len(), 1, "{address} paid once: {paid:?}");
        paid[0].clone()
    };
    for address in [far, near] {
        let payment = paid_at(&address);
        let settled: ExchangeRequest = accounts::fetch(&market.chain, address)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                settled.status,
                payment.key.clone(),
                payment.order.amount,
                settled.payout_reference
            ),
            (
                RequestStatus::Settled,
                market.payout_key(&address).await,
                settled.quoted,
                payout_reference(&payment.payment_id)
            )
        );
    }
    // Margins well inside a finality (10 s and more on this localnet), so a watcher's round or
    // a bridge's look falling between two reads decides nothing.
    let far_paid = paid_at(&far).at;
    assert!(
        far_paid + Duration::from_secs(3) < far_final,
        "paid on its confirmed lock, well before the finalized view showed it (by {:?})",
        far_final.saturating_duration_since(far_paid)
    );
    let near_paid = paid_at(&near).at;
    assert!(
        near_paid + Duration::from_secs(1) > near_final,
        "a request its user could cancel within the hour is paid only on a finalized lock ({:?} early)",
        near_final.saturating_duration_since(near_paid)
    );
}

/// The market pool's exchange terms now.
async fn exchange_terms(market: &Market) -> allot::state::ExchangeConfig {
    let pool: Pool = accounts::fetch(&market.chain, market.pool)
        .await
        .unwrap()
        .unwrap();
    pool.exchange
}

/// The operator's instruction that sets the market pool's exchange terms to `config` (requests
/// freeze the terms when they are made).
fn set_exchange(
    market: &Market,
    config: allot::state::ExchangeConfig,
) -> solana_sdk::instruction::Instruction {
    instructions::pool_set_exchange(&market.operator.0.pubkey(), &market.pool, config)
}

/// Forty requests wait for their quotes and locks at once. The bridge quotes them from one read,
/// locks them several to a transaction (read back from each request's history on chain), reads
/// the finalized view of them in shared `getMultipleAccounts` calls (before, each request was
/// read on its own, twice a second while it waited), and pays them several at a time, each
/// exactly once.
async fn waiting_locks_are_read_together(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    // Each payout call takes 300 ms, so calls a lane makes at once overlap at the provider.
    provider.answer_after(Duration::from_millis(300));
    let counter = RpcCounter::start(&market.url).await.unwrap();
    let database = format!(
        "sqlite://{}",
        market.dir.path().join("waiting-locks.db").display()
    );
    let payout = http_payout(&provider.url);
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
            paid.get(&market.payout_key(request).await),
            Some(&1),
            "{request} paid once"
        );
    }
    // Paid at once: the requests whose locks became final together were paid in batches, the
    // provider answering several calls at a time (at most `payout.concurrent_calls`, 8 by
    // default, for the bridge's one lane), and still called once for each request.
    let peak = provider.peak_in_flight();
    assert!(
        (2..=8).contains(&peak),
        "{peak} provider calls at once, expected 2 to 8"
    );
    let mut called: HashMap<String, usize> = HashMap::new();
    for call in provider.calls() {
        *called.entry(call.key).or_default() += 1;
    }
    assert!(
        called.values().all(|&calls| calls == 1) && called.len() == requests.len(),
        "one payout call for each request: {called:?}"
    );
    // Quoted and locked together: the 40 pending requests were locked several to a
    // transaction, not one transaction each.
    let locks = lock_transactions(market, &requests).await;
    let lock_count = locks
        .values()
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert_eq!(
        locks.len(),
        requests.len(),
        "every request locked: {locks:?}"
    );
    assert!(
        lock_count * 2 <= requests.len(),
        "{} requests locked in {lock_count} transactions: locks share transactions",
        requests.len()
    );
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
        "{} requests locked in {lock_count} transactions: {} JSON-RPC calls ({:.1} per request); \
         finalized view read {accounts_read} times in {} calls; by method: {:?}",
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

/// The successful `exchange_lock` transaction of each of `requests` that has one, read from
/// each request's history on chain.
async fn lock_transactions(
    market: &Market,
    requests: &[solana_sdk::pubkey::Pubkey],
) -> HashMap<solana_sdk::pubkey::Pubkey, solana_sdk::signature::Signature> {
    use anchor_lang::Discriminator as _;
    let mut locked = HashMap::new();
    for request in requests {
        let history = market
            .chain
            .client()
            .get_signatures_for_address(request)
            .await
            .unwrap();
        for entry in history.into_iter().filter(|entry| entry.err.is_none()) {
            let signature = entry.signature.parse().unwrap();
            let found = common::transaction_when_written(
                &market.chain,
                &signature,
                Duration::from_secs(30),
            )
            .await;
            let transaction = found.transaction.transaction.decode().unwrap();
            let keys = transaction.message.static_account_keys();
            let locks = transaction.message.instructions().iter().any(|ix| {
                keys[usize::from(ix.program_id_index)] == allot::ID
                    && ix
                        .data
                        .starts_with(allot::instruction::ExchangeLock::DISCRIMINATOR)
            });
            if locks {
                let earlier = locked.insert(*request, signature);
                assert!(earlier.is_none(), "{request} locked once");
            }
        }
    }
    locked
}
