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
use solana_address_lookup_table_interface::state::AddressLookupTable;
use solana_program_test::{BanksClient, BanksClientError};

use crate::program::SlotControl;
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
    slots: Option<SlotControl>,
}

impl EmbeddedChain {
    /// The chain seen through `banks`, indexing landed transactions' keys into `touched`.
    pub fn new(banks: BanksClient, touched: Touched) -> Self {
        Self {
            banks,
            touched,
            slots: None,
        }
    }

    /// Lets [`Chain::wait_for_next_slot`] advance the bank (an in-process bank does not move by
    /// itself).
    pub fn with_slots(mut self, slots: SlotControl) -> Self {
        self.slots = Some(slots);
        self
    }

    /// Every key `transaction` names: its static keys and those it loads from lookup tables.
    async fn keys_of(&self, transaction: &VersionedTransaction) -> Result<Vec<Pubkey>, ChainError> {
        let mut keys = transaction.message.static_account_keys().to_vec();
        for lookup in transaction
            .message
            .address_table_lookups()
            .unwrap_or_default()
        {
            let Some(table) = self.account(lookup.account_key).await? else {
                continue;
            };
            let Ok(table) = AddressLookupTable::deserialize(&table.data) else {
                continue;
            };
            let indexes = lookup
                .writable_indexes
                .iter()
                .chain(&lookup.readonly_indexes);
            keys.extend(indexes.filter_map(|i| table.addresses.get(usize::from(*i)).copied()));
        }
        Ok(keys)
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

    async fn recent_slot(&self) -> Result<u64, ChainError> {
        // The working bank's parent: in its `SlotHashes`, as a cluster's finalized slot is.
        let slot = self
            .banks
            .get_root_slot()
            .await
            .map_err(request_error("getSlot"))?;
        Ok(slot.saturating_sub(1))
    }

    async fn wait_for_next_slot(&self) -> Result<(), ChainError> {
        let slots = self.slots.as_ref().ok_or(ChainError::Request {
            method: "getSlot",
            reason: "this embedded chain view cannot advance slots".into(),
        })?;
        let slot = self
            .banks
            .get_root_slot()
            .await
            .map_err(request_error("getSlot"))?;
        slots
            .warp_to(slot.saturating_add(1))
            .map_err(|reason| ChainError::Request {
                method: "getSlot",
                reason,
            })
    }

    async fn simulated_units(
        &self,
        transaction: VersionedTransaction,
    ) -> Result<Option<u64>, ChainError> {
        let simulation = self
            .banks
            .simulate_transaction(transaction)
            .await
            .map_err(request_error("simulateTransaction"))?;
        Ok(match simulation.result {
            Some(Ok(())) => simulation
                .simulation_details
                .map(|details| details.units_consumed),
            _ => None,
        })
    }

    async fn send(&self, transaction: VersionedTransaction) -> Result<Signature, ChainError> {
        let signature = transaction.signatures[0];
        let keys = self.keys_of(&transaction).await?;
        self.banks
            .process_transaction(transaction)
            .await
            .map_err(request_error("sendTransaction"))?;
        self.touched.record(&keys);
        Ok(signature)
    }
}
