//! Starting the validator with allot registered as a native builtin.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anyhow::{Context, Result, anyhow};
use solana_account::{Account, AccountSharedData};
use solana_faucet::faucet::{LocalFaucetConfig, run_local_faucet_with_config};
use solana_keypair::Keypair;
use solana_net_utils::SocketAddrSpace;
use solana_program_runtime::invoke_context::BuiltinFunctionRegisterer;
use solana_program_runtime::program_cache_entry::ProgramCacheEntry;
use solana_rpc::rpc::JsonRpcConfig;
use solana_signer::Signer;
use solana_test_validator::{TestValidator, TestValidatorGenesis};

thread_local! {
    /// How deep this thread is inside allot invocations (self-CPIs nest).
    static INSIDE_ALLOT: Cell<u32> = const { Cell::new(0) };
}

/// Marks the thread as running allot until dropped (also on unwind).
struct Invocation;

impl Invocation {
    fn enter() -> Self {
        INSIDE_ALLOT.with(|depth| depth.set(depth.get().saturating_add(1)));
        Invocation
    }
}

impl Drop for Invocation {
    fn drop(&mut self) {
        INSIDE_ALLOT.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// `msg!` inside allot goes to the transaction's program log through the syscall stubs;
/// anywhere else it prints as upstream does.
fn route_log(message: &str) -> bool {
    if INSIDE_ALLOT.with(Cell::get) == 0 {
        return false;
    }
    solana_sysvar::program_stubs::sol_log(message);
    true
}

/// Anchor's `entry` ties the accounts' lifetimes together more tightly than `processor!` can
/// express; this wrapper widens the slice's lifetime for the native processor.
fn native_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let _inside = Invocation::enter();
    // SAFETY: the runtime keeps the accounts alive for the whole invocation; only the lifetime
    // parameter is widened, the layout is identical.
    #[allow(unsafe_code)]
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    allot::entry(program_id, accounts, data)
}

/// Where the validator listens and what it starts with.
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
    /// JSON-RPC port (PubSub is the next one).
    pub rpc_port: u16,
    /// Faucet port (`requestAirdrop`).
    pub faucet_port: u16,
    /// Keys funded at genesis with `prefund_lamports` each.
    pub prefund: Vec<Pubkey>,
    /// Lamports given to each prefunded key.
    pub prefund_lamports: u64,
    /// Native programs registered beside allot (the bridge suite runs one that forges events).
    pub extra_builtins: Vec<ExtraBuiltin>,
    /// Accounts written at genesis as they are, e.g. those of a program that does not run here
    /// (the page suite's SAS issuer, schema and attestation, which allot only reads).
    pub genesis_accounts: Vec<(Pubkey, Account)>,
}

/// A native program to register beside allot.
#[derive(Clone, Debug)]
pub struct ExtraBuiltin {
    /// Its program id.
    pub id: Pubkey,
    /// Its name in the program cache.
    pub name: &'static str,
    /// Its entry, from `solana_program_test::processor!`.
    pub register: BuiltinFunctionRegisterer,
}

impl Default for LocalnetConfig {
    fn default() -> Self {
        Self {
            rpc_port: 8899,
            faucet_port: 9900,
            prefund: Vec::new(),
            prefund_lamports: 1_000_000_000_000,
            extra_builtins: Vec::new(),
            genesis_accounts: Vec::new(),
        }
    }
}

/// A running localnet.
pub struct Localnet {
    /// The validator (stops when dropped).
    pub validator: TestValidator,
    /// The genesis mint key: funded, and the faucet's source.
    pub mint: Keypair,
    /// The faucet's address.
    pub faucet: SocketAddr,
}

