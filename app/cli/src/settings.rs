//! Where to connect and who signs, resolved the way the Solana CLI does it: flags first, then the
//! Solana CLI config file (`~/.config/solana/cli/config.yml`), then the defaults.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail, ensure};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::{Keypair, read_keypair_file};

use crate::args::{Command, GlobalArgs};

/// The resolved connection and signer settings.
#[derive(Debug)]
pub struct Settings {
    /// JSON-RPC URL.
    pub url: String,
    /// Keypair file of the signer.
    pub keypair_path: PathBuf,
    /// Commitment to read and confirm at.
    pub commitment: CommitmentConfig,
}

/// The URL a moniker names, or the URL itself.
pub fn url_for(moniker_or_url: &str) -> Result<String> {
    let url = match moniker_or_url {
        "localhost" | "l" => "http://localhost:8899",
        "devnet" | "d" => "https://api.devnet.solana.com",
        "testnet" | "t" => "https://api.testnet.solana.com",
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com",
        other => other,
    };
    ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--url {moniker_or_url:?} is neither a URL (http:// or https://) nor a moniker \
         (localhost, devnet, testnet, mainnet-beta)"
    );
    Ok(url.to_string())
}

/// Parses a commitment name.
pub fn commitment_from(name: &str) -> Result<CommitmentConfig> {
    match name {
        "processed" | "confirmed" | "finalized" => {
            Ok(CommitmentConfig::from_str(name).expect("the three commitment names parse"))
        }
        other => bail!("--commitment {other:?} must be processed, confirmed or finalized"),
    }
}

impl Settings {
    /// Resolves `args` against the config file (the given one must exist; the default one may not).
    pub fn resolve(args: &GlobalArgs) -> Result<Self> {
        let config = match &args.config {
            Some(path) => Some(load_config(path)?),
            None => match solana_cli_config::CONFIG_FILE.as_ref() {
                Some(path) if Path::new(path).exists() => Some(load_config(Path::new(path))?),
                _ => None,
            },
        };
        let url = match (&args.url, &config) {
            (Some(url), _) => url_for(url)?,
            (None, Some(config)) => url_for(&config.json_rpc_url)?,
            (None, None) => url_for("localhost")?,
        };
        let keypair_path = match (&args.keypair, &config) {
            (Some(path), _) => path.clone(),
            (None, Some(config)) => PathBuf::from(&config.keypair_path),
            (None, None) => default_keypair_path()?,
        };
        let commitment = match (&args.commitment, &config) {
            (Some(name), _) => commitment_from(name)?,
            (None, Some(config)) => commitment_from(&config.commitment)?,
            (None, None) => CommitmentConfig::confirmed(),
        };
        Ok(Self {
            url,
            keypair_path,
            commitment,
        })
    }
}

fn load_config(path: &Path) -> Result<solana_cli_config::Config> {
    let text = path
        .to_str()
        .with_context(|| format!("config path {} is not UTF-8", path.display()))?;
    solana_cli_config::Config::load(text)
        .map_err(|e| anyhow::anyhow!("cannot read Solana CLI config {}: {e}", path.display()))
}

fn default_keypair_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set; pass --keypair")?;
    Ok(PathBuf::from(home).join(".config/solana/id.json"))
}

/// Reads a keypair file, saying which file and why it failed.
pub fn read_keypair(path: &Path) -> Result<Keypair> {
    ensure!(
        path.exists(),
        "keypair file {} does not exist (pass --keypair, or create one with `solana-keygen new`)",
        path.display()
    );
    read_keypair_file(path).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a keypair file (a JSON array of 64 bytes): {e}",
            path.display()
        )
    })
}

/// The keypair `command` runs with: the one at `path`; for a read-only command whose keypair
/// file is missing, a fresh one that signs and pays for nothing (the command never sends).
pub fn signer_for(command: &Command, path: &Path) -> Result<Keypair> {
    if command.is_read_only() && !path.exists() {
        return Ok(Keypair::new());
    }
    read_keypair(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_become_urls_and_junk_is_refused() {
        assert_eq!(url_for("devnet").unwrap(), "https://api.devnet.solana.com");
        assert_eq!(url_for("l").unwrap(), "http://localhost:8899");
        assert_eq!(
            url_for("http://10.0.0.2:8899").unwrap(),
            "http://10.0.0.2:8899"
        );
        assert!(format!("{:#}", url_for("devnt").unwrap_err()).contains("moniker"));
        assert!(commitment_from("final").is_err());
        assert_eq!(
            commitment_from("finalized").unwrap(),
            CommitmentConfig::finalized()
        );
    }

    #[test]
    fn config_file_supplies_url_keypair_and_commitment() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            "json_rpc_url: https://api.devnet.solana.com\nwebsocket_url: ''\nkeypair_path: /k/id.json\naddress_labels: {}\ncommitment: finalized\n",
        )
        .unwrap();
        let args = GlobalArgs {
            config: Some(config),
            url: None,
            keypair: None,
            commitment: None,
            with_compute_unit_price: None,
            output: crate::args::OutputFormat::Display,
        };
        let settings = Settings::resolve(&args).unwrap();
        assert_eq!(settings.url, "https://api.devnet.solana.com");
        assert_eq!(settings.keypair_path, PathBuf::from("/k/id.json"));
        assert_eq!(settings.commitment, CommitmentConfig::finalized());

        let flags = GlobalArgs {
            url: Some("localhost".into()),
            keypair: Some("/other.json".into()),
            ..args
        };
        let settings = Settings::resolve(&flags).unwrap();
        assert_eq!(settings.url, "http://localhost:8899");
        assert_eq!(settings.keypair_path, PathBuf::from("/other.json"));
    }

    #[test]
    fn bad_keypair_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.json");
        assert!(format!("{:#}", read_keypair(&missing).unwrap_err()).contains("does not exist"));
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, "[1,2,3]").unwrap();
        assert!(format!("{:#}", read_keypair(&junk).unwrap_err()).contains("not a keypair file"));
    }
}
