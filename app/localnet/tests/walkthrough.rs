//! The README's walkthrough, typed as a test: the bash block between `<!-- walkthrough:start -->`
//! and `<!-- walkthrough:end -->` is read from README.md when the test runs (so the README cannot
//! drift from what runs) and executed with `bash -euo pipefail` against one localnet and a payment
//! provider over HTTP, with the `allot`, `allot-web` and `allot-bridge` binaries built in this
//! workspace on PATH and nothing else of the caller's environment. Then the chain is read through
//! allot-client: the pool that the pool file describes, the verifier it authorised, the user's
//! credential, the allocation in the user's own token account, sent through the lookup table the
//! block created, and the exchange the bridge paid (in the provider's ledger) and settled.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use allot::state::{AllocationRecord, Credential, Pool, RequestStatus, Verifier};
use allot_bridge::test_support::provider::TestProvider;
use allot_cli::pool_file::PoolFile;
use allot_client::chain::Chain as _;
use allot_client::reference::reference_hash;
use allot_client::rpc_chain::RpcChain;
use allot_client::{accounts, pdas, token};
use allot_localnet::{Localnet, LocalnetConfig};
use common::page::build_page;
use common::{transaction_when_written, wallet};
use solana_commitment_config::CommitmentConfig;

mod common;

/// The markers around the walkthrough in README.md.
const START: &str = "<!-- walkthrough:start -->";
const END: &str = "<!-- walkthrough:end -->";

/// The repository's root (the walkthrough runs there: it names `migrations/pools/example.toml`).
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository's root")
}