impl Localnet {
    /// Starts the validator and registers allot on every bank.
    pub async fn start(config: LocalnetConfig) -> Result<Self> {
        // program-test 4.2.2 installs its syscall stubs when it first sets up a bank; start a
        // throwaway one, then move the stubs to where the native program calls them.
        drop(solana_program_test::ProgramTest::default().start().await);
        crate::stubs::install();
        // Ignore a second start in one process: the hook is already in place.
        let _ = solana_msg::HOST_LOG.set(route_log);
        let mint = Keypair::new();
        let faucet = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), config.faucet_port);
        let (sender, receiver) = crossbeam_channel::bounded(1);
        run_local_faucet_with_config(
            sender,
            LocalFaucetConfig {
                keypair: mint.insecure_clone(),
                address: Ipv4Addr::LOCALHOST,
                port: config.faucet_port,
                time_input: None,
                per_time_cap: None,
                per_request_cap: None,
            },
        );
        receiver
            .recv_timeout(Duration::from_secs(10))
            .context("the faucet did not start")?
            .map_err(|e| anyhow!("the faucet did not start: {e}"))?;

        let mut genesis = TestValidatorGenesis::default();
        // The program account: executable, owned by the native loader, as builtins are.
        genesis.add_account(
            allot::ID,
            AccountSharedData::from(Account {
                lamports: 1_000_000_000,
                data: b"allot".to_vec(),
                owner: solana_sdk_ids::native_loader::id(),
                executable: true,
                rent_epoch: 0,
            }),
        );
        for extra in &config.extra_builtins {
            genesis.add_account(
                extra.id,
                AccountSharedData::from(Account {
                    lamports: 1_000_000_000,
                    data: extra.name.as_bytes().to_vec(),
                    owner: solana_sdk_ids::native_loader::id(),
                    executable: true,
                    rent_epoch: 0,
                }),
            );
        }
        for key in &config.prefund {
            genesis.add_account(
                *key,
                AccountSharedData::new(
                    config.prefund_lamports,
                    0,
                    &solana_sdk_ids::system_program::id(),
                ),
            );
        }
        for (address, account) in &config.genesis_accounts {
            genesis.add_account(*address, AccountSharedData::from(account.clone()));
        }
        genesis
            .rpc_port(config.rpc_port)
            .faucet_addr(Some(faucet))
            .rpc_config(JsonRpcConfig {
                enable_rpc_transaction_history: true,
                // Keep inner instructions (the events), logs and return data in the history,
                // as an RPC node that serves `getTransaction` to a bridge must.
                enable_extended_tx_metadata_storage: true,
                faucet_addr: Some(faucet),
                ..JsonRpcConfig::default_for_test()
            });
        let validator = genesis
            .start_async_with_mint_address(&mint, SocketAddrSpace::new(true))
            .await
            .map_err(|e| anyhow!("the validator did not start: {e}"))?;
        let localnet = Self {
            validator,
            mint,
            faucet,
        };
        localnet.register_builtins(&config.extra_builtins).await;
        Ok(localnet)
    }

    /// Registers allot (and `extra`) as builtins on every bank, a few times over a second: banks
    /// that exist when one is registered do not inherit it from each other; banks created later
    /// do.
    async fn register_builtins(&self, extra: &[ExtraBuiltin]) {
        let register = solana_program_test::processor!(native_entry)
            .expect("processor! always yields a builtin");
        let mut builtins: Vec<(Pubkey, &str, BuiltinFunctionRegisterer)> =
            vec![(allot::ID, "allot", register)];
        builtins.extend(extra.iter().map(|e| (e.id, e.name, e.register)));
        for _ in 0..4 {
            let banks: Vec<_> = self
                .validator
                .bank_forks()
                .read()
                .expect("bank forks lock")
                .banks()
                .values()
                .map(|bank| bank.clone_without_scheduler())
                .collect();
            for bank in banks {
                for (id, name, register) in &builtins {
                    bank.add_builtin(
                        *id,
                        name,
                        ProgramCacheEntry::new_builtin(0, name.len(), *register),
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        self.validator.rpc_url()
    }

    /// The PubSub (websocket) URL.
    pub fn pubsub_url(&self) -> String {
        self.validator.rpc_pubsub_url()
    }

    /// The genesis key's public key.
    pub fn mint_pubkey(&self) -> Pubkey {
        self.mint.pubkey()
    }
}
