//! The bridge's configuration file (TOML), checked as a whole before anything starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use allot_client::compute_budget::DEFAULT_MAX_UNIT_PRICE_MICRO_LAMPORTS;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};
use serde::Deserialize;
use solana_commitment_config::CommitmentConfig;

/// What `bridge.toml` holds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// PubSub (websocket) URL; default: `rpc_url` with ws(s):// and the port + 1.
    pub ws_url: Option<String>,
    /// The allot program id; when given it must be the one this bridge was built for.
    pub program_id: Option<String>,
    /// The pools whose requests this bridge pays (base58); may be empty with `discover_pools`.
    #[serde(default)]
    pub pools: Vec<String>,
    /// Also serve every pool whose settlement authority is this bridge's key, found on chain and
    /// looked for again while running (a platform's bridge paying for its merchants' pools).
    pub discover_pools: Option<bool>,
    /// The settlement authority's keypair file (signs settle transactions); the environment
    /// variable `ALLOT_BRIDGE_SETTLEMENT_KEYPAIR` overrides it.
    pub settlement_keypair: Option<PathBuf>,
    /// `sqlite://path/bridge.db` (default store) or `postgres://…` (several workers); the
    /// environment variable `ALLOT_BRIDGE_DATABASE_URL` overrides it (keep passwords out of files).
    pub database_url: Option<String>,
    /// This worker's name in claims and leases (default: `<host>-<pid>`). Keep it stable across
    /// restarts so a restarted worker resumes its own claims at once, and give each running
    /// process its own: two live processes under one name take each other's claims.
    pub worker_name: Option<String>,
    /// Where `/metrics` and `/healthz` listen (default 127.0.0.1:9464).
    pub metrics_addr: Option<SocketAddr>,
    /// Commitment of the authoritative history: `finalized` (default) or `confirmed`.
    pub history_commitment: Option<String>,
    /// Milliseconds between passes (default 5000): each reads the history; the open-request
    /// scan runs every 2 s to 15 s of them (see `service::OPEN_SCAN_EVERY`).
    pub poll_interval_ms: Option<u64>,
    /// Whether this worker may ingest (the ingester lease decides which one does; default true).
    pub ingest: Option<bool>,
    /// How many requests this worker moves at once (1 to 8, default 1): each lane claims its
    /// own requests under its own name (`<worker_name>#<lane>`), so provider calls and chain
    /// round trips of different requests overlap.
    pub payout_concurrency: Option<usize>,
    /// Priority fee of lock and settle transactions, micro-lamports per compute unit; default:
    /// the `priority_fee_percentile` of recent fees paid around the request's pool.
    pub priority_fee_micro_lamports: Option<u64>,
    /// Which percentile of `getRecentPrioritizationFees` to pay when no fixed fee is set
    /// (default 75).
    pub priority_fee_percentile: Option<u8>,
    /// The most that percentile may reach, micro-lamports per unit (default 1,000,000).
    pub priority_fee_max_micro_lamports: Option<u64>,
    /// How the user is paid.
    pub payout: PayoutConfig,
}

/// The payout adapter.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PayoutConfig {
    /// The request's frozen payout mint, moved from the settlement authority's treasury inside the settle
    /// transaction (atomic).
    Onchain {
        /// The treasury token account (default: the settlement authority's associated account).
        treasury: Option<String>,
    },
    /// A payment provider's HTTP API, called with an idempotency key per request.
    Http {
        /// Base URL; the bridge POSTs to `{url}/payouts`.
        url: String,
        /// Per-call timeout in milliseconds (default 10000, at most 30000).
        timeout_ms: Option<u64>,
        /// Calls before a request goes to manual review (default 20).
        max_attempts: Option<u32>,
        /// How many requests one lane pays at once (1 to 64, default 8): the due requests
        /// whose locks are final are read from the chain together and their provider calls
        /// run concurrently; a worker makes at most `payout_concurrency` × this many calls at
        /// once.
        concurrent_calls: Option<usize>,
        /// Bearer token sent as `Authorization`, read from this environment variable.
        token_env: Option<String>,
        /// When a lock of this bridge counts before paying: `finalized` (default: no fork can
        /// undo it) or `confirmed` (once the request itself is final, for a request its user
        /// could not cancel for at least an hour even without the lock; any other still waits
        /// for its finalized lock).
        lock_commitment: Option<String>,
    },
}

/// Overrides `settlement_keypair` (a path), so deployments keep secrets out of the file.
pub const SETTLEMENT_KEYPAIR_ENV: &str = "ALLOT_BRIDGE_SETTLEMENT_KEYPAIR";
/// Overrides `database_url` (which may carry a password).
pub const DATABASE_URL_ENV: &str = "ALLOT_BRIDGE_DATABASE_URL";

