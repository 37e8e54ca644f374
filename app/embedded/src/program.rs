//! [`Embedded`]: a fresh in-process chain running allot natively, with a funded payer and a
//! clock that can be moved forward.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use solana_program_test::{ProgramTest, ProgramTestContext, processor};
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
    /// The program-test context (bank, banks client, genesis payer).
    pub ctx: ProgramTestContext,
    /// Every account key a landed transaction named (the embedded `getProgramAccounts` index).
    pub touched: Touched,
}

impl Embedded {
    /// Starts a fresh chain with the allot program registered natively.
    pub async fn start() -> Self {
        let mut program_test = ProgramTest::default();
        program_test.prefer_bpf(false);
        program_test.add_program("allot", allot::ID, processor!(native_entry));
        Self {
            ctx: program_test.start_with_context().await,
            touched: Touched::default(),
        }
    }

    /// The genesis key, funded with plenty of SOL: the faucet of the embedded chain.
    pub fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    /// A [`allot_client::chain::Chain`] view of this chain (shares the account index).
    pub fn chain(&self) -> EmbeddedChain {
        EmbeddedChain::new(self.ctx.banks_client.clone(), self.touched.clone())
    }

    /// The current clock.
    pub async fn clock(&self) -> Clock {
        self.ctx
            .banks_client
            .clone()
            .get_sysvar::<Clock>()
            .await
            .expect("the clock sysvar is readable")
    }

    /// Moves the clock's unix time forward by `seconds`.
    pub async fn advance_time(&self, seconds: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp = clock.unix_timestamp.saturating_add(seconds);
        self.ctx.set_sysvar(&clock);
    }
}
