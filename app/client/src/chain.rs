//! Chain access behind one trait, so the same client code runs against a cluster over JSON-RPC
//! ([`crate::rpc_chain::RpcChain`]) and against the embedded in-process chain.

use std::future::Future;

use anchor_lang::prelude::Pubkey;
use solana_sdk::account::Account;
use solana_sdk::hash::Hash;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::{TransactionError, VersionedTransaction};

use crate::errors;

/// A filter on program accounts, as `getProgramAccounts` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountFilter {
    /// The account's data is exactly this many bytes.
    DataSize(u64),
    /// The account's data holds `bytes` at `offset`.
    Memcmp {
        /// Byte offset into the account data.
        offset: usize,
        /// The bytes expected there.
        bytes: Vec<u8>,
    },
}

impl AccountFilter {
    /// Whether `data` passes this filter (what a validator checks for `getProgramAccounts`).
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            AccountFilter::DataSize(size) => data.len() as u64 == *size,
            AccountFilter::Memcmp { offset, bytes } => offset
                .checked_add(bytes.len())
                .and_then(|end| data.get(*offset..end))
                .is_some_and(|window| window == bytes.as_slice()),
        }
    }
}

/// Why a chain call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The chain could not be reached or answered with an error.
    #[error("chain request {method} failed: {reason}")]
    Request {
        /// The call (e.g. `getAccountInfo`).
        method: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// No answer came from the node (connection refused, name not resolved, timed out): it is
    /// down or the URL is wrong. A transaction sent may or may not have landed.
    #[error(
        "cannot reach the node at {url} ({method}): {reason}; is it running, and is the URL right?"
    )]
    Unreachable {
        /// The node's URL.
        url: String,
        /// The call (e.g. `getMultipleAccounts`).
        method: &'static str,
        /// The transport's error, with its causes.
        reason: String,
    },
    /// The transaction was processed and failed.
    #[error("transaction failed: {}", describe_transaction_error(.error))]
    Transaction {
        /// The runtime's error.
        error: TransactionError,
        /// The program logs, when the chain returned them.
        logs: Vec<String>,
    },
}

impl ChainError {
    /// Whether the node could not be reached at all (as opposed to answering with an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ChainError::Unreachable { .. })
    }

    /// The custom program error code, if the transaction failed with one.
    pub fn custom_code(&self) -> Option<u32> {
        match self {
            ChainError::Transaction {
                error:
                    TransactionError::InstructionError(
                        _,
                        solana_sdk::instruction::InstructionError::Custom(code),
                    ),
                ..
            } => Some(*code),
            _ => None,
        }
    }
}

/// A transaction error in words: allot's and Anchor's codes decoded, others as the runtime says.
pub fn describe_transaction_error(error: &TransactionError) -> String {
    match error {
        TransactionError::InstructionError(
            index,
            solana_sdk::instruction::InstructionError::Custom(code),
        ) => format!("instruction {index}: {}", errors::decode(*code)),
        other => other.to_string(),
    }
}

/// Where accounts come from and transactions go.
pub trait Chain: Send + Sync {
    /// The account at `address`, if it exists.
    fn account(
        &self,
        address: Pubkey,
    ) -> impl Future<Output = Result<Option<Account>, ChainError>> + Send;

    /// The accounts at `addresses`, in order (`getMultipleAccounts`).
    fn accounts(
        &self,
        addresses: Vec<Pubkey>,
    ) -> impl Future<Output = Result<Vec<Option<Account>>, ChainError>> + Send;

    /// Accounts owned by `program` passing every filter.
    fn program_accounts(
        &self,
        program: Pubkey,
        filters: Vec<AccountFilter>,
    ) -> impl Future<Output = Result<Vec<(Pubkey, Account)>, ChainError>> + Send;

    /// A recent blockhash to sign with.
    fn latest_blockhash(&self) -> impl Future<Output = Result<Hash, ChainError>> + Send;

    /// The chain's clock (unix seconds), as programs see it.
    fn unix_timestamp(&self) -> impl Future<Output = Result<i64, ChainError>> + Send;

    /// A slot that a new address lookup table may name as its recent slot (on a cluster: the
    /// finalized slot, which is always in the `SlotHashes` sysvar).
    fn recent_slot(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;

    /// Waits until the chain has moved past the current slot (at the commitment transactions are
    /// checked at before sending), so that addresses added to a lookup table now can be used
    /// (they become usable one slot after they were added).
    fn wait_for_next_slot(&self) -> impl Future<Output = Result<(), ChainError>> + Send;

    /// The compute units `transaction` consumes when simulated (signatures not verified), or
    /// `None` when the simulation fails: sending it is what reports why.
    fn simulated_units(
        &self,
        transaction: VersionedTransaction,
    ) -> impl Future<Output = Result<Option<u64>, ChainError>> + Send;

    /// Sends a signed transaction and waits until it is confirmed or has failed.
    fn send(
        &self,
        transaction: VersionedTransaction,
    ) -> impl Future<Output = Result<Signature, ChainError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcmp_matches_only_inside_the_data() {
        let data = [1u8, 2, 3, 4];
        let at = |offset, bytes: &[u8]| AccountFilter::Memcmp {
            offset,
            bytes: bytes.to_vec(),
        };
        assert!(at(1, &[2, 3]).matches(&data));
        assert!(!at(1, &[2, 4]).matches(&data));
        assert!(!at(3, &[4, 5]).matches(&data));
        assert!(!at(usize::MAX, &[1]).matches(&data));
        assert!(AccountFilter::DataSize(4).matches(&data));
        assert!(!AccountFilter::DataSize(5).matches(&data));
    }
}
