//! [`Embedded`]: a fresh in-process chain running allot natively, with a funded payer and a
//! clock that can be moved forward.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use std::sync::{Arc, Mutex};

use solana_program_test::{BanksClient, ProgramTest, ProgramTestContext, processor};
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::signature::Keypair;

use crate::chain::{EmbeddedChain, Touched};

/// Anchor's `entry` ties the accounts' lifetimes together more tightly than `processor!` can
/// express; this wrapper widens the slice's lifetime for the native processor.
fn native_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // SAFETY: the runtime keeps the accounts alive for the whole invocation; only the lifetime
    // parameter is widened, the layout is identical.
    #[allow(unsafe_code)]
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    allot::entry(program_id, accounts, data)
}

/// A running in-process chain with the allot program.
pub struct Embedded {
    /// The program-test context, shared with the chain views that advance slots.
    ctx: Arc<Mutex<ProgramTestContext>>,
    /// A client of the bank.
    banks: BanksClient,
    /// The genesis payer.
    payer: Keypair,
    /// Every account key a landed transaction named (the embedded `getProgramAccounts` index).
    touched: Touched,
}

/// Moves the embedded chain to later slots (a cluster does this by itself).
#[derive(Clone)]
pub struct SlotControl(Arc<Mutex<ProgramTestContext>>);

impl SlotControl {
    /// Warps the bank to `slot` (a no-op error if it is not in the future).
    pub fn warp_to(&self, slot: u64) -> Result<(), String> {
        self.0
            .lock()
            .map_err(|_| "the chain's context lock is poisoned".to_string())?
            .warp_to_slot(slot)
            .map_err(|e| format!("cannot warp to slot {slot}: {e:?}"))
    }
}

impl Embedded {
    /// Starts a fresh chain with the allot program registered natively.
    pub async fn start() -> Self {
        let mut program_test = ProgramTest::default();
        // `ProgramTest::default()` logs every instruction at DEBUG when RUST_LOG is unset
        // (thousands of lines for the main job); warnings only, unless RUST_LOG asks for more.
        agave_logger::setup_with_default("warn,tarpc=error,solana_metrics=error");
        program_test.prefer_bpf(false);
        program_test.add_program("allot", allot::ID, processor!(native_entry));
        let ctx = program_test.start_with_context().await;
        Self {
            banks: ctx.banks_client.clone(),
            payer: ctx.payer.insecure_clone(),
            ctx: Arc::new(Mutex::new(ctx)),
            touched: Touched::default(),
        }
    }

    /// The genesis key, funded with plenty of SOL: the faucet of the embedded chain.
    pub fn payer(&self) -> &Keypair {
        &self.payer
    }

    /// A client of the bank.
    pub fn banks(&self) -> BanksClient {
        self.banks.clone()
    }

    /// The account index shared by every chain view.
    pub fn touched(&self) -> Touched {
        self.touched.clone()
    }

    /// A [`allot_client::chain::Chain`] view of this chain (shares the account index and can
    /// advance slots, as a cluster does, when a client waits for one).
    pub fn chain(&self) -> EmbeddedChain {
        EmbeddedChain::new(self.banks(), self.touched()).with_slots(SlotControl(self.ctx.clone()))
    }

    /// The current clock.
    pub async fn clock(&self) -> Clock {
        self.banks
            .clone()
            .get_sysvar::<Clock>()
            .await
            .expect("the clock sysvar is readable")
    }

    /// Moves the clock's unix time forward by `seconds`.
    pub async fn advance_time(&self, seconds: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp = clock.unix_timestamp.saturating_add(seconds);
        self.lock().set_sysvar(&clock);
    }

    /// Writes an arbitrary account (to plant forged accounts in attack tests, or another
    /// program's accounts such as SAS attestations); `program_accounts` lists it from then on.
    pub fn set_account(&self, address: &Pubkey, account: Account) {
        self.lock().set_account(address, &account.into());
        self.touched.record(&[*address]);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProgramTestContext> {
        self.ctx
            .lock()
            .expect("the chain's context lock is not poisoned")
    }
}