/// The bash code of the README's walkthrough: the one ```bash block between the markers.
fn walkthrough(readme: &str) -> String {
    let (_, after) = readme
        .split_once(START)
        .unwrap_or_else(|| panic!("README.md has no {START}"));
    let (between, _) = after
        .split_once(END)
        .unwrap_or_else(|| panic!("README.md has no {END} after {START}"));
    let (_, code) = between
        .split_once("```bash\n")
        .expect("a ```bash block between the walkthrough markers");
    let (code, rest) = code
        .split_once("```")
        .expect("the walkthrough's block is closed");
    assert!(
        rest.trim().is_empty(),
        "only the one block between the markers, found after it: {rest:?}"
    );
    code.to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_walkthrough_allocates_to_the_user_and_pays_their_exchange() {
    // Given: the README's block, a localnet, the three keypair files it expects, funded at the
    // localnet's start (as `allot-localnet --prefund` does), a payment provider, the built page.
    let repository = repository();
    let readme = std::fs::read_to_string(repository.join("README.md")).expect("README.md");
    let script = walkthrough(&readme);
    assert!(
        script.contains("migrations/pools/example.toml"),
        "the test checks the pool against migrations/pools/example.toml; the walkthrough uses \
         another file:\n{script}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, operator) = wallet(&dir, "operator");
    let (_, verifier) = wallet(&dir, "verifier");
    let (_, user) = wallet(&dir, "user");
    let config = LocalnetConfig {
        rpc_port: 26_899,
        faucet_port: 26_950,
        prefund: vec![operator.key, verifier.key, user.key],
        ..LocalnetConfig::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let url = localnet.rpc_url();
    // The block's bridge config names no ws_url: the default is the RPC port + 1.
    assert!(
        localnet.pubsub_url().contains(":26900"),
        "{}",
        localnet.pubsub_url()
    );
    let provider = TestProvider::start().await.unwrap();
    build_page();

    // When: bash runs it, from the repository's root, with `allot`, `allot-web` and
    // `allot-bridge` first on PATH (one directory: this workspace's binaries).
    let allot = Path::new(env!("CARGO_BIN_EXE_allot"));
    for other in [
        env!("CARGO_BIN_EXE_allot-web"),
        env!("CARGO_BIN_EXE_allot-bridge"),
    ] {
        assert_eq!(Path::new(other).parent(), allot.parent());
    }
    let path = format!(
        "{}:{}",
        allot.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    // `mktemp -d` in the block creates its work directory here, so a failure shows its logs.
    let scratch = dir.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let mut bash = Command::new("bash");
    bash.args(["-euo", "pipefail", "-c", &script])
        .current_dir(&repository)
        .env_clear()
        .env("PATH", path)
        // No Solana CLI config of the machine's user: the block says where and who.
        .env("HOME", &home)
        .env("TMPDIR", &scratch)
        .env("ALLOT_URL", &url)
        .env("PROVIDER_URL", &provider.url)
        .env("OPERATOR_KEYPAIR", &operator.file)
        .env("VERIFIER_KEYPAIR", &verifier.file)
        .env("USER_KEYPAIR", &user.file);
    let ran: Output = tokio::task::spawn_blocking(move || bash.output())
        .await
        .unwrap()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(
        ran.status.success(),
        "the walkthrough failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}{}",
        ran.status,
        server_logs(&scratch)
    );
    println!("--- the walkthrough printed:\n{stdout}");

    // Then: the pool is the operator's pool 1, configured as the pool file says.
    let chain = RpcChain::new(url, CommitmentConfig::confirmed());
    let file = PoolFile::read(&repository.join("migrations/pools/example.toml")).unwrap();
    let address = pdas::pool(&operator.key, file.pool_id);
    let pool: Pool = accounts::fetch(&chain, address)
        .await
        .unwrap()
        .expect("the walkthrough created the operator's pool");
    assert_eq!(pool.operator, operator.key);
    assert_eq!(pool.creator, operator.key);
    assert_eq!(pool.pool_id, file.pool_id);
    assert_eq!(pool.decimals, file.decimals);
    assert_eq!(pool.transferable, file.transferable);
    assert_eq!(pool.supply_cap, file.supply_cap);
    assert_eq!(pool.period_seconds, file.period_seconds);
    assert_eq!(pool.rule, file.rule());
    assert_eq!(
        Some(pool.exchange),
        file.exchange_config(&operator.key).unwrap()
    );
    assert_eq!(pool.totals.minted, file.initial_funding);
    let token_section = file.token.as_ref().expect("the example names its token");
    let mint = chain
        .account(pool.mint)
        .await
        .unwrap()
        .expect("the pool's mint");
    let name = token::metadata(&mint.data).expect("the mint carries its metadata");
    assert_eq!(
        (name.name.as_str(), name.symbol.as_str()),
        (token_section.name.as_str(), token_section.symbol.as_str())
    );

    // The verifier the block named is authorised, and wrote the user's credential.
    let authorised: Verifier = accounts::fetch(&chain, pdas::verifier(&address, &verifier.key))
        .await
        .unwrap()
        .expect("the verifier account");
    assert!(authorised.active);
    assert_eq!(pool.active_verifiers, 1);
    let credential: Credential = accounts::fetch(&chain, pdas::credential(&address, &user.key))
        .await
        .unwrap()
        .expect("the user's credential");
    assert_eq!(credential.verifier, verifier.key);
    assert_eq!(credential.user, user.key);
    assert_eq!(credential.indicators[0], 5_000);
    assert_eq!(credential.evidence_hash, reference_hash("kyc-report-0001"));
    assert!(!credential.revoked);

    // The user holds exactly the rule's amount, in the pool's books once.
    let holding = token::balance_base_units(&chain, pdas::token_account(&user.key, &pool.mint))
        .await
        .unwrap();
    assert_eq!(holding, file.rule.amount - EXCHANGED);
    let record: AllocationRecord =
        accounts::fetch(&chain, pdas::allocation_record(&address, &user.key))
            .await
            .unwrap()
            .expect("the user's allocation record");
    assert_eq!(
        (record.allocations, record.allocated),
        (1, file.rule.amount)
    );
    assert_eq!(pool.totals.allocated, file.rule.amount);
    assert_eq!(pool.totals.allocations, 1);
    assert_eq!(
        token::balance_base_units(&chain, pool.vault).await.unwrap(),
        file.initial_funding - file.rule.amount
    );

    // The allocation went through the lookup table the block created: a v0 transaction loading
    // the pool's shared accounts from a table that holds exactly them.
    let record_address = pdas::allocation_record(&address, &user.key);
    let signatures = signatures_when_indexed(&chain, &record_address).await;
    // Two transactions wrote the user's record: the allocation, then the exchange request.
    let [_exchanged, allocated] = signatures.as_slice() else {
        panic!("two transactions wrote the user's record: {signatures:?}")
    };
    let sent = transaction_when_written(
        &chain,
        &allocated.signature.parse().unwrap(),
        Duration::from_secs(120),
    )
    .await;
    let transaction = sent.transaction.transaction.decode().unwrap();
    let lookups = transaction
        .message
        .address_table_lookups()
        .expect("a v0 transaction");
    let [lookup] = lookups else {
        panic!("one lookup table: {lookups:?}")
    };
    let table = allot_cli::lookup_table::load(&chain, &lookup.account_key)
        .await
        .unwrap();
    assert_eq!(
        table.addresses,
        allot_cli::lookup_table::shared_accounts(&address, &pool)
    );

    // And the block's last commands showed it: the user's holding and the pool's books.
    assert!(
        stdout.contains(&format!(
            "user {}: holds {} units",
            user.key, file.rule.amount
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("pool {address} (")), "{stdout}");

    // The page's status told the user their token's symbol, their holding, and that they may
    // exchange.
    let status_line = stdout
        .lines()
        .find(|line| line.starts_with("{\"token\""))
        .unwrap_or_else(|| panic!("the page's status (jq -c) in the output:\n{stdout}"));
    let status: serde_json::Value = serde_json::from_str(status_line).unwrap();
    assert_eq!(status["token"], token_section.symbol.as_str());
    assert_eq!(status["holdings"], file.rule.amount);
    assert_eq!(status["exchange"]["eligible"], true, "{status}");

    // The user's request: 4 units at 2.5 cents, settled on chain with the reference of the one
    // payment the provider executed, of exactly the frozen quote, to the user.
    let requests = accounts::requests_of_user(&chain, &address, &user.key)
        .await
        .unwrap();
    let [(request_address, request)] = requests.as_slice() else {
        panic!("one exchange request of the user: {requests:?}")
    };
    assert_eq!(request.status, RequestStatus::Settled);
    assert_eq!((request.amount, request.quoted), (EXCHANGED, 10));
    assert_eq!(request.paid_amount, request.quoted);
    let payments = provider.payments();
    let [payment] = payments.as_slice() else {
        panic!("the provider executed one payment: {payments:?}")
    };
    assert_eq!(payment.order.request, request_address.to_string());
    assert_eq!(payment.order.user, user.key.to_string());
    assert_eq!(payment.order.amount, request.quoted);
    assert_eq!(payment.order.currency, "USD");
    assert_eq!(
        request.payout_reference,
        reference_hash(&payment.payment_id)
    );
    assert!(
        stdout.contains(&format!(
            "user {}: holds {} units",
            user.key,
            file.rule.amount - EXCHANGED
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "request {}: {EXCHANGED} units for 10 minor units, Settled",
            request.id
        )),
        "{stdout}"
    );
}

/// Units the walkthrough's user exchanges (`allot user exchange --amount 4`).
const EXCHANGED: u64 = 4;

/// The logs of the servers the walkthrough started (in its `mktemp -d` directory under `scratch`).
fn server_logs(scratch: &Path) -> String {
    let mut logs = String::new();
    for work in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
        for name in ["web.log", "bridge.log"] {
            if let Ok(text) = std::fs::read_to_string(work.path().join(name)) {
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                logs.push_str(&format!("\n--- {name} (last lines)\n{}", tail.join("\n")));
            }
        }
    }
    logs
}

/// The signatures of the transactions that wrote `address`, at confirmed, once the node's address
/// index has them (a moment after confirmation; up to a minute on a loaded machine).
async fn signatures_when_indexed(
    chain: &RpcChain,
    address: &anchor_lang::prelude::Pubkey,
) -> Vec<solana_rpc_client_api::response::RpcConfirmedTransactionStatusWithSignature> {
    let config = || solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config {
        commitment: Some(CommitmentConfig::confirmed()),
        ..Default::default()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = chain
            .client()
            .get_signatures_for_address_with_config(address, config())
            .await
            .expect("getSignaturesForAddress");
        if !found.is_empty() || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
