//! What the localnet suites share: wallets as keypair files, and the `allot` CLI run in-process
//! over JSON-RPC.

#![allow(dead_code)]

use allot_client::rpc_chain::RpcChain;
use solana_keypair::{Keypair, write_keypair_file};
use solana_signer::Signer;

/// An HTTP answer.
pub struct HttpAnswer {
    /// Its status code.
    pub status: u16,
    /// Its headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: String,
}

impl HttpAnswer {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request to 127.0.0.1:`port` (plain TCP: the test sees the exact bytes).
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> HttpAnswer {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the server listens");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = json_body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// The example pool (`migrations/pools/example.toml`).
pub const EXAMPLE_POOL_FILE: &str = include_str!("../../../../migrations/pools/example.toml");

/// Creates the example pool through the CLI, with `verifier` authorised and `exchange_extra`
/// lines appended to its `[exchange]` section; returns the pool's address.
pub async fn create_example_pool(
    chain: &RpcChain,
    url: &str,
    dir: &tempfile::TempDir,
    operator: &Wallet,
    verifier: &anchor_lang::prelude::Pubkey,
    exchange_extra: &str,
) -> anchor_lang::prelude::Pubkey {
    let text = format!("{EXAMPLE_POOL_FILE}{exchange_extra}");
    create_pool_from(chain, url, dir, operator, verifier, &text).await
}

/// Creates the pool that the pool file `text` describes through the CLI, with `verifier`
/// authorised; returns the pool's address.
pub async fn create_pool_from(
    chain: &RpcChain,
    url: &str,
    dir: &tempfile::TempDir,
    operator: &Wallet,
    verifier: &anchor_lang::prelude::Pubkey,
    text: &str,
) -> anchor_lang::prelude::Pubkey {
    let text = text.replace("verifiers = []", &format!("verifiers = [\"{verifier}\"]"));
    let pool_file = dir.path().join("pool.toml");
    std::fs::write(&pool_file, text).unwrap();
    let created = allot(
        chain,
        url,
        operator,
        &[
            "operator",
            "create-pool",
            "--file",
            pool_file.to_str().unwrap(),
        ],
    )
    .await;
    created["pool"].as_str().unwrap().parse().unwrap()
}

/// Has `verifier` issue each of `users` a credential that meets the example pool's rule
/// (`verifier issue-bulk` from a CSV file); returns the CLI's JSON answer.
pub async fn issue_credentials(
    chain: &RpcChain,
    url: &str,
    dir: &tempfile::TempDir,
    verifier: &Wallet,
    pool: &anchor_lang::prelude::Pubkey,
    users: &[anchor_lang::prelude::Pubkey],
) -> serde_json::Value {
    let mut csv = String::from("user,indicators,evidence\n");
    for (n, user) in users.iter().enumerate() {
        csv.push_str(&format!("{user},5000,kyc-{n}\n"));
    }
    let csv_path = dir.path().join("credentials.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let pool = pool.to_string();
    allot(
        chain,
        url,
        verifier,
        &[
            "verifier",
            "issue-bulk",
            "--pool",
            &pool,
            "--file",
            csv_path.to_str().unwrap(),
        ],
    )
    .await
}

/// The transaction `signature` (base64, v0 allowed) as `getTransaction` returns it once the node
/// has written it to its history (a moment after confirmation; longer on a loaded machine),
/// waiting up to `within`.
pub async fn transaction_when_written(
    chain: &RpcChain,
    signature: &solana_sdk::signature::Signature,
    within: std::time::Duration,
) -> solana_transaction_status_client_types::EncodedConfirmedTransactionWithStatusMeta {
    let config = solana_rpc_client_api::config::RpcTransactionConfig {
        encoding: Some(solana_transaction_status_client_types::UiTransactionEncoding::Base64),
        commitment: Some(solana_commitment_config::CommitmentConfig::confirmed()),
        max_supported_transaction_version: Some(0),
    };
    let deadline = std::time::Instant::now() + within;
    loop {
        match chain
            .client()
            .get_transaction_with_config(signature, config)
            .await
        {
            Ok(found) => return found,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(error) => {
                let status = chain
                    .client()
                    .get_signature_statuses_with_history(&[*signature])
                    .await;
                panic!(
                    "getTransaction did not return {signature} within {within:?}: {error}; status {status:?}"
                )
            }
        }
    }
}

/// The compute budget `transaction` carries, each instruction of the compute-budget program read
/// by that program's own instruction type (as the runtime parses them): its unit limit and price.
pub fn compute_budget_of(
    transaction: &solana_sdk::transaction::VersionedTransaction,
) -> allot_client::compute_budget::ComputeBudget {
    use anchor_lang::AnchorDeserialize as _;
    use solana_compute_budget_interface::ComputeBudgetInstruction;
    let keys = transaction.message.static_account_keys();
    let mut budget = allot_client::compute_budget::ComputeBudget::default();
    for instruction in transaction.message.instructions() {
        if keys[usize::from(instruction.program_id_index)] != solana_compute_budget_interface::ID {
            continue;
        }
        match ComputeBudgetInstruction::try_from_slice(&instruction.data)
            .expect("a compute-budget instruction decodes")
        {
            ComputeBudgetInstruction::SetComputeUnitLimit(units) => {
                budget.unit_limit = Some(units);
            }
            ComputeBudgetInstruction::SetComputeUnitPrice(price) => {
                budget.unit_price_micro_lamports = Some(price);
            }
            other => panic!("an unexpected compute-budget instruction: {other:?}"),
        }
    }
    budget
}

/// A keypair saved where the CLI (and the bridge) can read it.
pub struct Wallet {
    /// Its public key.
    pub key: anchor_lang::prelude::Pubkey,
    /// Its keypair file.
    pub file: String,
}

/// A new keypair, saved as `name`.json in `dir`.
pub fn wallet(dir: &tempfile::TempDir, name: &str) -> (Keypair, Wallet) {
    let keypair = Keypair::new();
    let path = dir.path().join(format!("{name}.json"));
    write_keypair_file(&keypair, &path).expect("keypair written");
    let wallet = Wallet {
        key: keypair.pubkey(),
        file: path.display().to_string(),
    };
    (keypair, wallet)
}

/// Runs `allot --url <url> --keypair <wallet> --output json <args>` and returns its JSON.
pub async fn allot(
    chain: &RpcChain,
    url: &str,
    wallet: &Wallet,
    args: &[&str],
) -> serde_json::Value {
    let mut argv = vec![
        "allot",
        "--url",
        url,
        "--keypair",
        &wallet.file,
        "--output",
        "json",
    ];
    argv.extend_from_slice(args);
    let text = allot_cli::run_argv(chain, &argv)
        .await
        .unwrap_or_else(|e| panic!("allot {args:?} failed: {e:#}"));
    serde_json::from_str(&text).expect("JSON output")
}

pub mod bridge_harness;
pub mod cpu;
pub mod http_crash_scenario;
pub mod page;
pub mod polling_threads;
pub mod review_scenario;
