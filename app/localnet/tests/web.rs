//! The web page in headless Chromium (Debian's `chromium`, driven by `playwright-core`) against
//! the real server (`allot-web`) and the validator: a test wallet registered through Wallet
//! Standard (its ed25519 key held by the test) connects, allocates and requests an exchange, and
//! the chain shows both; a second wallet rejects the signature (code 4001), the page says so and
//! nothing lands. A third user, whose only evidence is a SAS attestation written at genesis (as
//! SAS stores it; allot only reads it), allocates and requests an exchange from the page too.
//! Screenshots of each state go to `target/web-e2e/<scenario>/`.

use std::path::Path;
use std::process::Command;

use allot::state::{AllocationRecord, EvidenceKind, ExchangeRequest, Pool, RequestStatus};
use allot_client::compute_budget::FeePolicy;
use allot_client::rpc_chain::RpcChain;
use allot_client::sas_accounts::{self, PAYMENTS_LAYOUT, PAYMENTS_SCHEMA, VOLUME_FIELD};
use allot_client::{accounts, pdas};
use allot_localnet::{Localnet, LocalnetConfig, self_test};
use allot_web::app::Cluster;
use allot_web::server::{WebConfig, WebServer};
use common::page::{build_page, page_dir};
use common::{allot, compute_budget_of, create_example_pool, http, issue_credentials, wallet};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;

mod common;

/// The priority fee the server under test puts in the transactions it builds.
const UNIT_PRICE_MICRO_LAMPORTS: u64 = 3;

/// Runs the browser scenario; returns its JSON summary.
fn browse(url: &str, seed: &[u8; 32], scenario: &str) -> serde_json::Value {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "the page test needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)"
    );
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/web-e2e")
        .join(scenario);
    node_summary(
        Command::new("node")
            .arg("tests/e2e.mjs")
            .env("ALLOT_WEB_URL", url)
            .env("ALLOT_TEST_WALLET_SEED", hex(seed))
            .env("ALLOT_SCREENSHOT_DIR", &screenshots)
            .env("ALLOT_E2E_SCENARIO", scenario),
        &format!(
            "the {scenario} scenario (screenshots in {})",
            screenshots.display()
        ),
    )
}

/// Runs a page test script (`node …` in the page's directory) that must succeed; returns the JSON
/// summary on its last stdout line. `what` names it in a failure.
fn node_summary(command: &mut Command, what: &str) -> serde_json::Value {
    let output = command.current_dir(page_dir()).output().expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{stderr}"
    );
    let summary = stdout.lines().last().expect("a summary line");
    serde_json::from_str(summary).unwrap_or_else(|e| panic!("summary {summary:?}: {e}"))
}

