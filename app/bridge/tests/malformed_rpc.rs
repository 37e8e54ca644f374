//! The ingester against a JSON-RPC node that answers badly: wrong types, bytes that are not
//! base64, signatures that are not base58, HTML instead of JSON, JSON-RPC errors, accounts that
//! are not requests. Each pass fails with a message naming the call, and the database is left as
//! it was (no request stored, the history cursor unmoved), so the next pass reads the same
//! transactions again. A transaction listed but not served yet (null) is no failure: the pass
//! stops before it and the next one reads it. And the history's cursor: what a pass fetches
//! again (never the bridge's own settle transactions), and what a failing pass keeps.
//!
//! The node is a small HTTP server answering each method with a body the test chooses.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allot_bridge::ingest::Ingester;
use allot_bridge::metrics::Metrics;
use allot_bridge::store::Store;
use allot_client::rpc_chain::RpcChain;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::Signature;

/// The body each JSON-RPC method answers (or each `method:first parameter`, which comes first);
/// `{id}` is replaced by the request's id.
type Answers = Arc<Mutex<HashMap<String, String>>>;

/// Every call the node was asked, as `method:first parameter` (empty when there is none).
type Calls = Arc<Mutex<Vec<String>>>;

/// A node whose answers are healthy except where a test overrides them.
struct Node {
    url: String,
    answers: Answers,
    calls: Calls,
}

fn result(value: Value) -> String {
    json!({"jsonrpc": "2.0", "id": "{id}", "result": value})
        .to_string()
        .replace("\"{id}\"", "{id}")
}

/// A finalized allot transaction in the history.
fn signature() -> String {
    numbered(7)
}

/// The signature of the history's transaction number `n`.
fn numbered(n: u8) -> String {
    Signature::from([n; 64]).to_string()
}

/// The node's `getTransaction` call for the history's transaction number `n`.
fn fetch_of(n: u8) -> String {
    format!("getTransaction:{}", numbered(n))
}

/// A `getSignaturesForAddress` answer listing `(signature, slot)`, newest first as given.
fn listing(entries: &[(String, u64)]) -> String {
    let entries: Vec<Value> = entries
        .iter()
        .map(|(signature, slot)| {
            json!({
                "signature": signature, "slot": slot, "err": null, "memo": null,
                "blockTime": null, "confirmationStatus": "finalized"
            })
        })
        .collect();
    result(json!(entries))
}

/// A `getTransaction` answer for a successful transaction without allot events.
fn an_empty_transaction() -> String {
    use base64::Engine as _;
    use solana_sdk::signer::Signer as _;

    let payer = solana_sdk::signature::Keypair::new();
    let transaction =
        solana_sdk::transaction::Transaction::new_with_payer(&[], Some(&payer.pubkey()));
    served_transaction(
        &base64::engine::general_purpose::STANDARD
            .encode(bincode::serialize(&transaction).unwrap()),
    )
}

impl Node {
    async fn start() -> Self {
        let mut answers = HashMap::new();
        answers.insert("getSlot".to_owned(), result(json!(100)));
        answers.insert(
            "getSignaturesForAddress".to_owned(),
            result(json!([{
                "signature": signature(),
                "slot": 90,
                "err": null,
                "memo": null,
                "blockTime": null,
                "confirmationStatus": "finalized"
            }])),
        );
        answers.insert("getProgramAccounts".to_owned(), result(json!([])));
        let answers: Answers = Arc::new(Mutex::new(answers));
        let calls: Calls = Arc::default();
        let app = Router::new()
            .route("/", post(answer))
            .with_state((answers.clone(), calls.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            answers,
            calls,
        }
    }

    /// `method` (or `method:first parameter`) answers `body` from now on.
    fn answer(&self, method: &str, body: String) {
        self.answers.lock().unwrap().insert(method.to_owned(), body);
    }

    /// How many calls the node was asked of `what`: a method, or `method:first parameter`.
    fn calls_of(&self, what: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|call| call.as_str() == what || call.starts_with(&format!("{what}:")))
            .count()
    }
}

async fn answer(State((answers, calls)): State<(Answers, Calls)>, body: String) -> String {
    let request: Value = serde_json::from_str(&body).unwrap();
    let method = request["method"].as_str().unwrap_or_default();
    let id = request["id"].to_string();
    let first = request["params"][0].as_str().unwrap_or_default();
    let call = format!("{method}:{first}");
    calls.lock().unwrap().push(call.clone());
    let answers = answers.lock().unwrap();
    match answers.get(&call).or_else(|| answers.get(method)) {
        Some(body) => body.replace("{id}", &id),
        None => json!({"jsonrpc": "2.0", "id": request["id"], "error": {
            "code": -32601, "message": format!("method {method} not served by this node")
        }})
        .to_string(),
    }
}

