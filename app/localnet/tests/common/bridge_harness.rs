//! The bridge suites' harness: a validator with a pool whose users hold units, the
//! `allot-bridge` process (spawned, crashed, stopped), and a TCP proxy that can freeze a
//! websocket half-open.

use std::ops::Range;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use allot::state::{ExchangeRequest, RequestStatus};
use allot_bridge::crash::CRASH_ENV;
use allot_client::chain::Chain as _;
use allot_client::compute_budget::{ComputeBudget, MAX_COMPUTE_UNITS};
use allot_client::rpc_chain::RpcChain;
use allot_client::{accounts, instructions, pdas};
use allot_localnet::{ExtraBuiltin, Localnet, LocalnetConfig, self_test};
use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_sdk::transaction::{Transaction, VersionedTransaction};
use solana_signer::Signer;
use spl_token_2022_interface::{ID as TOKEN_2022, instruction as token_ix};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::{EXAMPLE_POOL_FILE, Wallet, allot, create_pool_from, issue_credentials, wallet};

/// A validator with one pool whose users hold allocated units, and a settlement authority (the
/// operator).
pub struct Market {
    pub _localnet: Localnet,
    pub dir: tempfile::TempDir,
    pub url: String,
    pub ws_url: String,
    pub chain: RpcChain,
    pub operator: (Keypair, Wallet),
    /// The pool's verifier (wrote the users' credentials).
    pub verifier: (Keypair, Wallet),
    pub users: Vec<(Keypair, Wallet)>,
    pub pool: Pubkey,
    /// The stablecoin paid on chain, when the pool has one.
    pub stablecoin: Option<Pubkey>,
}

impl Market {
    pub async fn open(rpc_port: u16, faucet_port: u16, users: usize, stablecoin: bool) -> Self {
        Self::open_with(rpc_port, faucet_port, users, stablecoin, str::to_owned).await
    }

    /// [`Self::open`] with the example pool file passed through `edit` first (the stablecoin's
    /// `payout_mint` line is appended to what `edit` returns).
    pub async fn open_with(
        rpc_port: u16,
        faucet_port: u16,
        users: usize,
        stablecoin: bool,
        edit: impl Fn(&str) -> String,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let operator = wallet(&dir, "operator");
        let verifier = wallet(&dir, "verifier");
        let users: Vec<_> = (0..users)
            .map(|n| wallet(&dir, &format!("user{n}")))
            .collect();
        let mut prefund = vec![operator.1.key, verifier.1.key];
        prefund.extend(users.iter().map(|(_, w)| w.key));
        let localnet = Localnet::start(LocalnetConfig {
            rpc_port,
            faucet_port,
            prefund,
            extra_builtins: vec![ExtraBuiltin {
                id: FORGER_ID,
                name: "forger",
                register: solana_program_test::processor!(forger_entry)
                    .expect("processor! always yields a builtin"),
            }],
            ..LocalnetConfig::default()
        })
        .await
        .expect("localnet starts");
        let url = localnet.rpc_url();
        self_test::run(&url, &localnet.mint)
            .await
            .expect("self-test passes");
        let chain = RpcChain::new(url.clone(), CommitmentConfig::confirmed());
        let stablecoin = if stablecoin {
            Some(create_stablecoin(&chain, &operator.0, TREASURY_BASE_UNITS).await)
        } else {
            None
        };
        let payout_mint =
            stablecoin.map_or(String::new(), |mint| format!("payout_mint = \"{mint}\"\n"));
        let text = format!("{}{payout_mint}", edit(EXAMPLE_POOL_FILE));
        let pool = create_pool_from(&chain, &url, &dir, &operator.1, &verifier.1.key, &text).await;
        let keys: Vec<_> = users.iter().map(|(_, w)| w.key).collect();
        issue_credentials(&chain, &url, &dir, &verifier.1, &pool, &keys).await;
        let pool_text = pool.to_string();
        let cranked = allot(&chain, &url, &operator.1, &["crank", "--pool", &pool_text]).await;
        assert_eq!(cranked["allocations"], users.len());
        Self {
            ws_url: localnet.pubsub_url(),
            _localnet: localnet,
            dir,
            url,
            chain,
            operator,
            verifier,
            users,
            pool,
            stablecoin,
        }
    }