/// The Actions as a Blink client sees them (`tests/actions.mjs`: `@dialectlabs/blinks-core`
/// fetches and posts each one, and every answer compiles as `@solana/actions-spec` types), for
/// `user`, who holds a credential but no units yet. `decimals` are the pool mint's.
fn blink_client_accepts_the_actions(
    origin: &str,
    user: &anchor_lang::prelude::Pubkey,
    decimals: u8,
) {
    let summary = node_summary(
        Command::new("node")
            .arg("tests/actions.mjs")
            .arg(origin)
            .arg(user.to_string()),
        "tests/actions.mjs",
    );
    assert_eq!(summary["specTypes"]["ok"], true, "{summary}");
    assert_eq!(summary["specTypes"]["checked"], 7, "{summary}");
    for name in ["allocate", "exchange", "cancel"] {
        let action = &summary[name];
        // An absolute icon URL the server really serves, as an SVG image.
        assert_eq!(action["icon"], format!("{origin}/icon.svg"), "{action}");
        assert_eq!(action["iconStatus"], 200, "{action}");
        assert_eq!(action["iconType"], "image/svg+xml", "{action}");
        assert_eq!(action["iconIsSvg"], true, "{action}");
        assert_eq!(action["disabled"], false, "{action}");
        assert_eq!(action["version"], "2.4", "{action}");
        assert_eq!(action["actions"][0]["type"], "transaction", "{action}");
    }
    // Allocation: the user is eligible, so the library gets a transaction to sign.
    let allocate = &summary["allocate"];
    assert_eq!(allocate["posted"], true, "{allocate}");
    assert_eq!(allocate["postType"], "transaction", "{allocate}");
    assert!(
        allocate["transaction"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    // Exchange: a number typed in the token's units, at least one base unit; refused with the
    // program's reason while the user holds nothing.
    let amount = &summary["exchange"]["actions"][0]["parameters"][0];
    assert_eq!(amount["type"], "number", "{amount}");
    assert_eq!(amount["name"], "amount", "{amount}");
    assert_eq!(amount["required"], true, "{amount}");
    assert_eq!(
        amount["min"].as_f64(),
        Some(1.0 / 10f64.powi(i32::from(decimals))),
        "{amount}"
    );
    assert_eq!(summary["exchange"]["posted"], false);
    assert!(
        summary["exchange"]["postMessage"]
            .as_str()
            .is_some_and(|m| m.contains("no units")),
        "{}",
        summary["exchange"]
    );
    // Cancel: the request id is a number; there is no request 0 to cancel.
    let id = &summary["cancel"]["actions"][0]["parameters"][0];
    assert_eq!(
        (id["type"].as_str(), id["min"].as_u64()),
        (Some("number"), Some(0)),
        "{id}"
    );
    assert_eq!(summary["cancel"]["posted"], false);
    // An unknown action is a 404 with a message, not the page.
    assert_eq!(summary["unknown"]["status"], 404, "{summary}");
    assert!(
        summary["unknown"]["json"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-action"))
    );
    // A preflight carries the Actions headers and CORS.
    let preflight = &summary["preflight"];
    assert_eq!(preflight["allowOrigin"], "*", "{preflight}");
    assert_eq!(preflight["actionVersion"], "2.4", "{preflight}");
    assert!(
        preflight["blockchainIds"]
            .as_str()
            .is_some_and(|ids| ids.starts_with("solana:")),
        "{preflight}"
    );
}

/// The Actions endpoints: metadata, headers and CORS, `{message}` errors, and a transaction
/// built for the user (fee payer) that calls allot.
async fn actions_answer_as_the_spec_asks(port: u16, user: &anchor_lang::prelude::Pubkey) {
    use base64::Engine as _;
    let origin = [("Origin", "https://dial.to")];
    let rules = http(port, "GET", "/actions.json", &origin, None).await;
    assert_eq!(rules.status, 200);
    assert!(rules.body.contains("/api/actions/**"), "{}", rules.body);
    let metadata = http(port, "GET", "/api/actions/exchange", &origin, None).await;
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.header("x-action-version"), Some("2.4"));
    assert!(
        metadata
            .header("x-blockchain-ids")
            .is_some_and(|id| id.starts_with("solana:"))
    );
    assert_eq!(metadata.header("access-control-allow-origin"), Some("*"));
    let meta: serde_json::Value = serde_json::from_str(&metadata.body).unwrap();
    assert_eq!(meta["type"], "action");
    assert!(
        meta["links"]["actions"][0]["href"]
            .as_str()
            .unwrap()
            .contains("amount={amount}")
    );

    let bad = http(
        port,
        "POST",
        "/api/actions/allocate",
        &origin,
        Some(r#"{"account":"nope"}"#),
    )
    .await;
    assert_eq!(bad.status, 400);
    let message: serde_json::Value = serde_json::from_str(&bad.body).unwrap();
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("not a base58 public key")
    );
    let body = format!(r#"{{"account":"{user}"}}"#);
    let early = http(
        port,
        "POST",
        "/api/actions/exchange?amount=5",
        &origin,
        Some(&body),
    )
    .await;
    assert_eq!(early.status, 422, "{}", early.body);
    // Nothing held yet (a user without a record may exchange units it received, so the refusal
    // is the holding's).
    assert!(early.body.contains("no units"), "{}", early.body);

    let built = http(port, "POST", "/api/actions/allocate", &origin, Some(&body)).await;
    assert_eq!(built.status, 200, "{}", built.body);
    let answer: serde_json::Value = serde_json::from_str(&built.body).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer["transaction"].as_str().unwrap())
        .unwrap();
    let transaction: solana_sdk::transaction::Transaction = bincode::deserialize(&bytes).unwrap();
    assert_eq!(
        transaction.message.account_keys[0], *user,
        "the user pays the fee"
    );
    // A compute-unit limit measured by simulation and the server's priority fee come first.
    let budget = compute_budget_of(&transaction.clone().into());
    assert_eq!(
        budget.unit_price_micro_lamports,
        Some(UNIT_PRICE_MICRO_LAMPORTS)
    );
    let limit = budget.unit_limit.expect("a compute-unit limit");
    assert!(limit > 0 && limit < 200_000, "limit {limit}");
    let program = transaction.message.instructions[2].program_id(&transaction.message.account_keys);
    assert_eq!(*program, allot::ID);
    assert!(
        transaction
            .signatures
            .iter()
            .all(|s| *s == Default::default()),
        "unsigned"
    );
}

/// A SAS issuer (one signer), its "payments" schema and `user`'s attestation of a payment
/// volume the example pool's rule accepts, as genesis accounts; returns them and the schema.
fn sas_genesis(
    user: &anchor_lang::prelude::Pubkey,
) -> (
    Vec<(anchor_lang::prelude::Pubkey, solana_account::Account)>,
    anchor_lang::prelude::Pubkey,
) {
    let authority = Keypair::new().pubkey();
    let signer = Keypair::new().pubkey();
    let issuer = pdas::sas_issuer(&authority, "payments-verifier");
    let schema = pdas::sas_schema(&issuer, PAYMENTS_SCHEMA, 1);
    let accounts = [
        (
            issuer,
            sas_accounts::issuer_account(&authority, "payments-verifier", &[signer]),
        ),
        (
            schema,
            sas_accounts::schema_account(&issuer, PAYMENTS_SCHEMA, 1, &PAYMENTS_LAYOUT),
        ),
        (
            pdas::attestation(&issuer, &schema, user),
            sas_accounts::attestation_account(
                &issuer,
                &schema,
                user,
                sas_accounts::payments_data(5_000),
                &signer,
                0,
            ),
        ),
    ];
    let genesis = accounts
        .into_iter()
        .map(|(address, account)| {
            (
                address,
                solana_account::Account {
                    lamports: account.lamports,
                    data: account.data,
                    owner: account.owner,
                    executable: account.executable,
                    rent_epoch: account.rent_epoch,
                },
            )
        })
        .collect();
    (genesis, schema)
}

/// What the page showed after the happy path (`summary`) is what the chain holds: it offered
/// the allocation on `evidence`, `user`'s record allocated the rule's amount on it, and its
/// exchange request is pending.
async fn the_chain_holds_what_the_page_showed(
    chain: &RpcChain,
    pool: anchor_lang::prelude::Pubkey,
    user: &anchor_lang::prelude::Pubkey,
    evidence: EvidenceKind,
    summary: &serde_json::Value,
) {
    let basis = match evidence {
        EvidenceKind::Credential => "on your credential",
        EvidenceKind::Attestation => "on your SAS attestation",
        EvidenceKind::UserList => panic!("the page does not allocate on a user list"),
    };
    assert!(
        summary["allocationReason"]
            .as_str()
            .is_some_and(|reason| reason.contains(basis)),
        "{summary}"
    );
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["cluster"], "localnet");
    let state: Pool = accounts::fetch(chain, pool).await.unwrap().unwrap();
    let record: AllocationRecord = accounts::fetch(chain, pdas::allocation_record(&pool, user))
        .await
        .unwrap()
        .expect("the page's allocation landed");
    assert_eq!(record.allocated, state.rule.amount);
    assert_eq!(record.evidence, evidence);
    assert_eq!(summary["holdingsAfterAllocate"], state.rule.amount);
    let pending = &summary["pendingAfterExchange"][0];
    let id = pending["id"].as_u64().unwrap();
    let request: ExchangeRequest = accounts::fetch(chain, pdas::exchange_request(&pool, id))
        .await
        .unwrap()
        .expect("the page's exchange request landed");
    assert_eq!(request.user, *user);
    assert_eq!(request.status, RequestStatus::Pending);
    assert_eq!(pending["amount"].as_u64(), Some(request.amount));
    assert_eq!(
        summary["holdingsAfterExchange"],
        state.rule.amount - request.amount
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_allocate_and_exchange_from_the_page_and_a_rejection_sends_nothing() {
    build_page();
    let dir = tempfile::tempdir().unwrap();
    let (_, operator) = wallet(&dir, "operator");
    let (_, verifier) = wallet(&dir, "verifier");
    let happy_seed: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    let reject_seed: [u8; 32] = std::array::from_fn(|i| 200 - i as u8);
    let attested_seed: [u8; 32] = std::array::from_fn(|i| 100 + i as u8);
    let happy = Keypair::new_from_array(happy_seed);
    let rejecting = Keypair::new_from_array(reject_seed);
    let attested = Keypair::new_from_array(attested_seed);
    let (genesis_accounts, schema) = sas_genesis(&attested.pubkey());
    let localnet = Localnet::start(LocalnetConfig {
        rpc_port: 6_899,
        // Not 6_900: PubSub listens on the RPC port + 1.
        faucet_port: 6_910,
        prefund: vec![
            operator.key,
            verifier.key,
            happy.pubkey(),
            rejecting.pubkey(),
            attested.pubkey(),
        ],
        genesis_accounts,
        ..LocalnetConfig::default()
    })
    .await
    .expect("localnet starts");
    let url = localnet.rpc_url();
    self_test::run(&url, &localnet.mint)
        .await
        .expect("self-test passes");
    let chain = RpcChain::new(url.clone(), CommitmentConfig::confirmed());
    let pool = create_example_pool(&chain, &url, &dir, &operator, &verifier.key, "").await;
    issue_credentials(
        &chain,
        &url,
        &dir,
        &verifier,
        &pool,
        &[happy.pubkey(), rejecting.pubkey()],
    )
    .await;
    // The operator accepts the SAS schema's volume field (the CLI reads the schema account first).
    allot(
        &chain,
        &url,
        &operator,
        &[
            "operator",
            "accept-attestations",
            "--pool",
            &pool.to_string(),
            "--schema",
            &schema.to_string(),
            "--field",
            &VOLUME_FIELD.to_string(),
        ],
    )
    .await;

    let server = WebServer::bind(WebConfig {
        rpc_url: url.clone(),
        cluster: Cluster::Localnet,
        pool,
        listen: "127.0.0.1:0".parse().unwrap(),
        page_dir: page_dir().join("dist"),
        fees: FeePolicy::Fixed(UNIT_PRICE_MICRO_LAMPORTS),
        public_url: None,
    })
    .await
    .expect("the web server starts");
    let page_url = format!("http://{}/", server.addr);
    let server_port = server.addr.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    actions_answer_as_the_spec_asks(server_port, &happy.pubkey()).await;
    let decimals = accounts::fetch::<Pool>(&chain, pool)
        .await
        .unwrap()
        .unwrap()
        .decimals;
    let origin = page_url.trim_end_matches('/').to_owned();
    tokio::task::spawn_blocking({
        let user = happy.pubkey();
        move || blink_client_accepts_the_actions(&origin, &user, decimals)
    })
    .await
    .unwrap();

    let summary = tokio::task::spawn_blocking({
        let page_url = page_url.clone();
        move || browse(&page_url, &happy_seed, "happy")
    })
    .await
    .unwrap();
    the_chain_holds_what_the_page_showed(
        &chain,
        pool,
        &happy.pubkey(),
        EvidenceKind::Credential,
        &summary,
    )
    .await;

    // A user with no credential, only a SAS attestation: the page offers the allocation on it.
    let summary = tokio::task::spawn_blocking({
        let page_url = page_url.clone();
        move || browse(&page_url, &attested_seed, "attested")
    })
    .await
    .unwrap();
    the_chain_holds_what_the_page_showed(
        &chain,
        pool,
        &attested.pubkey(),
        EvidenceKind::Attestation,
        &summary,
    )
    .await;

    let summary = tokio::task::spawn_blocking(move || browse(&page_url, &reject_seed, "reject"))
        .await
        .unwrap();
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(
        accounts::fetch::<AllocationRecord>(
            &chain,
            pdas::allocation_record(&pool, &rejecting.pubkey())
        )
        .await
        .unwrap()
        .is_none(),
        "a rejected signature sent nothing"
    );
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
