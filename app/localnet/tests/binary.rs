//! The `allot-localnet` binary as a user runs it: it starts, passes its self-test, prints its URLs,
//! answers plain JSON-RPC (`getHealth`, the program account, `requestAirdrop` through its faucet),
//! and stops cleanly on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use allot_client::chain::Chain;
use allot_client::rpc_chain::RpcChain;
use solana_commitment_config::CommitmentConfig;

#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_rpc_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_allot-localnet"))
        .args(["--rpc-port", "38899", "--faucet-port", "39900"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("allot-localnet starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let panics = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .filter(|line| line.contains("panicked"))
            .collect::<Vec<_>>()
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let printed = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Ctrl-C stops it") {
                let _ = ready_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    ready_rx
        .recv_timeout(Duration::from_secs(240))
        .expect("localnet is ready within 4 minutes");

    let chain = RpcChain::new(
        "http://127.0.0.1:38899".into(),
        CommitmentConfig::confirmed(),
    );
    let health: String = chain
        .client()
        .send(
            solana_rpc_client_api::request::RpcRequest::GetHealth,
            serde_json::Value::Null,
        )
        .await
        .expect("getHealth answers");
    assert_eq!(health, "ok");
    let program = chain
        .account(allot::ID)
        .await
        .unwrap()
        .expect("the program account exists");
    assert!(program.executable);
    let wallet = solana_keypair::Keypair::new();
    let wallet_key = solana_signer::Signer::pubkey(&wallet);
    let airdrop = chain
        .client()
        .request_airdrop(&wallet_key, 2_000_000_000)
        .await
        .expect("the faucet answers requestAirdrop");
    let started = Instant::now();
    while !chain
        .client()
        .confirm_transaction(&airdrop)
        .await
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the airdrop lands"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        chain.account(wallet_key).await.unwrap().unwrap().lamports,
        2_000_000_000
    );

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "it stops within a minute of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "clean exit after Ctrl-C: {status}");
    let printed = printed.join().unwrap();
    assert!(
        printed
            .iter()
            .any(|l| l.contains("JSON-RPC  http://127.0.0.1:38899")),
        "{printed:?}"
    );
    assert!(printed.iter().any(|l| l == "stopping"), "{printed:?}");
    let panics = panics.join().unwrap();
    assert!(panics.is_empty(), "no thread panicked: {panics:?}");
}
