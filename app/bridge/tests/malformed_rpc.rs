//! The ingester against a JSON-RPC node that answers badly: wrong types, bytes that are not
//! base64, signatures that are not base58, HTML instead of JSON, JSON-RPC errors, accounts that
//! are not requests. Each pass fails with a message naming the call, and the database is left as
//! it was (no request stored, the history cursor unmoved), so the next pass reads the same
//! transactions again. A transaction listed but not served yet (null) is no failure: the pass
//! stops before it and the next one reads it.
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

/// The body each JSON-RPC method answers; `{id}` is replaced by the request's id.
type Answers = Arc<Mutex<HashMap<&'static str, String>>>;

/// A node whose answers are healthy except where a test overrides them.
struct Node {
    url: String,
    answers: Answers,
}

fn result(value: Value) -> String {
    json!({"jsonrpc": "2.0", "id": "{id}", "result": value})
        .to_string()
        .replace("\"{id}\"", "{id}")
}

/// A finalized allot transaction in the history.
fn signature() -> String {
    Signature::from([7; 64]).to_string()
}

impl Node {
    async fn start() -> Self {
        let mut answers = HashMap::new();
        answers.insert("getSlot", result(json!(100)));
        answers.insert(
            "getSignaturesForAddress",
            result(json!([{
                "signature": signature(),
                "slot": 90,
                "err": null,
                "memo": null,
                "blockTime": null,
                "confirmationStatus": "finalized"
            }])),
        );
        answers.insert("getProgramAccounts", result(json!([])));
        let answers: Answers = Arc::new(Mutex::new(answers));
        let app = Router::new()
            .route("/", post(answer))
            .with_state(answers.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, answers }
    }

    fn answer(&self, method: &'static str, body: String) {
        self.answers.lock().unwrap().insert(method, body);
    }
}

async fn answer(State(answers): State<Answers>, body: String) -> String {
    let request: Value = serde_json::from_str(&body).unwrap();
    let method = request["method"].as_str().unwrap_or_default();
    let id = request["id"].to_string();
    let answers = answers.lock().unwrap();
    match answers.get(method) {
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
    use base64::Engine as _;
    use solana_sdk::signer::Signer as _;

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
    let payer = solana_sdk::signature::Keypair::new();
    let transaction =
        solana_sdk::transaction::Transaction::new_with_payer(&[], Some(&payer.pubkey()));
    let bytes =
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&transaction).unwrap());
    node.answer("getTransaction", served_transaction(&bytes));
    let report = pass.ingester().backfill().await.expect("served now");
    assert_eq!((report.transactions, report.deferred), (1, 0), "{report:?}");
    assert_eq!(report.read_through_slot, 100, "{report:?}");
    let pool = pass.pools.iter().next().unwrap();
    let escrow = allot_client::pdas::escrow(pool).to_string();
    let cursor = pass.store.cursor(&escrow).await.unwrap().expect("moved");
    assert_eq!((cursor.signature, cursor.slot), (signature(), 90));
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