    /// Opens two requests of 5 units (the example pool allocates 10, minimum holding 5) for
    /// each of `users`; see [`Self::open_requests_each`].
    pub async fn open_requests(&self, users: Range<usize>) -> Vec<Pubkey> {
        self.open_requests_each(users, 2).await
    }

    /// Opens `each` requests of 5 units for each of `users` (who must hold enough units), four
    /// requests to a transaction, up to [`OPENING_IN_FLIGHT`] transactions in flight: each
    /// request is named by a random id, as clients name them, so no transaction waits for
    /// another; returns the addresses, user by user.
    pub async fn open_requests_each(&self, users: Range<usize>, each: usize) -> Vec<Pubkey> {
        use futures::StreamExt as _;
        let requesters: Vec<usize> = users.flat_map(|n| std::iter::repeat_n(n, each)).collect();
        let transactions: Vec<_> = requesters
            .chunks(4)
            .map(|chunk| {
                let mut ixs = Vec::new();
                let mut addresses = Vec::new();
                let mut signers: Vec<&Keypair> = vec![&self.operator.0];
                for &n in chunk {
                    let user = &self.users[n].0;
                    let (ix, address) = self.new_request(&user.pubkey(), UNITS_PER_REQUEST);
                    ixs.push(ix);
                    addresses.push(address);
                    if !signers.iter().any(|s| s.pubkey() == user.pubkey()) {
                        signers.push(user);
                    }
                }
                (ixs, signers, addresses)
            })
            .collect();
        let opened: Vec<Vec<Pubkey>> = futures::stream::iter(transactions)
            .map(|(ixs, signers, addresses)| async move {
                send(&self.chain, &ixs, &signers).await;
                addresses
            })
            .buffered(OPENING_IN_FLIGHT)
            .collect()
            .await;
        opened.concat()
    }

    /// User `n` requests an exchange of `amount` units; returns the request address and quote.
    pub async fn request(&self, n: usize, amount: u64) -> (Pubkey, u64) {
        let pool = self.pool.to_string();
        let answer = allot(
            &self.chain,
            &self.url,
            &self.users[n].1,
            &[
                "user",
                "exchange",
                "--pool",
                &pool,
                "--amount",
                &amount.to_string(),
            ],
        )
        .await;
        (
            answer["request"].as_str().unwrap().parse().unwrap(),
            answer["quoted"].as_u64().unwrap(),
        )
    }

    /// The idempotency key the bridge pays `request` under: its address and its `created_at`,
    /// read on chain (the request must still be there).
    pub async fn payout_key(&self, request: &Pubkey) -> String {
        let on_chain: ExchangeRequest = accounts::fetch(&self.chain, *request)
            .await
            .unwrap()
            .expect("the request is on chain");
        allot_bridge::http_provider::idempotency_key(&request.to_string(), on_chain.created_at)
    }

    /// User `user` requests `count` exchanges of one unit each in one transaction (random ids);
    /// returns the requests' addresses.
    pub async fn request_batch(&self, user: usize, count: u64) -> Vec<Pubkey> {
        let (keypair, wallet) = &self.users[user];
        let budget = ComputeBudget {
            unit_limit: Some(MAX_COMPUTE_UNITS),
            unit_price_micro_lamports: None,
        };
        let (requests, addresses): (Vec<_>, Vec<_>) =
            (0..count).map(|_| self.new_request(&wallet.key, 1)).unzip();
        send(&self.chain, &budget.apply(&requests), &[keypair]).await;
        addresses
    }

    /// `user`'s request of `amount` units under a random id (paying its own rent), and the
    /// request's address.
    fn new_request(
        &self,
        user: &Pubkey,
        amount: u64,
    ) -> (
        anchor_lang::solana_program::instruction::Instruction,
        Pubkey,
    ) {
        let id = allot_client::request_id::random();
        (
            instructions::exchange_request(user, user, &self.pool, id, amount),
            pdas::exchange_request(&self.pool, id),
        )
    }

