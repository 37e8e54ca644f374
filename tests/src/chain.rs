//! [`TestChain`]: an in-process chain that sends transactions, decodes their events and controls
//! the clock.

use allot_client::events::{AllotEvent, decode_cpi_event};

use allot_embedded::{Embedded, EmbeddedChain};
use anchor_lang::AccountDeserialize;
use anchor_lang::prelude::Pubkey;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_program_test::BanksClient;
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};

/// Why a transaction failed: the runtime's error and the program logs.
#[derive(Debug)]
pub struct TxFailure {
    /// The transaction error.
    pub error: TransactionError,
    /// The logs up to the failure.
    pub logs: Vec<String>,
}

impl TxFailure {
    /// The custom program error code (Anchor or allot), if the failure carries one.
    pub fn custom_code(&self) -> Option<u32> {
        match &self.error {
            TransactionError::InstructionError(
                _,
                solana_sdk::instruction::InstructionError::Custom(code),
            ) => Some(*code),
            _ => None,
        }
    }
}

/// An in-process chain running allot natively.
pub struct TestChain {
    /// The chain.
    embedded: Embedded,
    /// A client of its bank.
    banks: BanksClient,
    /// Makes otherwise identical transactions distinct (a compute-unit limit that changes).
    nonce: u32,
}

impl TestChain {
    /// Starts a fresh chain with the allot program registered.
    pub async fn start() -> Self {
        let embedded = Embedded::start().await;
        Self {
            banks: embedded.banks(),
            embedded,
            nonce: 0,
        }
    }

    /// The funded key that pays fees (and, in most tests, acts as creator/operator).
    pub fn payer(&self) -> &Keypair {
        self.embedded.payer()
    }

    /// Sends `instructions` signed by the fee payer and `signers`. On success returns the allot
    /// events the transaction emitted, decoded from its inner instructions; on failure, the error
    /// and logs (nothing is committed).
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<AllotEvent>, TxFailure> {
        self.nonce += 1;
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(
            1_000_000 + self.nonce,
        )];
        all.extend_from_slice(instructions);
        let blockhash = self.banks.get_latest_blockhash().await.unwrap();
        let mut keys: Vec<&Keypair> = vec![self.embedded.payer()];
        keys.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(
            &all,
            Some(&self.embedded.payer().pubkey()),
            &keys,
            blockhash,
        );
        let simulation = self
            .banks
            .simulate_transaction(tx.clone())
            .await
            .expect("simulation reaches the bank");
        let details = simulation.simulation_details.expect("simulation details");
        if let Some(Err(error)) = simulation.result {
            // Land the failing transaction for real too, so tests that compare state before and
            // after see what a cluster would keep (fees charged, nothing else).
            let landed = self.banks.process_transaction(tx).await;
            assert!(
                landed.is_err(),
                "a transaction that failed simulation also fails when processed"
            );
            return Err(TxFailure {
                error,
                logs: details.logs,
            });
        }
        let keys = &tx.message.account_keys;
        let events = details
            .inner_instructions
            .unwrap_or_default()
            .iter()
            .flatten()
            .filter_map(|inner| {
                let ix = &inner.instruction;
                let first = ix.accounts.first().map(|i| &keys[usize::from(*i)]);
                decode_cpi_event(&keys[usize::from(ix.program_id_index)], first, &ix.data)
            })
            .collect::<Result<Vec<_>, _>>()
            .expect("every allot event decodes");
        self.embedded.touched().record(&tx.message.account_keys);
        self.banks
            .process_transaction(tx)
            .await
            .expect("a transaction that simulated cleanly also lands");
        Ok(events)
    }

    /// Sends `instructions` like [`TestChain::send`], which must land: returns their events, or
    /// panics with the refusal and its logs.
    pub async fn send_ok(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Vec<AllotEvent> {
        match self.send(instructions, signers).await {
            Ok(events) => events,
            Err(failure) => panic!(
                "expected the transaction to land, refused with {:?}; logs: {:#?}",
                failure.error, failure.logs
            ),
        }
    }

    /// A [`allot_client::chain::Chain`] view of this chain, for code written against the
    /// client library's chain access (it shares the account index with this harness).
    pub fn embedded(&self) -> EmbeddedChain {
        self.embedded.chain()
    }

    /// Raw account, if it exists.
    pub async fn account(&mut self, address: Pubkey) -> Option<Account> {
        self.banks.get_account(address).await.unwrap()
    }

    /// Decodes an Anchor account of the program.
    pub async fn fetch<T: AccountDeserialize>(&mut self, address: Pubkey) -> T {
        let account = self
            .account(address)
            .await
            .unwrap_or_else(|| panic!("account {address} exists"));
        T::try_deserialize(&mut account.data.as_slice()).expect("account decodes")
    }

    /// Token amount of a (Token-2022) token account; 0 when it does not exist.
    pub async fn token_balance(&mut self, address: Pubkey) -> u64 {
        match self.account(address).await {
            Some(account) => allot_client::token::amount_base_units(&account.data)
                .unwrap_or_else(|| panic!("{address} is not a token account")),
            None => 0,
        }
    }

    /// Supply of a (Token-2022) mint.
    pub async fn mint_supply(&mut self, mint: Pubkey) -> u64 {
        let account = self.account(mint).await.expect("mint exists");
        u64::from_le_bytes(account.data[36..44].try_into().unwrap())
    }

    /// The current clock.
    pub async fn clock(&mut self) -> Clock {
        self.banks.get_sysvar::<Clock>().await.unwrap()
    }

    /// The rent sysvar.
    pub async fn rent(&mut self) -> anchor_lang::prelude::Rent {
        self.banks.get_rent().await.unwrap()
    }

    /// Moves the clock's unix time forward by `seconds`.
    pub async fn advance_time(&mut self, seconds: i64) {
        self.embedded.advance_time(seconds).await;
    }

    /// Writes an arbitrary account (to plant forged accounts in attack tests).
    pub fn set_account(&mut self, address: Pubkey, account: Account) {
        self.embedded.set_account(&address, account);
    }

    /// A new key funded with `lamports`.
    pub async fn funded_keypair(&mut self, lamports: u64) -> Keypair {
        let key = Keypair::new();
        let ix = anchor_lang::solana_program::system_instruction::transfer(
            &self.embedded.payer().pubkey(),
            &key.pubkey(),
            lamports,
        );
        self.send_ok(&[ix], &[]).await;
        key
    }

    /// Sends `instructions` expecting them to be refused with custom error `code`, and checks that
    /// none of the `watched` accounts changed. Returns the failure for further assertions.
    pub async fn expect_refused(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        code: impl Into<u32>,
        watched: &[Pubkey],
    ) -> TxFailure {
        let code = code.into();
        let before = self.snapshot(watched).await;
        let failure = match self.send(instructions, signers).await {
            Ok(events) => panic!("expected error {code}, but the transaction landed: {events:?}"),
            Err(failure) => failure,
        };
        assert_eq!(
            failure.custom_code(),
            Some(code),
            "expected error {code}, got {:?}; logs: {:#?}",
            failure.error,
            failure.logs
        );
        assert_eq!(
            self.snapshot(watched).await,
            before,
            "a refused transaction changed state"
        );
        failure
    }

    /// The accounts at `addresses`, for asserting that a refused transaction changed nothing.
    pub async fn snapshot(&mut self, addresses: &[Pubkey]) -> Vec<Option<Account>> {
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            out.push(self.account(*address).await);
        }
        out
    }
}
