//! The `allot` CLI run as a person types it, against the embedded chain: every subcommand goes
//! through clap, reads its files and keypairs from disk, and sends real transactions.

mod attestation;
mod bad_input;
mod crank;
mod exchange;
mod operator;
mod rent;
mod user_list;

use std::path::PathBuf;

use allot_client::chain::Chain;
use allot_embedded::{Embedded, EmbeddedChain};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::system_instruction;
use serde_json::Value;
use solana_sdk::signature::{Keypair, Signer, write_keypair_file};

/// The example pool file shipped in `migrations/`.
pub const EXAMPLE_POOL: &str = include_str!("../../../migrations/pools/example.toml");

/// A chain, a scratch directory and named keypair files.
pub struct Cli {
    /// The running embedded chain.
    pub embedded: Embedded,
    /// Its [`Chain`] view, which the CLI runs against.
    pub chain: EmbeddedChain,
    dir: tempfile::TempDir,
}

impl Cli {
    /// A fresh chain.
    pub async fn start() -> Self {
        let embedded = Embedded::start().await;
        let chain = embedded.chain();
        Self {
            embedded,
            chain,
            dir: tempfile::tempdir().expect("a scratch directory"),
        }
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to a scratch file and returns its path as text.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("scratch file written");
        path.display().to_string()
    }

    /// A new keypair saved as `<name>.json`, funded with `lamports` by the genesis payer.
    pub async fn keypair(&self, name: &str, lamports: u64) -> (Pubkey, String) {
        let key = Keypair::new();
        let path = self.path(&format!("{name}.json"));
        write_keypair_file(&key, &path).expect("keypair file written");
        if lamports > 0 {
            let payer = self.embedded.payer();
            let transfer = system_instruction::transfer(&payer.pubkey(), &key.pubkey(), lamports);
            allot_cli::sender::send(&self.chain, payer, &[], &[transfer])
                .await
                .expect("funding lands");
        }
        (key.pubkey(), path.display().to_string())
    }

    /// Runs `allot --keypair <keypair> <args…> --output json`; the parsed JSON, or the error text.
    pub async fn json(&self, keypair: &str, args: &[&str]) -> Result<Value, String> {
        let mut argv = vec!["allot", "--keypair", keypair, "--output", "json"];
        argv.extend_from_slice(args);
        match allot_cli::run_argv(&self.chain, &argv).await {
            Ok(text) => Ok(serde_json::from_str(&text).expect("--output json prints JSON")),
            Err(error) => Err(format!("{error:#}")),
        }
    }

    /// Like [`Self::json`], panicking with the message when the command fails.
    pub async fn ok(&self, keypair: &str, args: &[&str]) -> Value {
        match self.json(keypair, args).await {
            Ok(value) => value,
            Err(message) => panic!("allot {args:?} failed: {message}"),
        }
    }

    /// Like [`Self::json`], expecting a failure; returns its message.
    pub async fn err(&self, keypair: &str, args: &[&str]) -> String {
        match self.json(keypair, args).await {
            Ok(value) => panic!("allot {args:?} should fail, printed {value}"),
            Err(message) => message,
        }
    }

    /// Sends `lamports` from the genesis payer to `to`.
    pub async fn fund(&self, to: &Pubkey, lamports: u64) {
        let payer = self.embedded.payer();
        let transfer = system_instruction::transfer(&payer.pubkey(), to, lamports);
        allot_cli::sender::send(&self.chain, payer, &[], &[transfer])
            .await
            .expect("transfer lands");
    }

    /// Moves the chain's clock forward by `seconds`.
    pub async fn embedded_advance(&self, seconds: i64) {
        self.embedded.advance_time(seconds).await;
    }

    /// Token balance of `owner` in `mint` (0 without an account).
    pub async fn balance(&self, owner: &Pubkey, mint: &Pubkey) -> u64 {
        allot_cli::commands::user::holding(&self.chain, mint, owner)
            .await
            .expect("balance readable")
    }

    /// The allot account of type `T` at `address`, which must exist.
    pub async fn fetch<T: anchor_lang::AccountDeserialize>(&self, address: Pubkey) -> T {
        allot_client::accounts::fetch(&self.chain, address)
            .await
            .expect("account readable")
            .unwrap_or_else(|| panic!("an account at {address}"))
    }

    /// The raw account at `address`.
    pub async fn raw(&self, address: Pubkey) -> Option<solana_sdk::account::Account> {
        self.chain.account(address).await.expect("account readable")
    }
}

/// A pool created from the example file by a funded operator, with one funded verifier.
pub struct PoolSetup {
    /// The operator's key and keypair file.
    pub operator: (Pubkey, String),
    /// The verifier's key and keypair file.
    pub verifier: (Pubkey, String),
    /// The pool's address.
    pub pool: Pubkey,
    /// The pool's mint.
    pub mint: Pubkey,
    /// The pool file used.
    pub file: String,
}

/// The arguments of `verifier issue`: `user`'s credential in `pool` with `indicators`, on
/// `evidence`.
pub fn issue_args<'a>(
    pool: &'a str,
    user: &'a str,
    indicators: &'a str,
    evidence: &'a str,
) -> [&'a str; 10] {
    [
        "verifier",
        "issue",
        "--pool",
        pool,
        "--user",
        user,
        "--indicators",
        indicators,
        "--evidence",
        evidence,
    ]
}

/// Creates the example pool with one verifier through `operator create-pool`.
pub async fn example_pool(cli: &Cli) -> PoolSetup {
    example_pool_edited(cli, |text| text).await
}

/// Like [`example_pool`], from the example file as `edit` changes it.
pub async fn example_pool_edited(cli: &Cli, edit: impl FnOnce(String) -> String) -> PoolSetup {
    let operator = cli.keypair("operator", 10_000_000_000).await;
    let verifier = cli.keypair("verifier", 10_000_000_000).await;
    let text = edit(EXAMPLE_POOL.replace(
        "verifiers = []",
        &format!("verifiers = [\"{}\"]", verifier.0),
    ));
    let file = cli.file("pool.toml", &text);
    let created = cli
        .ok(&operator.1, &["operator", "create-pool", "--file", &file])
        .await;
    let pool: Pubkey = created["pool"].as_str().unwrap().parse().unwrap();
    let mint: Pubkey = created["mint"].as_str().unwrap().parse().unwrap();
    PoolSetup {
        operator,
        verifier,
        pool,
        mint,
        file,
    }
}
