//! `allot address`: the keypair's public key, alone on its line (so a shell takes it with `$(…)`)
//! or as JSON, without a node; a missing keypair file is named.

use std::process::Command;

use solana_sdk::signature::{Keypair, Signer};

/// Runs the `allot` binary with `args` and a node URL nothing listens on.
fn allot(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_allot"))
        .args(["--url", "http://127.0.0.1:9"])
        .args(args)
        .env_remove("ALLOT_KEYPAIR")
        .output()
        .expect("the allot binary runs")
}

#[test]
fn address_prints_the_keypairs_public_key_without_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let key = Keypair::new();
    let path = dir.path().join("verifier.json");
    std::fs::write(
        &path,
        serde_json::to_string(&key.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let path = path.to_str().unwrap();

    let shown = allot(&["--keypair", path, "address"]);
    assert!(shown.status.success(), "{shown:?}");
    assert_eq!(
        String::from_utf8(shown.stdout).unwrap(),
        format!("{}\n", key.pubkey())
    );

    let json = allot(&["--keypair", path, "--output", "json", "address"]);
    assert!(json.status.success(), "{json:?}");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "address": key.pubkey().to_string() })
    );

    let missing = dir.path().join("none.json");
    let failed = allot(&["--keypair", missing.to_str().unwrap(), "address"]);
    assert!(!failed.status.success());
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(
        message.contains("none.json") && message.contains("does not exist"),
        "{message}"
    );
}
