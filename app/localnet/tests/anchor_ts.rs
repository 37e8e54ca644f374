//! Anchor's own tools against localnet (issue #16): every transaction's log is shaped as a
//! cluster's (one `invoke [n]`/`success` per call at its depth, matching the transaction's
//! instructions and inner instructions; `Pubkey::log` in the log), and the Anchor TypeScript
//! client `@anchor-lang/core` (`tests/anchor-ts/client.mjs`) reads the accounts, lands
//! `program.methods` calls, parses every transaction with `EventParser`, decodes the same
//! `emit_cpi!` events as allot-client and reads a refusal as an `AnchorError` naming the error
//! and the keys it compared.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use allot::state::{AllocationShard, ExchangeRequest, Pool, RequestStatus, UserList};
use allot_client::rpc_chain::RpcChain;
use allot_client::transaction_events::events_of_transaction;
use allot_client::{accounts, pdas};
use allot_localnet::{Localnet, LocalnetConfig};
use common::{allot, create_example_pool, issue_credentials, transaction_when_written, wallet};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiInstruction,
};

mod common;

/// The repository's root.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread")]
async fn anchor_typescript_client_reads_localnet_as_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let (_, operator) = wallet(&dir, "operator");
    let (_, verifier) = wallet(&dir, "verifier");
    let (_, user) = wallet(&dir, "user");
    let config = LocalnetConfig {
        rpc_port: 16_899,
        faucet_port: 16_950,
        prefund: vec![operator.key, verifier.key, user.key],
        ..LocalnetConfig::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let url = localnet.rpc_url();
    let chain = RpcChain::new(url.clone(), CommitmentConfig::confirmed());

    // A pool with a transaction of every kind of call: top-level only, CPIs into Token-2022 and
    // the associated-token program (depth 2 and 3), and allot's event self-CPIs.
    let pool = create_example_pool(&chain, &url, &dir, &operator, &verifier.key, "").await;
    let pool_address = pool.to_string();
    issue_credentials(&chain, &url, &dir, &verifier, &pool, &[user.key]).await;
    let cranked = allot(&chain, &url, &operator, &["crank", "--pool", &pool_address]).await;
    assert_eq!(cranked["allocations"], 1);
    allot(
        &chain,
        &url,
        &operator,
        &[
            "operator",
            "record-profit",
            "--pool",
            &pool_address,
            "--period",
            "0",
            "--amount",
            "5000",
            "--evidence",
            "q0-report",
        ],
    )
    .await;
    allot(
        &chain,
        &url,
        &user,
        &["user", "exchange", "--pool", &pool_address, "--amount", "4"],
    )
    .await;

    // A user list of period 0 allocates a second user (the allocation seals its root), and the
    // pool gets an allocation shard: the two account types the TypeScript client decodes next.
    let (_, listed) = wallet(&dir, "listed");
    let csv = dir.path().join("list.csv");
    std::fs::write(&csv, format!("user,value\n{},2000\n", listed.key)).unwrap();
    let proofs = dir.path().join("proofs.json");
    let (csv, proofs) = (csv.display().to_string(), proofs.display().to_string());
    allot(
        &chain,
        &url,
        &operator,
        &[
            "operator",
            "publish-list",
            "--pool",
            &pool_address,
            "--csv",
            &csv,
            "--proofs-out",
            &proofs,
            "--period",
            "0",
        ],
    )
    .await;
    let by_list = allot(
        &chain,
        &url,
        &operator,
        &["crank", "--pool", &pool_address, "--proofs", &proofs],
    )
    .await;
    assert_eq!(by_list["allocations"], 1, "{by_list}");
    allot(
        &chain,
        &url,
        &operator,
        &[
            "operator",
            "shards",
            "--pool",
            &pool_address,
            "--count",
            "1",
            "--fund-each",
            "10",
        ],
    )
    .await;

    // The id of the request the TypeScript client opens: a random one, as every client draws.
    let request_id = allot_client::request_id::random();
    let summary = anchor_client_summary(
        &url,
        &localnet.pubsub_url(),
        &pool_address,
        [&operator.file, &user.file],
        request_id,
    );
    let state: Pool = accounts::fetch(&chain, pool).await.unwrap().unwrap();

    // Accounts: every type the program stores, read through `program.account`.
    assert_eq!(summary["pool"]["operator"], operator.key.to_string());
    assert_eq!(summary["pool"]["mint"], state.mint.to_string());
    for (name, count) in [
        ("pool", 1),
        ("verifier", 1),
        ("credential", 1),
        ("allocationRecord", 2),
        ("exchangeRequest", 1),
        ("profitReport", 1),
        ("userList", 1),
        ("allocationShard", 1),
    ] {
        assert_eq!(summary["accounts"][name], count, "{name}: {summary}");
    }
    // The list and the shard as the IDL decodes them, field by field against allot-client.
    let list: UserList = accounts::fetch(&chain, pdas::user_list(&pool, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        list.allocations, 1,
        "the crank's allocation sealed the list"
    );
    assert_eq!(
        summary["userLists"],
        serde_json::json!([{
            "address": pdas::user_list(&pool, 0).to_string(),
            "pool": pool_address,
            "period": "0",
            "root": list.root.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "userCount": 1,
            "allocations": "1",
            "clawbacks": "0",
        }])
    );
    let shard: AllocationShard = accounts::fetch(&chain, pdas::shard(&pool, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shard.funded, 10);
    assert_eq!(
        summary["shards"],
        serde_json::json!([{
            "address": pdas::shard(&pool, 0).to_string(),
            "pool": pool_address,
            "index": 0,
            "vault": shard.vault.to_string(),
            "funded": "10",
            "allocated": "0",
        }])
    );
    assert_eq!(
        summary["profitReports"],
        serde_json::json!([{ "pool": pool_address, "period": "0", "amount": "5000" }])
    );

    // The exchange request `program.methods` built from the IDL alone landed: Anchor resolved
    // the request's address from the `id` argument as the program derives it, the user's record
    // and token account too; the request holds the user's unit, quoted at the pool's price.
    let request_address = pdas::exchange_request(&pool, request_id);
    let mint = pdas::mint(&pool);
    assert_eq!(
        (
            &summary["exchangeRequest"]["request"],
            &summary["exchangeRequest"]["record"],
            &summary["exchangeRequest"]["userToken"],
        ),
        (
            &serde_json::json!(request_address.to_string()),
            &serde_json::json!(pdas::allocation_record(&pool, &user.key).to_string()),
            &serde_json::json!(pdas::token_account(&user.key, &mint).to_string()),
        ),
        "{summary}"
    );
    let request: ExchangeRequest = accounts::fetch(&chain, request_address)
        .await
        .unwrap()
        .expect("the request the TypeScript client opened");
    assert_eq!(
        (request.id, request.user, request.amount, request.status),
        (request_id, user.key, 1, RequestStatus::Pending)
    );
    assert_eq!(request.quoted, 2, "one unit at 2.5 US cents, rounded down");

    // `program.methods` calls landed: the pool was paused, then resumed.
    assert_eq!(summary["pausedAfter"], false);
    assert!(!state.paused);
    assert_eq!(summary["methodSignatures"].as_array().unwrap().len(), 2);

    // The refusal, as the client reports it from simulation and from the landed transaction:
    // allot's NotOperator, comparing the pool's operator (left) with the signer (right).
    let stranger = summary["stranger"].as_str().unwrap();
    let not_operator = 6000 + allot::error::AllotError::NotOperator as u32;
    for refusal in [&summary["simulatedRefusal"], &summary["landedRefusal"]] {
        assert_eq!(refusal["anchorError"], true, "{refusal}");
        assert_eq!(refusal["code"], "NotOperator", "{refusal}");
        assert_eq!(refusal["number"], not_operator, "{refusal}");
        assert_eq!(refusal["program"], allot::ID.to_string(), "{refusal}");
        assert_eq!(
            refusal["comparedValues"],
            serde_json::json!([operator.key.to_string(), stranger]),
            "{refusal}"
        );
    }

    // Every transaction of the pool: logs shaped as a cluster's, EventParser did not throw (it
    // finds no log events: allot emits through CPIs only), and the IDL's event coder decoded
    // exactly the events allot-client decodes.
    let transactions = summary["transactions"].as_array().unwrap();
    assert!(transactions.len() >= 8, "{summary}");
    let refused: Signature = summary["landedRefusal"]["signature"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut seen_refusal = false;
    for read in transactions {
        let signature: Signature = read["signature"].as_str().unwrap().parse().unwrap();
        let fetched = transaction_when_written(&chain, &signature, Duration::from_secs(60)).await;
        let logs = assert_cluster_shaped(&fetched);
        assert_eq!(read["logEvents"], serde_json::json!([]), "{read}");
        let decoded = events_of_transaction(&fetched).unwrap();
        let names: Vec<String> = decoded.events.iter().map(event_name).collect();
        assert_eq!(read["cpiEvents"], serde_json::json!(names), "{read}");
        assert_eq!(read["failed"], decoded.failed, "{read}");
        if signature == refused {
            seen_refusal = true;
            // `Pubkey::log` (the `Left:`/`Right:` keys) is in the transaction's log.
            let at = logs
                .iter()
                .position(|l| l == "Program log: Left:")
                .expect("the compared keys are logged");
            assert_eq!(
                logs[at..at + 4],
                [
                    "Program log: Left:".to_owned(),
                    format!("Program log: {}", operator.key),
                    "Program log: Right:".to_owned(),
                    format!("Program log: {stranger}"),
                ],
                "{logs:#?}"
            );
            assert_eq!(
                logs.last().unwrap(),
                &format!(
                    "Program {} failed: custom program error: {not_operator:#x}",
                    allot::ID
                )
            );
        }
    }
    assert!(seen_refusal, "the landed refusal touched the pool");
}

/// Runs `tests/anchor-ts/client.mjs` against the validator at `url` (PubSub at `ws_url`), for
/// `pool`, its operator's and a holder's keypair files, the holder's request taking `request_id`;
/// returns its JSON summary.
fn anchor_client_summary(
    url: &str,
    ws_url: &str,
    pool: &str,
    [operator_keypair, user_keypair]: [&str; 2],
    request_id: u64,
) -> serde_json::Value {
    let package = repository().join("tests/anchor-ts");
    assert!(
        package.join("node_modules/@anchor-lang/core").is_dir(),
        "run `npm ci` in {} first (.ci/run does)",
        package.display()
    );
    let output = Command::new("node")
        .arg("client.mjs")
        .current_dir(&package)
        .env("ALLOT_RPC_URL", url)
        .env("ALLOT_WS_URL", ws_url)
        .env("ALLOT_IDL", repository().join("idl/allot.json"))
        .env("ALLOT_POOL", pool)
        .env("ALLOT_OPERATOR_KEYPAIR", operator_keypair)
        .env("ALLOT_USER_KEYPAIR", user_keypair)
        .env("ALLOT_REQUEST_ID", request_id.to_string())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tests/anchor-ts/client.mjs failed:\n{stdout}\n{stderr}"
    );
    let summary = stdout.lines().last().expect("a summary line");
    serde_json::from_str(summary).unwrap_or_else(|e| panic!("summary {summary:?}: {e}"))
}

/// An event's type name, as the IDL names it.
fn event_name(event: &allot_client::events::AllotEvent) -> String {
    let debug = format!("{event:?}");
    debug
        .split_once('(')
        .map_or(debug.clone(), |(name, _)| name.to_owned())
}

/// Asserts that `transaction`'s log is shaped as a cluster's and returns it: every call logged
/// once as `Program <id> invoke [<depth>]` and closed once by `Program <id> success` or
/// `failed: …`, with only `log:`/`data:`/`return:`/`consumed` lines of the running program in
/// between; and the calls, in order, are the transaction's instructions and inner instructions
/// at their recorded stack heights. Strict on purpose, for allot's own transactions: they call
/// no precompile and their logs stay under the 10 KB at which a node writes "Log truncated".
fn assert_cluster_shaped(transaction: &EncodedConfirmedTransactionWithStatusMeta) -> Vec<String> {
    let meta = transaction
        .transaction
        .meta
        .as_ref()
        .expect("a status meta");
    let logs: Option<Vec<String>> = meta.log_messages.clone().into();
    let logs = logs.expect("the node returns the log");
    let mut stack: Vec<&str> = Vec::new();
    let mut calls: Vec<(String, usize)> = Vec::new();
    for line in &logs {
        let rest = line
            .strip_prefix("Program ")
            .unwrap_or_else(|| panic!("a line that is not a program's: {line:?} in {logs:#?}"));
        if ["log: ", "data: ", "return: "]
            .iter()
            .any(|p| rest.starts_with(p))
        {
            assert!(!stack.is_empty(), "{line:?} outside a call: {logs:#?}");
            continue;
        }
        let (program, event) = rest.split_once(' ').expect("a program and what it did");
        if let Some(depth) = event
            .strip_prefix("invoke [")
            .and_then(|d| d.strip_suffix(']'))
        {
            let depth: usize = depth.parse().expect("a depth");
            assert_eq!(
                depth,
                stack.len() + 1,
                "{line:?} at depth {}: {logs:#?}",
                stack.len()
            );
            stack.push(program);
            calls.push((program.to_owned(), depth));
        } else if event == "success" || event.starts_with("failed: ") {
            assert_eq!(stack.pop(), Some(program), "{line:?}: {logs:#?}");
        } else if event.starts_with("consumed ") {
            assert_eq!(stack.last(), Some(&program), "{line:?}: {logs:#?}");
        } else {
            panic!("an unexpected line {line:?}: {logs:#?}");
        }
    }
    assert!(stack.is_empty(), "calls left open {stack:?}: {logs:#?}");

    // The calls the transaction made, from its instructions and the node's inner instructions.
    let decoded = transaction
        .transaction
        .transaction
        .decode()
        .expect("a base64 transaction");
    let mut keys: Vec<String> = decoded
        .message
        .static_account_keys()
        .iter()
        .map(ToString::to_string)
        .collect();
    if let OptionSerializer::Some(loaded) = &meta.loaded_addresses {
        keys.extend(loaded.writable.iter().chain(&loaded.readonly).cloned());
    }
    let inner = match &meta.inner_instructions {
        OptionSerializer::Some(inner) => inner.clone(),
        _ => Vec::new(),
    };
    let mut expected = Vec::new();
    for (index, instruction) in decoded.message.instructions().iter().enumerate() {
        expected.push((keys[usize::from(instruction.program_id_index)].clone(), 1));
        for set in inner.iter().filter(|set| usize::from(set.index) == index) {
            for instruction in &set.instructions {
                let UiInstruction::Compiled(compiled) = instruction else {
                    panic!("base64 answers carry compiled inner instructions");
                };
                let height = compiled.stack_height.expect("a stack height") as usize;
                expected.push((keys[usize::from(compiled.program_id_index)].clone(), height));
            }
        }
    }
    if meta.err.is_none() {
        assert_eq!(calls, expected, "{logs:#?}");
    } else {
        // A failed transaction's log stops at the failing call.
        assert!(
            calls.len() <= expected.len(),
            "more calls logged than made: {calls:?} {expected:?}"
        );
        assert_eq!(calls[..], expected[..calls.len()], "{logs:#?}");
    }
    logs
}