    /// Writes a bridge config; returns its path.
    pub fn bridge_config(
        &self,
        name: &str,
        database_url: &str,
        payout: &str,
        poll_ms: u64,
        ws_url: &str,
    ) -> (PathBuf, u16) {
        self.bridge_config_via(name, database_url, payout, poll_ms, &self.url, ws_url)
    }

    /// [`Self::bridge_config`] with the bridge's JSON-RPC at `rpc_url` (a proxy, for outages).
    pub fn bridge_config_via(
        &self,
        name: &str,
        database_url: &str,
        payout: &str,
        poll_ms: u64,
        rpc_url: &str,
        ws_url: &str,
    ) -> (PathBuf, u16) {
        let endpoints = (rpc_url, ws_url);
        self.bridge_config_full(
            name,
            database_url,
            payout,
            poll_ms,
            endpoints,
            &self.operator.1,
        )
    }

    /// [`Self::bridge_config`] for a bridge signing with `settlement` instead of the operator
    /// (a pool's new settlement authority).
    pub fn bridge_config_signed_by(
        &self,
        name: &str,
        database_url: &str,
        payout: &str,
        settlement: &Wallet,
    ) -> (PathBuf, u16) {
        let endpoints = (self.url.as_str(), self.ws_url.as_str());
        self.bridge_config_full(name, database_url, payout, 500, endpoints, settlement)
    }

    /// A bridge config named `name` at `endpoints` (JSON-RPC, PubSub), signing with
    /// `settlement`; returns its path and metrics port.
    fn bridge_config_full(
        &self,
        name: &str,
        database_url: &str,
        payout: &str,
        poll_ms: u64,
        (rpc_url, ws_url): (&str, &str),
        settlement: &Wallet,
    ) -> (PathBuf, u16) {
        let metrics_port = free_port();
        let text = format!(
            "rpc_url = \"{rpc_url}\"\nws_url = \"{ws_url}\"\npools = [\"{}\"]\nsettlement_keypair = \"{}\"\n\
             database_url = \"{database_url}\"\nworker_name = \"{name}\"\n\
             metrics_addr = \"127.0.0.1:{metrics_port}\"\npoll_interval_ms = {poll_ms}\n{payout}",
            self.pool, settlement.file
        );
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        (path, metrics_port)
    }