/// `variable` when set and not empty, else the file's `value` for `field`; one of them is needed.
fn from_env_or(variable: &str, value: Option<String>, field: &str) -> Result<String> {
    match std::env::var(variable) {
        Ok(set) if !set.trim().is_empty() => Ok(set),
        _ => value
            .with_context(|| format!("{field} is missing: set it in the file or in {variable}")),
    }
}

/// The longest a provider call may take: half of a worker's claim on a request.
pub const MAX_PROVIDER_TIMEOUT_MS: u64 = 30_000;

/// The most provider calls one lane makes at once (`payout.concurrent_calls`).
pub const MAX_CONCURRENT_CALLS: usize = 64;

/// The most lanes one worker runs (PostgreSQL's pool holds 8 connections; SQLite has one
/// writer, so its lanes overlap only their network calls). Each lane may pay up to
/// `payout.concurrent_calls` requests at once: their store writes share the same pool, each
/// waiting its turn for a connection.
pub const MAX_PAYOUT_CONCURRENCY: usize = 8;

/// The configuration, checked and resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// PubSub URL.
    pub ws_url: String,
    /// The pools named in the file (checked at start-up).
    pub pools: Vec<Pubkey>,
    /// Whether the pools settled by this bridge's key are found on chain too.
    pub discover_pools: bool,
    /// The settlement keypair file.
    pub settlement_keypair: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// This worker's name.
    pub worker: String,
    /// The metrics listener.
    pub metrics_addr: SocketAddr,
    /// The history's commitment.
    pub history_commitment: CommitmentConfig,
    /// Time between passes.
    pub poll_interval: Duration,
    /// Whether this worker competes for the ingester lease.
    pub ingest: bool,
    /// Requests moved at once (lanes).
    pub payout_concurrency: usize,
    /// The payout adapter.
    pub payout: Payout,
    /// How lock and settle transactions pay for priority.
    pub fees: FeePolicy,
}

/// How the bridge's transactions pay for their place in a block (the client library's policy,
/// shared with the CLI and the web server).
pub use allot_client::compute_budget::FeePolicy;

/// When a lock this bridge sent counts, before it pays a request off chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockCommitment {
    /// Once the finalized view shows it: no fork can undo the lock, so no cancel can follow
    /// the payment (the default).
    Finalized,
    /// Once the confirmed view shows it and the finalized view the request itself, for a
    /// request its user could not cancel for at least an hour were a fork to undo the lock (its
    /// own `cancel_after`); any other request waits for its finalized lock. What this gives up:
    /// a fork undoing a confirmed lock while the pool's settlement authority moves to another
    /// key.
    Confirmed,
}

impl LockCommitment {
    /// `payout.lock_commitment` as written in the file (`None`: the default).
    fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("finalized") => Ok(Self::Finalized),
            Some("confirmed") => Ok(Self::Confirmed),
            Some(other) => bail!(
                "payout.lock_commitment {other:?} must be \"finalized\" (the default) or \"confirmed\""
            ),
        }
    }
}

/// The payout adapter, resolved.
#[derive(Clone, Debug)]
pub enum Payout {
    /// On-chain stablecoin transfer in the settle transaction.
    Onchain {
        /// The treasury token account, if not the default.
        treasury: Option<Pubkey>,
    },
    /// HTTP payment provider.
    Http {
        /// Base URL.
        url: reqwest::Url,
        /// Per-call timeout.
        timeout: Duration,
        /// Calls before manual review.
        max_attempts: u32,
        /// Requests one lane pays at once.
        concurrent_calls: usize,
        /// Bearer token.
        token: Option<String>,
        /// When a lock of this bridge counts before paying.
        lock_commitment: LockCommitment,
    },
}

impl Settings {
    /// The settlement authority's keypair, read from `settlement_keypair`.
    pub fn settlement_authority(&self) -> Result<solana_sdk::signature::Keypair> {
        solana_sdk::signature::read_keypair_file(&self.settlement_keypair).map_err(|error| {
            anyhow::anyhow!(
                "cannot read the settlement keypair {}: {error}",
                self.settlement_keypair.display()
            )
        })
    }

