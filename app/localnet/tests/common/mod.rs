//! What the localnet suites share: wallets as keypair files, and the `allot` CLI run in-process
//! over JSON-RPC.

#![allow(dead_code)]

use allot_client::rpc_chain::RpcChain;
use solana_keypair::{Keypair, write_keypair_file};
use solana_signer::Signer;

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
pub mod http_crash_scenario;
