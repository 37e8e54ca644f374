//! The product over RPC only, against the real validator: the `allot` CLI creates a pool, issues
//! credentials, the crank allocates and claws back, a user requests an exchange and it is
//! settled; `getTransaction` returns the inner-instruction events the client library decodes, and
//! `logsSubscribe` notifications arrive for the program.

use std::time::Duration;

use allot::state::{ExchangeRequest, Pool, RequestStatus};
use allot_client::compute_budget::limit_with_margin;
use allot_client::events::AllotEvent;
use allot_client::rpc_chain::RpcChain;
use allot_client::transaction_events::events_of_transaction;
use allot_client::{accounts, pdas};
use allot_localnet::{Localnet, LocalnetConfig, self_test};
use anchor_lang::prelude::Pubkey;
use common::{
    allot, compute_budget_of, create_example_pool, issue_credentials, transaction_when_written,
    wallet,
};
use futures::StreamExt;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::{RpcTransactionLogsConfig, RpcTransactionLogsFilter};
use solana_signer::Signer;

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn the_product_runs_over_json_rpc_against_the_validator() {
    let dir = tempfile::tempdir().unwrap();
    let (_, operator) = wallet(&dir, "operator");
    let (_, verifier) = wallet(&dir, "verifier");
    let (_, user) = wallet(&dir, "user");
    let config = LocalnetConfig {
        rpc_port: 18_899,
        faucet_port: 19_900,
        prefund: vec![operator.key, verifier.key, user.key],
        ..LocalnetConfig::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let url = localnet.rpc_url();
    self_test::run(&url, &localnet.mint)
        .await
        .expect("self-test passes");
    let chain = RpcChain::new(url.clone(), CommitmentConfig::confirmed());

    // Live hints: every transaction mentioning the program.
    let pubsub = PubsubClient::new(&localnet.pubsub_url())
        .await
        .expect("pubsub connects");
    let (mut logs, _unsubscribe) = pubsub
        .logs_subscribe(
            RpcTransactionLogsFilter::Mentions(vec![allot::ID.to_string()]),
            RpcTransactionLogsConfig {
                commitment: Some(CommitmentConfig::confirmed()),
            },
        )
        .await
        .expect("logsSubscribe");

    let pool = create_example_pool(&chain, &url, &dir, &operator, &verifier.key, "").await;
    let pool_address = pool.to_string();

    let notification = tokio::time::timeout(Duration::from_secs(30), logs.next())
        .await
        .expect("a logsSubscribe notification within 30 s")
        .expect("the subscription is open");
    assert!(notification.value.err.is_none());
    assert!(
        notification
            .value
            .logs
            .iter()
            .any(|l| l.contains(&allot::ID.to_string())),
        "{:?}",
        notification.value.logs
    );

    let other = Keypair::new().pubkey();
    let issued = issue_credentials(&chain, &url, &dir, &verifier, &pool, &[user.key, other]).await;
    assert_eq!(issued["issued"], 2);
    let cranked = allot(&chain, &url, &operator, &["crank", "--pool", &pool_address]).await;
    assert_eq!(cranked["allocations"], 2);
    let other_text = other.to_string();
    allot(
        &chain,
        &url,
        &verifier,
        &[
            "verifier",
            "revoke",
            "--pool",
            &pool_address,
            "--user",
            &other_text,
        ],
    )
    .await;
    let clawed = allot(&chain, &url, &operator, &["crank", "--pool", &pool_address]).await;
    assert_eq!(clawed["clawbacks"], 1);
    let again = allot(&chain, &url, &operator, &["crank", "--pool", &pool_address]).await;
    assert_eq!(again["transactions"], 0);

    let requested = allot(
        &chain,
        &url,
        &user,
        &[
            "user",
            "exchange",
            "--pool",
            &pool_address,
            "--amount",
            "8",
            "--with-compute-unit-price",
            "7",
        ],
    )
    .await;
    assert_eq!(requested["quoted"], 20);
    let signature = requested["signature"].as_str().unwrap().parse().unwrap();
    let fetched = transaction_when_written(&chain, &signature, Duration::from_secs(120)).await;
    // The CLI's transaction pays the priority fee asked for, under a limit measured by
    // simulation: above what it consumed, far below the runtime's default reservation.
    let landed = fetched
        .transaction
        .transaction
        .decode()
        .expect("a decodable transaction");
    let budget = compute_budget_of(&landed);
    assert_eq!(budget.unit_price_micro_lamports, Some(7));
    let limit = budget.unit_limit.expect("a compute-unit limit");
    let consumed: Option<u64> = fetched
        .transaction
        .meta
        .as_ref()
        .unwrap()
        .compute_units_consumed
        .clone()
        .into();
    let consumed = consumed.expect("the node reports the units consumed");
    // Measured, not the fallback reservation: within the margin of what the transaction used.
    assert!(
        consumed <= u64::from(limit)
            && limit < allot_cli::sender::COMPUTE_UNITS_PER_INSTRUCTION
            && u64::from(limit) <= u64::from(limit_with_margin(consumed)) + 1_000,
        "limit {limit} for {consumed} units consumed"
    );
    let found = events_of_transaction(&fetched).expect("events decode");
    let meta = fetched.transaction.meta.as_ref().unwrap();
    let logs: Option<Vec<String>> = meta.log_messages.clone().into();
    assert!(
        logs.unwrap_or_default()
            .iter()
            .any(|l| l == "Program log: Instruction: ExchangeRequest"),
        "getTransaction carries the program log"
    );
    let requested_event = found
        .events
        .iter()
        .find_map(|e| match e {
            AllotEvent::ExchangeRequested(e) => Some(e.clone()),
            _ => None,
        })
        .expect("an ExchangeRequested event");
    assert_eq!(requested_event.amount, 8);
    assert_eq!(requested_event.user, user.key);
    // The CLI drew the request's id; the settlement authority names the request by it.
    assert_eq!(
        requested_event.request,
        pdas::exchange_request(&pool, requested_event.id)
    );
    let id = requested_event.id.to_string();

    // Pay only what is locked: the operator locks the request, pays it, then settles.
    allot(
        &chain,
        &url,
        &operator,
        &[
            "settlement",
            "lock",
            "--pool",
            &pool_address,
            "--request",
            &id,
        ],
    )
    .await;
    allot(
        &chain,
        &url,
        &operator,
        &[
            "settlement",
            "settle",
            "--pool",
            &pool_address,
            "--request",
            &id,
            "--reference",
            "psp-1",
        ],
    )
    .await;
    let request: ExchangeRequest = accounts::fetch(&chain, requested_event.request)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.status, RequestStatus::Settled);
    let state: Pool = accounts::fetch(&chain, pool).await.unwrap().unwrap();
    assert_eq!(state.totals.allocated, 20);
    assert_eq!(state.totals.clawed_back, 10);
    assert_eq!(state.exchange_state.settled, 8);

    // The bridge's history pass reads the pool's escrow history only: the request and its
    // settlement (and the pool's creation), not the credentials, allocations and clawbacks.
    ingest_follows_the_exchanges(&chain, &dir, pool).await;
}