    /// Waits until every request in `requests` is final on chain.
    pub async fn wait_settled(&self, requests: &[Pubkey], bridges: &mut [Bridge]) {
        // Four minutes, and a tenth of a second more for each request beyond the first thousand
        // (the bench's backlogs of 2,000 and 10,000).
        let allowed = Duration::from_secs(240)
            + Duration::from_millis(100)
                * u32::try_from(requests.len().saturating_sub(1_000)).unwrap();
        let deadline = Instant::now() + allowed;
        // Only those not yet settled are read again.
        let mut waiting: Vec<Pubkey> = requests.to_vec();
        loop {
            let states = accounts::fetch_many::<ExchangeRequest>(&self.chain, &waiting)
                .await
                .expect("requests read");
            waiting = waiting
                .into_iter()
                .zip(&states)
                .filter(|(_, r)| {
                    !r.as_ref()
                        .is_some_and(|r| r.status == RequestStatus::Settled)
                })
                .map(|(address, _)| address)
                .collect();
            if waiting.is_empty() {
                return;
            }
            for bridge in bridges.iter_mut() {
                if let Some(status) = bridge.child.try_wait().unwrap() {
                    panic!(
                        "the bridge exited ({status}) before settling:\n{}",
                        bridge.log_tail()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} of {} not settled in {allowed:?}: {:?}\n{}",
                waiting.len(),
                requests.len(),
                states
                    .iter()
                    .filter_map(|r| r.as_ref().map(|r| r.status))
                    .filter(|status| *status != RequestStatus::Settled)
                    .take(20)
                    .collect::<Vec<_>>(),
                bridges.first().map(Bridge::log_tail).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The `[payout]` table of a bridge paying over HTTP to the provider at `url`.
pub fn http_payout(url: &str) -> String {
    format!("[payout]\nkind = \"http\"\nurl = \"{url}\"\n")
}

/// `allot-bridge --config <config> status --json`, which must succeed.
pub fn bridge_status(config: &Path) -> serde_json::Value {
    let status = Command::new(env!("CARGO_BIN_EXE_allot-bridge"))
        .arg("--config")
        .arg(config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    serde_json::from_slice(&status.stdout).unwrap()
}

/// The number of the next bridge log kept in `ALLOT_BRIDGE_LOG_DIR`.
static NEXT_LOG: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A running `allot-bridge run`.
pub struct Bridge {
    pub child: Child,
    pub log: PathBuf,
}

impl Bridge {
    /// Starts a bridge on `config` (to abort at the crash point `crash_at`, if given), logging
    /// beside the config, or, when `ALLOT_BRIDGE_LOG_DIR` is set, in that directory (kept after
    /// the market's temporary one is deleted; named by process, order and config), at
    /// `ALLOT_BRIDGE_RUST_LOG` (default `info`; keep `allot_bridge` at `info` or more: tests wait
    /// for its lines).
    pub fn spawn(config: &Path, crash_at: Option<&str>) -> Self {
        let log = config.with_extension(format!("{}.log", crash_at.unwrap_or("run")));
        let log = match std::env::var_os("ALLOT_BRIDGE_LOG_DIR") {
            Some(dir) => {
                std::fs::create_dir_all(&dir).unwrap();
                let name = format!(
                    "{}-{}-{}",
                    std::process::id(),
                    NEXT_LOG.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    log.file_name().unwrap().to_string_lossy()
                );
                std::path::Path::new(&dir).join(name)
            }
            None => log,
        };
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_allot-bridge"));
        command
            .arg("--config")
            .arg(config)
            .arg("run")
            .env(
                "RUST_LOG",
                std::env::var("ALLOT_BRIDGE_RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .env_remove(CRASH_ENV)
            .stdout(Stdio::null())
            .stderr(file);
        if let Some(point) = crash_at {
            command.env(CRASH_ENV, point);
        }
        Self {
            child: command.spawn().expect("allot-bridge starts"),
            log,
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits for the process to abort at its crash point.
    pub async fn wait_crash(mut self, point: &str) {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(
                    status.signal(),
                    Some(6),
                    "expected an abort at {point}, got {status}:\n{}",
                    self.log_tail()
                );
                let log = std::fs::read_to_string(&self.log).unwrap();
                assert!(log.contains(&format!("{CRASH_ENV}={point}")), "{log}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the bridge never reached {point}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The CPU time the bridge process has used so far (all its threads, seconds); `None` once
    /// it has exited or off Linux.
    pub fn cpu_seconds(&self) -> Option<f64> {
        super::cpu::process_seconds(self.child.id())
    }

    /// The most memory the bridge process has held so far (its peak resident set, `VmHWM` in
    /// `/proc/<pid>/status`), in KiB; `None` once it has exited or off Linux.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit 30 s after SIGTERM:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use allot_bridge::test_support::ports::free_port;

/// What the operator's stablecoin treasury holds at the start: USD 1,000 in base units of a
/// 6-decimal coin.
pub const TREASURY_BASE_UNITS: u64 = 1_000_000_000;

/// Transactions [`Market::open_requests`] keeps in flight at once.
pub const OPENING_IN_FLIGHT: usize = 16;

/// Units each request [`Market::open_requests_each`] opens exchanges.
pub const UNITS_PER_REQUEST: u64 = 5;

/// Base units of the 6-decimal stablecoin per minor unit (cent) of the pool's USD quotes.
pub const BASE_UNITS_PER_CENT: u64 = 10_000;

/// A Token-2022 mint (6 decimals) with `owner` as authority and `amount` in `owner`'s account.
pub async fn create_stablecoin(chain: &RpcChain, owner: &Keypair, amount: u64) -> Pubkey {
    create_coin(chain, owner, amount, &TOKEN_2022, 6).await
}

/// A mint of `token_program` (SPL Token or Token-2022, no extensions) with `decimals`, `owner`
/// as authority and `amount` in `owner`'s associated account.
pub async fn create_coin(
    chain: &RpcChain,
    owner: &Keypair,
    amount: u64,
    token_program: &Pubkey,
    decimals: u8,
) -> Pubkey {
    use spl_associated_token_account_interface::instruction::create_associated_token_account;
    let mint = Keypair::new();
    let space = spl_token_2022_interface::extension::ExtensionType::try_calculate_account_len::<
        spl_token_2022_interface::state::Mint,
    >(&[])
    .unwrap();
    let lamports = chain
        .client()
        .get_minimum_balance_for_rent_exemption(space)
        .await
        .unwrap();
    let create = anchor_lang::solana_program::system_instruction::create_account(
        &owner.pubkey(),
        &mint.pubkey(),
        lamports,
        space as u64,
        token_program,
    );
    let init = token_ix::initialize_mint2(
        token_program,
        &mint.pubkey(),
        &owner.pubkey(),
        None,
        decimals,
    )
    .unwrap();
    let treasury =
        allot_client::token::associated_account(&owner.pubkey(), &mint.pubkey(), token_program);
    let account = create_associated_token_account(
        &owner.pubkey(),
        &owner.pubkey(),
        &mint.pubkey(),
        token_program,
    );
    let fund = token_ix::mint_to(
        token_program,
        &mint.pubkey(),
        &treasury,
        &owner.pubkey(),
        &[],
        amount,
    )
    .unwrap();
    send(chain, &[create, init, account, fund], &[owner, &mint]).await;
    mint.pubkey()
}

pub async fn send(
    chain: &RpcChain,
    instructions: &[anchor_lang::solana_program::instruction::Instruction],
    signers: &[&Keypair],
) -> solana_sdk::signature::Signature {
    let blockhash = chain.latest_blockhash().await.unwrap();
    let transaction = Transaction::new_signed_with_payer(
        instructions,
        Some(&signers[0].pubkey()),
        signers,
        blockhash,
    );
    chain
        .send(VersionedTransaction::from(transaction))
        .await
        .expect("transaction lands")
}

/// The token balance of `owner`'s Token-2022 account of `mint` (0 when it has none).
pub async fn balance(chain: &RpcChain, owner: &Pubkey, mint: &Pubkey) -> u64 {
    balance_in(chain, owner, mint, &TOKEN_2022).await
}

/// The token balance of `owner`'s associated account of `mint` under `token_program` (0 when it
/// has none).
pub async fn balance_in(
    chain: &RpcChain,
    owner: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
) -> u64 {
    let address = allot_client::token::associated_account(owner, mint, token_program);
    match chain.client().get_token_account_balance(&address).await {
        Ok(amount) => amount.amount.parse().unwrap(),
        Err(_) => 0,
    }
}

/// GET `path` from a bridge's metrics endpoint on `port`: its status and body. Waits (up to a
/// minute) for the endpoint to listen: a bridge just spawned opens its store and checks its pools
/// first (on PostgreSQL long enough for a test that found the requests settled by an earlier
/// bridge to ask too soon: CI, stops 34 and 35).
pub async fn scrape(port: u16, path: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port} after a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = super::http(port, "GET", path, &[], None).await;
    (answer.status, answer.body)
}

/// Waits (up to a minute) until the bridge on `port` says it is ready (`/healthz` 200: a pass
/// ended recently).
pub async fn wait_healthy(port: u16) {
    scrape_until(port, "/healthz", "not ready", |status, _| status == 200).await;
}

/// Scrapes `path` on `port` every 250 ms until `done(status, body)`, for up to a minute (then
/// panics saying `what`); the last body.
async fn scrape_until(
    port: u16,
    path: &str,
    what: &str,
    done: impl Fn(u16, &str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = scrape(port, path).await;
        if done(status, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what} after a minute ({path} answered {status}):\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The value of `metric` (exact series text, e.g. `name{label="x"}`) in an exposition.
pub fn metric(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// A TCP proxy that can freeze its open connections (half-open: nothing moves, nothing closes)
/// while new ones pass, or cut everything (open connections closed, new ones closed at once:
/// what a client sees of a node that is down) until restored.
pub struct Proxy {
    pub port: u16,
    generation: Arc<AtomicU64>,
    down: Arc<AtomicBool>,
    cuts: Arc<watch::Sender<u64>>,
}

impl Proxy {
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let generation = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(watch::channel(0).0);
        let (current, is_down, cut) = (generation.clone(), down.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let born = current.load(Ordering::SeqCst);
                tokio::spawn(pipe(client, server, born, current.clone(), cut.subscribe()));
            }
        });
        Self {
            port,
            generation,
            down,
            cuts,
        }
    }

    /// Freezes every connection open now.
    pub fn freeze(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Closes every open connection and every new one until [`Self::restore`].
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// Passes new connections again after [`Self::cut`].
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// Copies both ways while the connection's generation is current; then holds it open, silent.
/// A cut closes it.
async fn pipe(
    client: TcpStream,
    server: TcpStream,
    born: u64,
    live: Arc<AtomicU64>,
    mut cut: watch::Receiver<u64>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let frozen = || live.load(Ordering::SeqCst) != born;
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            _ = cut.changed() => return,
            read = client_read.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) if !frozen() => { if server_write.write_all(&up[..n]).await.is_err() { return } }
                Ok(_) => {}
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) if !frozen() => { if client_write.write_all(&down[..n]).await.is_err() { return } }
                Ok(_) => {}
            },
        }
        if frozen() {
            // Half-open: keep both sockets, move nothing; only a cut closes them.
            let _ = cut.changed().await;
            return;
        }
    }
}

/// Waits until the bridge's `/metrics` on `port` shows `series` passing `check`; returns the
/// exposition.
pub async fn wait_metric(port: u16, series: &str, check: impl Fn(f64) -> bool) -> String {
    let what = format!("{series} never passed the check");
    scrape_until(port, "/metrics", &what, |_, exposition| {
        metric(exposition, series).is_some_and(&check)
    })
    .await
}

/// A program that is not allot and forges allot events: invoked with an event's bytes, it
/// self-invokes with allot's event-CPI tag in front — an inner instruction that carries allot's
/// discriminator and payload but comes from another program.
pub const FORGER_ID: Pubkey = Pubkey::new_from_array([7; 32]);

fn forger_entry(
    program_id: &Pubkey,
    accounts: &[anchor_lang::prelude::AccountInfo],
    data: &[u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    use anchor_lang::event::EVENT_IX_TAG_LE;
    if data.starts_with(EVENT_IX_TAG_LE) {
        return Ok(());
    }
    let mut forged = EVENT_IX_TAG_LE.to_vec();
    forged.extend_from_slice(data);
    let inner = anchor_lang::solana_program::instruction::Instruction::new_with_bytes(
        *program_id,
        &forged,
        vec![anchor_lang::solana_program::instruction::AccountMeta::new_readonly(allot::ID, false)],
    );
    anchor_lang::solana_program::program::invoke(&inner, accounts)
}

/// Sends a transaction that mentions allot and carries a forged `ExchangeRequested` for
/// `event`'s request; returns its signature.
pub async fn send_forged_event(
    chain: &RpcChain,
    payer: &Keypair,
    event: &allot::events::ExchangeRequested,
) -> solana_sdk::signature::Signature {
    use anchor_lang::Event as _;
    use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
    let instruction = Instruction::new_with_bytes(
        FORGER_ID,
        &event.data(),
        vec![
            AccountMeta::new_readonly(allot::ID, false),
            AccountMeta::new_readonly(FORGER_ID, false),
        ],
    );
    send(chain, &[instruction], &[payer]).await
}