    /// The HTTP payment provider, when the bridge pays over HTTP.
    pub fn http_provider(&self) -> Result<Option<crate::http_provider::HttpProvider>> {
        let Payout::Http {
            url,
            timeout,
            token,
            ..
        } = &self.payout
        else {
            return Ok(None);
        };
        crate::http_provider::HttpProvider::new(url, *timeout, token.clone())
            .map(Some)
            .context("cannot build the HTTP client")
    }

    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the bridge config {}", path.display()))?;
        let config: BridgeConfig = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid bridge config", path.display()))?;
        Self::resolve(config).with_context(|| format!("in {}", path.display()))
    }

    /// Checks `config` and fills in the defaults.
    pub fn resolve(config: BridgeConfig) -> Result<Self> {
        let rpc = reqwest::Url::parse(&config.rpc_url)
            .with_context(|| format!("rpc_url {:?} is not a URL", config.rpc_url))?;
        ensure!(
            matches!(rpc.scheme(), "http" | "https"),
            "rpc_url {:?} must be http:// or https://",
            config.rpc_url
        );
        let ws_url = match config.ws_url {
            Some(url) => {
                let parsed = reqwest::Url::parse(&url)
                    .with_context(|| format!("ws_url {url:?} is not a URL"))?;
                ensure!(
                    matches!(parsed.scheme(), "ws" | "wss"),
                    "ws_url {url:?} must be ws:// or wss://"
                );
                url
            }
            None => default_ws_url(&rpc)?,
        };
        if let Some(id) = &config.program_id {
            ensure!(
                id == &allot::ID.to_string(),
                "program_id {id} is not the program this bridge decodes ({})",
                allot::ID
            );
        }
        let discover_pools = config.discover_pools.unwrap_or(false);
        ensure!(
            !config.pools.is_empty() || discover_pools,
            "pools is empty: name at least one pool, or set discover_pools = true"
        );
        let pools = config
            .pools
            .iter()
            .map(|pool| parse_key("pools", pool))
            .collect::<Result<Vec<_>>>()?;
        let history_commitment = match config.history_commitment.as_deref() {
            None | Some("finalized") => CommitmentConfig::finalized(),
            Some("confirmed") => CommitmentConfig::confirmed(),
            Some(other) => {
                bail!("history_commitment {other:?} must be \"finalized\" or \"confirmed\"")
            }
        };
        let fees = match (
            config.priority_fee_micro_lamports,
            config.priority_fee_percentile,
        ) {
            (Some(_), Some(_)) => {
                bail!("set priority_fee_micro_lamports or priority_fee_percentile, not both")
            }
            (Some(price), None) => FeePolicy::Fixed(price),
            (None, percentile) => {
                let percentile = percentile.unwrap_or(75);
                ensure!(
                    percentile <= 100,
                    "priority_fee_percentile {percentile} must be 0..=100"
                );
                FeePolicy::RecentPercentile {
                    percentile,
                    max: config
                        .priority_fee_max_micro_lamports
                        .unwrap_or(DEFAULT_MAX_UNIT_PRICE_MICRO_LAMPORTS),
                }
            }
        };
        let poll_interval_ms = config.poll_interval_ms.unwrap_or(5_000);
        ensure!(
            (100..=600_000).contains(&poll_interval_ms),
            "poll_interval_ms {poll_interval_ms} must be between 100 and 600000"
        );
        if let Some(name) = &config.worker_name {
            ensure!(
                !name.is_empty() && !name.contains('#'),
                "worker_name {name:?} must be non-empty and without '#' (lanes claim as <worker_name>#<lane>)"
            );
        }
        let payout_concurrency = config.payout_concurrency.unwrap_or(1);
        ensure!(
            (1..=MAX_PAYOUT_CONCURRENCY).contains(&payout_concurrency),
            "payout_concurrency {payout_concurrency} must be between 1 and {MAX_PAYOUT_CONCURRENCY}"
        );
        let payout = match config.payout {
            PayoutConfig::Onchain { treasury } => Payout::Onchain {
                treasury: treasury
                    .map(|key| parse_key("payout.treasury", &key))
                    .transpose()?,
            },
            PayoutConfig::Http {
                url,
                timeout_ms,
                max_attempts,
                concurrent_calls,
                token_env,
                lock_commitment,
            } => {
                let url = reqwest::Url::parse(&url)
                    .with_context(|| format!("payout.url {url:?} is not a URL"))?;
                ensure!(
                    matches!(url.scheme(), "http" | "https"),
                    "payout.url {url} must be http:// or https://"
                );
                let token = match token_env {
                    Some(name) => Some(std::env::var(&name).with_context(|| {
                        format!("payout.token_env names {name}, which is not set")
                    })?),
                    None => None,
                };
                // A provider call must end well inside the worker's claim (60 s), so no second
                // worker can take the request over while the call may still pay.
                let timeout_ms = timeout_ms.unwrap_or(10_000);
                ensure!(
                    (1..=MAX_PROVIDER_TIMEOUT_MS).contains(&timeout_ms),
                    "payout.timeout_ms must be 1..={MAX_PROVIDER_TIMEOUT_MS} (half the worker's claim)"
                );
                let max_attempts = max_attempts.unwrap_or(20);
                ensure!(max_attempts > 0, "payout.max_attempts must be at least 1");
                let concurrent_calls = concurrent_calls.unwrap_or(8);
                ensure!(
                    (1..=MAX_CONCURRENT_CALLS).contains(&concurrent_calls),
                    "payout.concurrent_calls {concurrent_calls} must be between 1 and {MAX_CONCURRENT_CALLS} (requests one lane pays at once)"
                );
                Payout::Http {
                    url,
                    timeout: Duration::from_millis(timeout_ms),
                    max_attempts,
                    concurrent_calls,
                    token,
                    lock_commitment: LockCommitment::parse(lock_commitment.as_deref())?,
                }
            }
        };
        Ok(Self {
            rpc_url: config.rpc_url,
            ws_url,
            pools,
            discover_pools,
            settlement_keypair: from_env_or(
                SETTLEMENT_KEYPAIR_ENV,
                config.settlement_keypair.map(|p| p.display().to_string()),
                "settlement_keypair",
            )?
            .into(),
            database_url: from_env_or(DATABASE_URL_ENV, config.database_url, "database_url")?,
            worker: config.worker_name.unwrap_or_else(default_worker_name),
            metrics_addr: config
                .metrics_addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9464))),
            history_commitment,
            poll_interval: Duration::from_millis(poll_interval_ms),
            ingest: config.ingest.unwrap_or(true),
            payout_concurrency,
            payout,
            fees,
        })
    }
}