/// A backfill pass into an empty database reads exactly the transactions that wrote `pool`'s
/// escrow, fewer than the program's, and finds the one request.
async fn ingest_follows_the_exchanges(chain: &RpcChain, dir: &tempfile::TempDir, pool: Pubkey) {
    use allot_bridge::ingest::Ingester;
    use allot_bridge::metrics::Metrics;
    use allot_bridge::store::Store;

    let url = format!("sqlite://{}", dir.path().join("ingest.db").display());
    let store = Store::open(&url).await.unwrap();
    let pools = std::collections::HashSet::from([pool]);
    let metrics = Metrics::new(Duration::from_secs(60));
    let ingester = Ingester {
        chain,
        store: &store,
        pools: &pools,
        // The bridge's default: at `confirmed` the node's listing can miss a transaction for a
        // moment (see below), and a pass's cursor then moves past it for good.
        commitment: CommitmentConfig::finalized(),
        worker: "e2e",
        metrics: &metrics,
    };
    let signatures_of = |address: Pubkey| async move {
        chain
            .client()
            .get_signatures_for_address_with_config(
                &address,
                solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config {
                    commitment: Some(CommitmentConfig::finalized()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .len()
    };
    // At `confirmed` the node's listing is rooted slots plus the confirmed bank's ancestors,
    // from an index written apart from the bank: once (CI, stop 25) it listed none of the
    // escrow's transactions a moment after the settlement, and once (2026-12-04) a pass read two
    // of the three it had just listed (one was missing from that pass's listing, and the cursor
    // moved past it). Finalized listings are rooted slots only: wait until all three (pool
    // creation, the request and the settlement; the lock does not write the escrow) are
    // finalized, then read at `finalized`, as the bridge does by default.
    let mut escrow_transactions = 0;
    for _ in 0..300 {
        escrow_transactions = signatures_of(pdas::escrow(&pool)).await;
        if escrow_transactions == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        escrow_transactions, 3,
        "the node still lists {escrow_transactions} of the escrow's 3 transactions"
    );
    // Passes until none is deferred and all listed are read (the node may list the newest
    // transaction a moment before it serves it), adding up what they read. The cursor keeps a
    // pass from reading again what an earlier one stored.
    let mut report = allot_bridge::ingest::BackfillReport::default();
    for _ in 0..20 {
        let pass = ingester.backfill().await.expect("a backfill pass");
        report.transactions += pass.transactions;
        report.discovered += pass.discovered;
        report.deferred = pass.deferred;
        if pass.deferred == 0 && report.transactions >= escrow_transactions {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        report.deferred, 0,
        "still deferred after 20 passes: {report:?}"
    );
    let program_transactions = signatures_of(allot::ID).await;
    assert_eq!(report.discovered, 1, "{report:?}");
    // Pool creation, the request and the settlement wrote the escrow (the lock did not).
    assert_eq!(report.transactions, escrow_transactions, "{report:?}");
    assert!(
        program_transactions > 3 * escrow_transactions,
        "{program_transactions} program transactions"
    );
}