/// A fresh SQLite store, the node's chain, and one backfill or reconcile pass.
struct Pass {
    _dir: tempfile::TempDir,
    store: Store,
    chain: RpcChain,
    pools: HashSet<anchor_lang::prelude::Pubkey>,
    metrics: Arc<Metrics>,
}

impl Pass {
    async fn against(node: &Node) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bridge.db").display());
        Self {
            store: Store::open(&url).await.unwrap(),
            _dir: dir,
            chain: RpcChain::new(node.url.clone(), CommitmentConfig::finalized()),
            pools: HashSet::from([anchor_lang::prelude::Pubkey::new_unique()]),
            metrics: Metrics::new(Duration::from_secs(60)),
        }
    }

    fn ingester(&self) -> Ingester<'_> {
        Ingester {
            chain: &self.chain,
            store: &self.store,
            pools: &self.pools,
            commitment: CommitmentConfig::finalized(),
            worker: "test",
            metrics: &self.metrics,
        }
    }

    /// A backfill pass that must fail with a message containing `expected`, and change nothing.
    async fn backfill_fails(&self, expected: &str) {
        let error = self
            .ingester()
            .backfill()
            .await
            .expect_err("a malformed answer fails the pass");
        let message = format!("{error:#}");
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
        self.unchanged().await;
    }

    /// The escrow of the pass's one pool: the address whose history it reads.
    fn escrow(&self) -> String {
        let pool = self.pools.iter().next().expect("one pool");
        allot_client::pdas::escrow(pool).to_string()
    }

    /// The history's cursor, as (signature, slot), once a pass has moved it.
    async fn cursor(&self) -> (String, i64) {
        let cursor = self
            .store
            .cursor(&self.escrow())
            .await
            .unwrap()
            .expect("moved");
        (cursor.signature, cursor.slot)
    }

    async fn unchanged(&self) {
        for pool in &self.pools {
            let escrow = allot_client::pdas::escrow(pool).to_string();
            assert_eq!(self.store.cursor(&escrow).await.unwrap(), None);
        }
        assert!(self.store.requests().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_slot_that_is_not_a_number_fails_the_pass() {
    let node = Node::start().await;
    node.answer("getSlot", result(json!("one hundred")));
    Pass::against(&node).await.backfill_fails("getSlot").await;
}

#[tokio::test]
async fn html_instead_of_json_fails_the_pass() {
    let node = Node::start().await;
    node.answer(
        "getSlot",
        "<html><body>502 Bad Gateway</body></html>".into(),
    );
    Pass::against(&node).await.backfill_fails("getSlot").await;
}

#[tokio::test]
async fn a_json_rpc_error_fails_the_pass_with_the_nodes_message() {
    let node = Node::start().await;
    node.answer(
        "getSignaturesForAddress",
        json!({"jsonrpc": "2.0", "id": "{id}", "error": {"code": -32005, "message": "Node is behind by 42 slots"}})
            .to_string()
            .replace("\"{id}\"", "{id}"),
    );
    let pass = Pass::against(&node).await;
    pass.backfill_fails("getSignaturesForAddress").await;
    pass.backfill_fails("Node is behind by 42 slots").await;
}

#[tokio::test]
async fn a_history_page_of_the_wrong_shape_fails_the_pass() {
    let node = Node::start().await;
    node.answer(
        "getSignaturesForAddress",
        result(json!({"signature": signature()})),
    );
    Pass::against(&node)
        .await
        .backfill_fails("getSignaturesForAddress")
        .await;
}

#[tokio::test]
async fn a_signature_that_is_not_base58_fails_the_pass() {
    let node = Node::start().await;
    node.answer(
        "getSignaturesForAddress",
        result(json!([{
            "signature": "not-a-signature",
            "slot": 90, "err": null, "memo": null, "blockTime": null,
            "confirmationStatus": "finalized"
        }])),
    );
    Pass::against(&node)
        .await
        .backfill_fails("the node returned a bad signature")
        .await;
}

#[tokio::test]
async fn transaction_bytes_that_are_not_base64_fail_the_pass() {
    let node = Node::start().await;
    node.answer("getTransaction", served_transaction("%%% not base64 %%%"));
    Pass::against(&node)
        .await
        .backfill_fails(&format!(
            "transaction {}: the transaction's bytes do not decode",
            signature()
        ))
        .await;
}

/// A `getTransaction` answer for the history's transaction: `bytes` with an empty, successful meta.
fn served_transaction(bytes: &str) -> String {
    result(json!({
        "slot": 90,
        "blockTime": null,
        "transaction": [bytes, "base64"],
        "meta": {
            "err": null, "status": {"Ok": null}, "fee": 5000,
            "preBalances": [], "postBalances": [],
            "innerInstructions": [], "logMessages": []
        },
        "version": 0
    }))
}

#[tokio::test]
async fn a_transaction_listed_but_not_served_yet_is_read_by_the_next_pass() {
    let node = Node::start().await;
    node.answer("getTransaction", result(Value::Null));
    let pass = Pass::against(&node).await;
    let report = pass.ingester().backfill().await.expect("a null defers");
    assert_eq!(report.transactions, 0, "{report:?}");
    assert_eq!(report.deferred, 1, "{report:?}");
    // Read through the slot before the one it could not read, not the tip (100).
    assert_eq!(report.read_through_slot, 89, "{report:?}");
    pass.unchanged().await;

    // The node serves it now (a transaction without allot events): the cursor moves onto it.
    node.answer("getTransaction", an_empty_transaction());
    let report = pass.ingester().backfill().await.expect("served now");
    assert_eq!((report.transactions, report.deferred), (1, 0), "{report:?}");
    assert_eq!(report.read_through_slot, 100, "{report:?}");
    assert_eq!(pass.cursor().await, (signature(), 90));
}

/// The cursor's slot is listed again at every pass (the node does not promise one order within
/// a slot), but only the transactions not read there yet are fetched.
#[tokio::test]
async fn a_slot_listed_again_fetches_only_the_transactions_not_read_in_it() {
    let node = Node::start().await;
    node.answer("getTransaction", an_empty_transaction());
    let pass = Pass::against(&node).await;
    let mut listed = vec![(numbered(2), 90), (numbered(1), 90)];
    node.answer("getSignaturesForAddress", listing(&listed));
    let report = pass.ingester().backfill().await.expect("first pass");
    assert_eq!(report.transactions, 2, "{report:?}");
    assert_eq!(node.calls_of("getTransaction"), 2);

    // The same listing: nothing fetched. One more in the same slot: that one alone.
    let report = pass.ingester().backfill().await.expect("second pass");
    assert_eq!(report.transactions, 0, "{report:?}");
    assert_eq!(node.calls_of("getTransaction"), 2);
    listed.insert(0, (numbered(3), 90));
    node.answer("getSignaturesForAddress", listing(&listed));
    let report = pass.ingester().backfill().await.expect("third pass");
    assert_eq!(report.transactions, 1, "{report:?}");
    assert_eq!(node.calls_of(&fetch_of(3)), 1);
    assert_eq!(node.calls_of("getTransaction"), 3);

    // A newer slot: its transaction alone, and the cursor moves onto it.
    listed.insert(0, (numbered(4), 95));
    node.answer("getSignaturesForAddress", listing(&listed));
    let report = pass.ingester().backfill().await.expect("fourth pass");
    assert_eq!(report.transactions, 1, "{report:?}");
    assert_eq!(node.calls_of("getTransaction"), 4);
    assert_eq!(pass.cursor().await, (numbered(4), 95));
}

/// A settle transaction this bridge stored (a request's `settle_signature`) is passed over
/// unread: it opens no request. The cursor still moves past it, and the transactions beside
/// it are fetched.
#[tokio::test]
async fn the_bridges_own_settle_transactions_are_not_fetched() {
    use allot_bridge::state::RequestState::{Discovered, Quoted, SettleSent};
    use allot_bridge::store::{Changes, NewRequest};
    let node = Node::start().await;
    node.answer("getTransaction", an_empty_transaction());
    let pass = Pass::against(&node).await;
    let request = NewRequest {
        address: "Request0001".into(),
        pool: "Pool".into(),
        request_id: 1,
        user_key: "User1".into(),
        amount: 5,
        rate: 25_000,
        quoted: 125,
        currency: "USD".into(),
        created_at: 1_700_000_000,
        signature: None,
        slot: 80,
    };
    let store = &pass.store;
    store.insert_found(&[request], "test").await.unwrap();
    store.claim_next("test", 60_000).await.unwrap().unwrap();
    let settle = Changes {
        settle_signature: Some(numbered(5)),
        ..Changes::default()
    };
    for (from, to, changes) in [
        (Discovered, Quoted, Changes::default()),
        (Quoted, SettleSent, settle),
    ] {
        assert!(
            store
                .transition("Request0001", "test", from, to, changes, 60_000)
                .await
                .unwrap()
        );
    }
    node.answer(
        "getSignaturesForAddress",
        listing(&[(numbered(6), 92), (numbered(5), 91), (numbered(4), 91)]),
    );
    let report = pass.ingester().backfill().await.expect("a pass");
    assert_eq!(report.transactions, 3, "{report:?}");
    assert_eq!(node.calls_of(&fetch_of(5)), 0, "its own settle transaction");
    assert_eq!(node.calls_of(&fetch_of(4)), 1);
    assert_eq!(node.calls_of(&fetch_of(6)), 1);
    assert_eq!(pass.cursor().await, (numbered(6), 92));
    let skipped = pass
        .metrics
        .skipped_transactions
        .with_label_values(&["own_settle"])
        .get();
    assert_eq!(skipped, 1);
}

/// A transaction of the cursor's slot not served yet, after others of that slot were stored:
/// the next pass fetches it and the ones after it, not the ones already read.
#[tokio::test]
async fn a_slot_read_in_part_is_finished_by_the_next_pass() {
    let node = Node::start().await;
    node.answer("getTransaction", an_empty_transaction());
    node.answer(&fetch_of(2), result(Value::Null));
    node.answer(
        "getSignaturesForAddress",
        listing(&[(numbered(3), 90), (numbered(2), 90), (numbered(1), 90)]),
    );
    let pass = Pass::against(&node).await;
    let report = pass.ingester().backfill().await.expect("a null defers");
    assert_eq!((report.transactions, report.deferred), (1, 2), "{report:?}");
    assert_eq!(pass.cursor().await, (numbered(1), 90));
    let fetched_of_1 = node.calls_of(&fetch_of(1));

    node.answer(&fetch_of(2), an_empty_transaction());
    let report = pass.ingester().backfill().await.expect("served now");
    assert_eq!((report.transactions, report.deferred), (2, 0), "{report:?}");
    assert_eq!(
        node.calls_of(&fetch_of(1)),
        fetched_of_1,
        "the transaction already read is not fetched again"
    );
    let read: HashSet<String> = [1, 2, 3].map(numbered).into_iter().collect();
    assert_eq!(
        pass.store.read_in_slot(&pass.escrow(), 90).await.unwrap(),
        read
    );
    assert_eq!(pass.cursor().await.0, numbered(3));
}

/// A pass that fails part way keeps what it read before the failure: the cursor stays on the
/// last transaction stored, and the next pass starts after it.
#[tokio::test]
async fn a_pass_that_fails_part_way_keeps_what_it_read_before() {
    let node = Node::start().await;
    node.answer("getTransaction", an_empty_transaction());
    node.answer(&fetch_of(2), served_transaction("%%% not base64 %%%"));
    node.answer(
        "getSignaturesForAddress",
        listing(&[(numbered(3), 92), (numbered(2), 91), (numbered(1), 90)]),
    );
    let pass = Pass::against(&node).await;
    let error = pass.ingester().backfill().await.expect_err("bad bytes");
    assert!(
        format!("{error:#}").contains(&format!("transaction {}", numbered(2))),
        "{error:#}"
    );
    assert_eq!(pass.cursor().await, (numbered(1), 90));

    // Served well now: the pass reads the two after the cursor.
    node.answer(&fetch_of(2), an_empty_transaction());
    let report = pass.ingester().backfill().await.expect("served now");
    assert_eq!(report.transactions, 2, "{report:?}");
    assert_eq!(pass.cursor().await, (numbered(3), 92));
}

#[tokio::test]
async fn an_account_that_is_not_a_request_fails_the_reconcile_pass() {
    let node = Node::start().await;
    let garbage = "AAECAwQFBgcICQ==";
    node.answer(
        "getProgramAccounts",
        result(json!([{
            "pubkey": anchor_lang::prelude::Pubkey::new_unique().to_string(),
            "account": {
                "lamports": 1_000_000, "owner": allot::ID.to_string(),
                "data": [garbage, "base64"], "executable": false, "rentEpoch": 0, "space": 10
            }
        }])),
    );
    let pass = Pass::against(&node).await;
    let error = pass
        .ingester()
        .reconcile()
        .await
        .expect_err("an undecodable account fails the pass");
    let message = format!("{error:#}");
    assert!(message.contains("getProgramAccounts"), "{message}");
    pass.unchanged().await;
}
