//! [`Counting`]: a [`Chain`] that counts the transactions sent through it (for the main job's
//! report and the benchmarks).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use allot_client::chain::{AccountFilter, Chain, ChainError};
use anchor_lang::prelude::Pubkey;
use solana_sdk::account::Account;
use solana_sdk::hash::Hash;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::VersionedTransaction;

/// Wraps a chain and counts landed and failed transactions.
#[derive(Clone)]
pub struct Counting<C> {
    inner: C,
    landed: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl<C> Counting<C> {
    /// Counts what is sent through `inner`.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            landed: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// Transactions that landed so far.
    pub fn landed(&self) -> u64 {
        self.landed.load(Ordering::Relaxed)
    }

    /// Transactions that failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

impl<C: Chain> Chain for Counting<C> {
    async fn account(&self, address: Pubkey) -> Result<Option<Account>, ChainError> {
        self.inner.account(address).await
    }

    async fn accounts(&self, addresses: Vec<Pubkey>) -> Result<Vec<Option<Account>>, ChainError> {
        self.inner.accounts(addresses).await
    }

    async fn program_accounts(
        &self,
        program: Pubkey,
        filters: Vec<AccountFilter>,
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        self.inner.program_accounts(program, filters).await
    }

    async fn latest_blockhash(&self) -> Result<Hash, ChainError> {
        self.inner.latest_blockhash().await
    }

    async fn recent_slot(&self) -> Result<u64, ChainError> {
        self.inner.recent_slot().await
    }

    async fn wait_for_next_slot(&self) -> Result<(), ChainError> {
        self.inner.wait_for_next_slot().await
    }

    async fn simulated_units(
        &self,
        transaction: VersionedTransaction,
    ) -> Result<Option<u64>, ChainError> {
        self.inner.simulated_units(transaction).await
    }

    async fn unix_timestamp(&self) -> Result<i64, ChainError> {
        self.inner.unix_timestamp().await
    }

    async fn send(&self, transaction: VersionedTransaction) -> Result<Signature, ChainError> {
        let result = self.inner.send(transaction).await;
        let counter = if result.is_ok() {
            &self.landed
        } else {
            &self.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }
}