/// `<host>-<pid>`: unique per process on a host, and across hosts (containers all run as pid 1).
fn default_worker_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bridge".into());
    format!("{host}-{}", std::process::id())
}

/// `key` as a public key, or an error naming `field`.
fn parse_key(field: &str, key: &str) -> Result<Pubkey> {
    key.parse()
        .with_context(|| format!("{field}: {key:?} is not a base58 public key"))
}

/// The validator convention: PubSub listens on the RPC port + 1, same host, ws(s)://.
fn default_ws_url(rpc: &reqwest::Url) -> Result<String> {
    let mut ws = rpc.clone();
    let scheme = if rpc.scheme() == "https" { "wss" } else { "ws" };
    ws.set_scheme(scheme)
        .map_err(|()| anyhow::anyhow!("cannot derive ws_url from {rpc}"))?;
    if let Some(port) = rpc.port() {
        ws.set_port(Some(port.saturating_add(1)))
            .map_err(|()| anyhow::anyhow!("cannot derive ws_url from {rpc}"))?;
    }
    Ok(ws.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Result<Settings> {
        let text = format!(
            "rpc_url = \"http://127.0.0.1:8899\"\npools = [\"{}\"]\n\
             settlement_keypair = \"bridge.json\"\ndatabase_url = \"sqlite://bridge.db\"\n{extra}",
            Pubkey::new_unique()
        );
        Settings::resolve(toml::from_str(&text)?)
    }

    #[test]
    fn defaults_follow_the_validator_conventions() {
        let settings = config("[payout]\nkind = \"onchain\"\n").unwrap();
        assert_eq!(settings.ws_url, "ws://127.0.0.1:8900/");
        assert_eq!(settings.history_commitment, CommitmentConfig::finalized());
        assert_eq!(settings.poll_interval, Duration::from_secs(5));
        assert!(settings.ingest);
        assert_eq!(settings.payout_concurrency, 1);
        assert_eq!(
            settings.fees,
            FeePolicy::RecentPercentile {
                percentile: 75,
                max: 1_000_000
            }
        );
    }

    #[test]
    fn payout_concurrency_is_bounded_and_lane_names_cannot_clash() {
        let onchain = "[payout]\nkind = \"onchain\"\n";
        let four = config(&format!("payout_concurrency = 4\n{onchain}")).unwrap();
        assert_eq!(four.payout_concurrency, 4);
        for refused in [0, MAX_PAYOUT_CONCURRENCY + 1] {
            let error = config(&format!("payout_concurrency = {refused}\n{onchain}")).unwrap_err();
            assert!(
                format!("{error:#}").contains("must be between 1 and 8"),
                "{error:#}"
            );
        }
        let clash = config(&format!("worker_name = \"w#0\"\n{onchain}")).unwrap_err();
        assert!(format!("{clash:#}").contains("without '#'"), "{clash:#}");
    }

    #[test]
    fn a_lanes_concurrent_provider_calls_are_bounded() {
        let http = "[payout]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n";
        let calls = |settings: Settings| match settings.payout {
            Payout::Http {
                concurrent_calls, ..
            } => concurrent_calls,
            Payout::Onchain { .. } => unreachable!("an HTTP payout"),
        };
        assert_eq!(calls(config(http).unwrap()), 8);
        let commitment = |settings: Settings| match settings.payout {
            Payout::Http {
                lock_commitment, ..
            } => lock_commitment,
            Payout::Onchain { .. } => unreachable!("an HTTP payout"),
        };
        assert_eq!(commitment(config(http).unwrap()), LockCommitment::Finalized);
        for (written, read) in [
            ("finalized", LockCommitment::Finalized),
            ("confirmed", LockCommitment::Confirmed),
        ] {
            let settings = config(&format!("{http}lock_commitment = \"{written}\"\n")).unwrap();
            assert_eq!(commitment(settings), read);
        }
        let error = config(&format!("{http}lock_commitment = \"processed\"\n")).unwrap_err();
        assert!(
            format!("{error:#}")
                .contains("\"processed\" must be \"finalized\" (the default) or \"confirmed\""),
            "{error:#}"
        );
        let one = config(&format!("{http}concurrent_calls = 1\n")).unwrap();
        assert_eq!(calls(one), 1);
        for refused in [0, MAX_CONCURRENT_CALLS + 1] {
            let error = config(&format!("{http}concurrent_calls = {refused}\n")).unwrap_err();
            assert!(
                format!("{error:#}").contains(&format!(
                    "concurrent_calls {refused} must be between 1 and 64"
                )),
                "{error:#}"
            );
        }
    }

    #[test]
    fn priority_fees_are_fixed_or_a_percentile_not_both() {
        let onchain = "[payout]\nkind = \"onchain\"\n";
        let fixed = config(&format!("priority_fee_micro_lamports = 5000\n{onchain}")).unwrap();
        assert_eq!(fixed.fees, FeePolicy::Fixed(5_000));
        let median = config(&format!("priority_fee_percentile = 50\n{onchain}")).unwrap();
        assert_eq!(
            median.fees,
            FeePolicy::RecentPercentile {
                percentile: 50,
                max: 1_000_000
            }
        );
        let both = config(&format!(
            "priority_fee_micro_lamports = 1\npriority_fee_percentile = 50\n{onchain}"
        ))
        .unwrap_err();
        assert!(format!("{both:#}").contains("not both"), "{both:#}");
        let over = config(&format!("priority_fee_percentile = 101\n{onchain}")).unwrap_err();
        assert!(format!("{over:#}").contains("0..=100"), "{over:#}");
    }

    #[test]
    fn a_bridge_names_pools_or_discovers_them() {
        let text = |extra: &str| {
            format!(
                "rpc_url = \"http://127.0.0.1:8899\"\nsettlement_keypair = \"bridge.json\"\n\
                 database_url = \"sqlite://bridge.db\"\n{extra}[payout]\nkind = \"onchain\"\n"
            )
        };
        let resolve = |extra: &str| Settings::resolve(toml::from_str(&text(extra)).unwrap());
        let none = resolve("").unwrap_err();
        assert!(
            format!("{none:#}").contains("discover_pools = true"),
            "{none:#}"
        );
        let empty = resolve("pools = []\n").unwrap_err();
        assert!(format!("{empty:#}").contains("pools is empty"), "{empty:#}");
        let platform = resolve("discover_pools = true\n").unwrap();
        assert!(platform.discover_pools && platform.pools.is_empty());
        assert!(
            !config("[payout]\nkind = \"onchain\"\n")
                .unwrap()
                .discover_pools
        );
    }

    #[test]
    fn bad_values_are_named() {
        let error = config("history_commitment = \"processed\"\n[payout]\nkind = \"onchain\"\n")
            .unwrap_err();
        assert!(format!("{error:#}").contains("history_commitment \"processed\""));
        let error = config("[payout]\nkind = \"http\"\nurl = \"ftp://x\"\n").unwrap_err();
        assert!(format!("{error:#}").contains("must be http:// or https://"));
        let error = config("[payout]\nkind = \"cash\"\n").unwrap_err();
        assert!(error.to_string().contains("cash") || format!("{error:#}").contains("kind"));
        let error = config(
            "program_id = \"11111111111111111111111111111111\"\n[payout]\nkind = \"onchain\"\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("is not the program"));
    }
}
