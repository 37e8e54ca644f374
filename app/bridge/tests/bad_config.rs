//! `allot-bridge` given bad input files: each run stops before touching anything, with a message
//! naming the file and what is wrong in it.

use std::path::Path;
use std::process::Command;

/// Runs `allot-bridge --config <config> run`; returns its stderr, after checking it failed.
fn run_fails(config: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_allot-bridge"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env_remove("ALLOT_BRIDGE_DATABASE_URL")
        .env_remove("ALLOT_BRIDGE_SETTLEMENT_KEYPAIR")
        .output()
        .expect("the bridge binary runs");
    assert!(!output.status.success(), "a bad input must stop the bridge");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A config in `dir` with `keypair` as the settlement keypair file's contents and `extra` lines.
fn config(dir: &Path, keypair: &str, head: &str, extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("bridge.json"), keypair).unwrap();
    let text = format!(
        "{head}rpc_url = \"http://127.0.0.1:9\"\npools = [\"{}\"]\n\
         settlement_keypair = \"{}\"\ndatabase_url = \"sqlite://{}\"\n\
         [payout]\nkind = \"onchain\"\n{extra}",
        anchor_lang::prelude::Pubkey::new_unique(),
        dir.join("bridge.json").display(),
        dir.join("bridge.db").display(),
    );
    let path = dir.join("bridge.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A valid keypair file's contents.
fn keypair() -> String {
    let bytes = solana_sdk::signature::Keypair::new().to_bytes();
    serde_json::to_string(&bytes.to_vec()).unwrap()
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let message = run_fails(&dir.path().join("nowhere.toml"));
    assert!(message.contains("nowhere.toml"), "{message}");
}

#[test]
fn a_toml_syntax_error_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &keypair(), "poll_interval_ms = = 5\n", "");
    let message = run_fails(&path);
    assert!(
        message.contains("bridge.toml") && message.contains("line 1"),
        "{message}"
    );
    assert!(!dir.path().join("bridge.db").exists());
}

#[test]
fn a_value_of_the_wrong_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &keypair(), "poll_interval_ms = \"soon\"\n", "");
    let message = run_fails(&path);
    assert!(message.contains("poll_interval_ms"), "{message}");
    assert!(!dir.path().join("bridge.db").exists());
}

#[test]
fn a_pool_that_is_not_an_address_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.toml");
    std::fs::write(
        &path,
        "rpc_url = \"http://127.0.0.1:9\"\npools = [\"not-a-pool\"]\n\
         settlement_keypair = \"bridge.json\"\ndatabase_url = \"sqlite://bridge.db\"\n\
         [payout]\nkind = \"onchain\"\n",
    )
    .unwrap();
    let message = run_fails(&path);
    assert!(message.contains("not-a-pool"), "{message}");
}

#[test]
fn a_malformed_keypair_file_is_named_and_no_database_is_created() {
    let dir = tempfile::tempdir().unwrap();
    for contents in ["not json", "[1, 2, 3]", ""] {
        let path = config(dir.path(), contents, "", "");
        let message = run_fails(&path);
        assert!(
            message.contains("cannot read the settlement keypair")
                && message.contains("bridge.json"),
            "{contents:?}: {message}"
        );
        assert!(!dir.path().join("bridge.db").exists());
    }
}

#[test]
fn an_unsupported_database_url_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &keypair(), "", "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("sqlite://", "mysql://");
    std::fs::write(&path, text).unwrap();
    let message = run_fails(&path);
    assert!(message.contains("database"), "{message}");
    assert!(!dir.path().join("bridge.db").exists());
}

#[test]
fn secrets_come_from_the_environment_when_the_file_leaves_them_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &keypair(), "", "");
    let text = std::fs::read_to_string(&path).unwrap();
    let without: String = text
        .lines()
        .filter(|line| !line.starts_with("database_url"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    // Neither in the file nor in the environment: named, with the variable to set.
    let message = run_fails(&path);
    assert!(
        message.contains("database_url is missing")
            && message.contains("ALLOT_BRIDGE_DATABASE_URL"),
        "{message}"
    );
    // From the environment: used (this one is refused), and its password never printed.
    let output = Command::new(env!("CARGO_BIN_EXE_allot-bridge"))
        .arg("--config")
        .arg(&path)
        .arg("run")
        .env(
            "ALLOT_BRIDGE_DATABASE_URL",
            "mysql://bridge:hunter2@db.internal/bridge",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("mysql://bridge:***@db.internal"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}
