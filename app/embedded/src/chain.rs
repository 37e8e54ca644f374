//! [`EmbeddedChain`]: the client library's [`Chain`] over the in-process chain, so code written
//! for a cluster (scans, crank, CLI) runs unchanged against the embedded runtime.
//!
//! `BanksClient` has no `getProgramAccounts`; the embedded chain answers it from an index of
//! every account key that landed transactions named (every account a program can create or
//! write must appear in its transaction), re-reading each account and applying the filters
//! exactly as a validator does.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use allot_client::chain::{AccountFilter, Chain, ChainError};
use anchor_lang::prelude::Pubkey;
use solana_program_test::{BanksClient, BanksClientError};
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::hash::Hash;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::VersionedTransaction;

/// The set of account keys named by landed transactions.
#[derive(Clone, Default)]
pub struct Touched(Arc<Mutex<BTreeSet<Pubkey>>>);

impl Touched {
    /// Adds `keys` to the index.
    pub fn record(&self, keys: &[Pubkey]) {
        self.0
            .lock()
            .expect("index lock")
            .extend(keys.iter().copied());
    }

    fn snapshot(&self) -> Vec<Pubkey> {
        self.0.lock().expect("index lock").iter().copied().collect()
    }
}

/// The in-process chain seen through the client library's [`Chain`] trait.
#[derive(Clone)]
pub struct EmbeddedChain {
    banks: BanksClient,
    touched: Touched,
}

impl EmbeddedChain {
    /// The chain seen through `banks`, indexing landed transactions' keys into `touched`.
    pub fn new(banks: BanksClient, touched: Touched) -> Self {
        Self { banks, touched }
    }
}

fn request_error(method: &'static str) -> impl Fn(BanksClientError) -> ChainError {
    move |error| match error {
        BanksClientError::TransactionError(error) => ChainError::Transaction {
            error,
            logs: Vec::new(),
        },
        BanksClientError::SimulationError { err, logs, .. } => {
            ChainError::Transaction { error: err, logs }
        }
        other => ChainError::Request {
            method,
            reason: other.to_string(),
        },
    }
}

impl Chain for EmbeddedChain {
    async fn account(&self, address: Pubkey) -> Result<Option<Account>, ChainError> {
        self.banks
            .get_account(address)
            .await
            .map_err(request_error("getAccountInfo"))
    }

    async fn accounts(&self, addresses: Vec<Pubkey>) -> Result<Vec<Option<Account>>, ChainError> {
        let mut found = Vec::with_capacity(addresses.len());
        for address in addresses {
            found.push(self.account(address).await?);
        }
        Ok(found)
    }

    async fn program_accounts(
        &self,
        program: Pubkey,
        filters: Vec<AccountFilter>,
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let mut found = Vec::new();
        for address in self.touched.snapshot() {
            if let Some(account) = self.account(address).await?
                && account.owner == program
                && filters.iter().all(|f| f.matches(&account.data))
            {
                found.push((address, account));
            }
        }
        Ok(found)
    }

    async fn latest_blockhash(&self) -> Result<Hash, ChainError> {
        self.banks
            .get_latest_blockhash()
            .await
            .map_err(request_error("getLatestBlockhash"))
    }

    async fn unix_timestamp(&self) -> Result<i64, ChainError> {
        let clock: Clock = self
            .banks
            .get_sysvar()
            .await
            .map_err(request_error("getAccountInfo"))?;
        Ok(clock.unix_timestamp)
    }

    async fn send(&self, transaction: VersionedTransaction) -> Result<Signature, ChainError> {
        let signature = transaction.signatures[0];
        let keys = transaction.message.static_account_keys().to_vec();
        self.banks
            .process_transaction(transaction)
            .await
            .map_err(request_error("sendTransaction"))?;
        self.touched.record(&keys);
        Ok(signature)
    }
}
