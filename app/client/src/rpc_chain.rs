//! [`Chain`] over a cluster's JSON-RPC (`solana-test-validator`, devnet, mainnet).

use anchor_lang::prelude::Pubkey;
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::{Error as ClientError, ErrorKind};
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_api::request::{RpcError, RpcResponseErrorData};
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::hash::Hash;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::VersionedTransaction;

use crate::chain::{AccountFilter, Chain, ChainError};

/// Most addresses one `getMultipleAccounts` call takes.
const MULTIPLE_ACCOUNTS_LIMIT: usize = 100;

/// A cluster reached over JSON-RPC.
pub struct RpcChain {
    client: RpcClient,
}

impl RpcChain {
    /// Connects (lazily) to `url` with `commitment`.
    pub fn new(url: String, commitment: CommitmentConfig) -> Self {
        Self {
            client: RpcClient::new_with_commitment(url, commitment),
        }
    }

    /// The underlying RPC client.
    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    /// The accounts at `addresses` in `commitment`'s view, in order (`None` where nothing is):
    /// one `getMultipleAccounts` per 100 addresses, in `base64`. A node that answers for fewer
    /// accounts than asked is an error, never read as accounts that are not there.
    ///
    /// Not the client's `get_multiple_accounts_with_commitment`: it asks for `base64+zstd`, and
    /// the node then builds a zstd context for every account it answers. For this program's
    /// accounts (a few hundred bytes) that compression saved nothing and was a quarter of the
    /// validator's JSON-RPC time in `bridge_figures` (`perf`, docs/notes.md).
    pub async fn accounts_at(
        &self,
        addresses: &[Pubkey],
        commitment: CommitmentConfig,
    ) -> Result<Vec<Option<Account>>, ChainError> {
        let config = RpcAccountInfoConfig {
            encoding: Some(UiAccountEncoding::Base64),
            commitment: Some(commitment),
            ..RpcAccountInfoConfig::default()
        };
        let mut found = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(MULTIPLE_ACCOUNTS_LIMIT) {
            let response = self
                .client
                .get_multiple_ui_accounts_with_config(chunk, config.clone())
                .await
                .map_err(self.request_error("getMultipleAccounts"))?;
            answered_for_each(chunk.len(), response.value.len())?;
            for account in response.value {
                found.push(account.map(decoded_account).transpose()?);
            }
        }
        Ok(found)
    }

    /// The accounts at `addresses` and the cluster's clock (unix seconds), read together: the
    /// clock and the first 99 accounts in one `getMultipleAccounts` (so at the same slot).
    pub async fn accounts_and_time(
        &self,
        addresses: &[Pubkey],
    ) -> Result<(Vec<Option<Account>>, i64), ChainError> {
        let mut asked = Vec::with_capacity(addresses.len() + 1);
        asked.push(solana_sdk::sysvar::clock::ID);
        asked.extend_from_slice(addresses);
        let mut found = self.accounts_at(&asked, self.client.commitment()).await?;
        let clock = found.remove(0).ok_or(ChainError::Request {
            method: "getMultipleAccounts",
            reason: "the clock sysvar is missing".into(),
        })?;
        Ok((found, bincode_clock(&clock.data)?.unix_timestamp))
    }
}

/// `account` as the node sent it in `base64`; an error when its data or owner does not decode,
/// never read as an account that is not there (as the client's own decoding would).
fn decoded_account(account: UiAccount) -> Result<Account, ChainError> {
    let undecodable = |what: &str| ChainError::Request {
        method: "getMultipleAccounts",
        reason: format!("an account's {what} does not decode"),
    };
    Ok(Account {
        lamports: account.lamports,
        data: account.data.decode().ok_or_else(|| undecodable("data"))?,
        owner: account.owner.parse().map_err(|_| undecodable("owner"))?,
        executable: account.executable,
        rent_epoch: account.rent_epoch,
    })
}

/// An error unless the node answered for each of the `asked` accounts.
fn answered_for_each(asked: usize, answered: usize) -> Result<(), ChainError> {
    if answered == asked {
        return Ok(());
    }
    Err(ChainError::Request {
        method: "getMultipleAccounts",
        reason: format!("the node answered {answered} accounts for {asked} asked"),
    })
}

impl RpcChain {
    /// How a failed `method` call reads: unreachable (with the URL and the transport's causes),
    /// a transaction's failure, or the node's error.
    fn request_error(&self, method: &'static str) -> impl Fn(ClientError) -> ChainError + '_ {
        move |error| match error.kind() {
            ErrorKind::Reqwest(transport)
                if transport.is_connect() || transport.is_timeout() || transport.is_request() =>
            {
                ChainError::Unreachable {
                    url: loggable_url(&self.client.url()),
                    method,
                    reason: with_causes(transport),
                }
            }
            ErrorKind::TransactionError(tx_error) => ChainError::Transaction {
                error: tx_error.clone(),
                logs: Vec::new(),
            },
            ErrorKind::RpcError(RpcError::RpcResponseError {
                data: RpcResponseErrorData::SendTransactionPreflightFailure(result),
                ..
            }) => match &result.err {
                Some(tx_error) => ChainError::Transaction {
                    error: tx_error.clone().into(),
                    logs: result.logs.clone().unwrap_or_default(),
                },
                None => ChainError::Request {
                    method,
                    reason: error.to_string(),
                },
            },
            _ => ChainError::Request {
                method,
                reason: error.to_string(),
            },
        }
    }
}

/// `url` as it may be logged: without its query (where providers put API keys) and with its
/// user information masked.
fn loggable_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{path}"),
                None => without_query.to_owned(),
            }
        }
        None => without_query.to_owned(),
    }
}

/// `error` and each of its causes, innermost last (a transport error's own message does not
/// say why: "connection refused" is a cause).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl Chain for RpcChain {
    async fn account(&self, address: Pubkey) -> Result<Option<Account>, ChainError> {
        // Not `getAccountInfo` through the client: it reports every failure, a node that is down
        // included, as "AccountNotFound".
        let mut found = self
            .accounts_at(&[address], self.client.commitment())
            .await?;
        Ok(found.pop().flatten())
    }

    async fn accounts(&self, addresses: Vec<Pubkey>) -> Result<Vec<Option<Account>>, ChainError> {
        self.accounts_at(&addresses, self.client.commitment()).await
    }

    async fn program_accounts(
        &self,
        program: Pubkey,
        filters: Vec<AccountFilter>,
    ) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let filters = filters
            .into_iter()
            .map(|filter| match filter {
                AccountFilter::DataSize(size) => RpcFilterType::DataSize(size),
                AccountFilter::Memcmp { offset, bytes } => {
                    RpcFilterType::Memcmp(Memcmp::new_raw_bytes(offset, bytes))
                }
            })
            .collect();
        let config = RpcProgramAccountsConfig {
            filters: Some(filters),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.client.commitment()),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        #[allow(deprecated)] // the replacement returns UI accounts; we want raw accounts
        self.client
            .get_program_accounts_with_config(&program, config)
            .await
            .map_err(self.request_error("getProgramAccounts"))
    }

    async fn latest_blockhash(&self) -> Result<Hash, ChainError> {
        self.client
            .get_latest_blockhash()
            .await
            .map_err(self.request_error("getLatestBlockhash"))
    }

    async fn recent_slot(&self) -> Result<u64, ChainError> {
        self.client
            .get_slot_with_commitment(CommitmentConfig::finalized())
            .await
            .map_err(self.request_error("getSlot"))
    }

    async fn wait_for_next_slot(&self) -> Result<(), ChainError> {
        // At the commitment transactions are simulated at (preflight): a bank still at the slot
        // of a table's extension refuses its new addresses ("invalid index"), and the processed
        // slot moves on before the confirmed one does (CI's walkthrough crank hit that).
        let commitment = self.client.commitment();
        let start = self
            .client
            .get_slot_with_commitment(commitment)
            .await
            .map_err(self.request_error("getSlot"))?;
        // Slots are about 400 ms; give up after a minute of a stalled cluster.
        for _ in 0..300 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let now = self
                .client
                .get_slot_with_commitment(commitment)
                .await
                .map_err(self.request_error("getSlot"))?;
            if now > start {
                return Ok(());
            }
        }
        Err(ChainError::Request {
            method: "getSlot",
            reason: format!("the cluster stayed at slot {start} for a minute"),
        })
    }

    async fn unix_timestamp(&self) -> Result<i64, ChainError> {
        Ok(self.accounts_and_time(&[]).await?.1)
    }

    async fn simulated_units(
        &self,
        transaction: VersionedTransaction,
    ) -> Result<Option<u64>, ChainError> {
        crate::compute_budget::simulated_units(&self.client, &transaction)
            .await
            .map_err(self.request_error("simulateTransaction"))
    }

    async fn send(&self, transaction: VersionedTransaction) -> Result<Signature, ChainError> {
        self.client
            .send_and_confirm_transaction(&transaction)
            .await
            .map_err(self.request_error("sendTransaction"))
    }
}

/// Decodes the clock sysvar (five little-endian 8-byte fields).
fn bincode_clock(data: &[u8]) -> Result<Clock, ChainError> {
    let field = |i: usize| -> Result<[u8; 8], ChainError> {
        data.get(i * 8..i * 8 + 8)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(ChainError::Request {
                method: "getMultipleAccounts",
                reason: format!("the clock sysvar has {} bytes, expected 40", data.len()),
            })
    };
    Ok(Clock {
        slot: u64::from_le_bytes(field(0)?),
        epoch_start_timestamp: i64::from_le_bytes(field(1)?),
        epoch: u64::from_le_bytes(field(2)?),
        leader_schedule_epoch: u64::from_le_bytes(field(3)?),
        unix_timestamp: i64::from_le_bytes(field(4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_answer_is_an_error() {
        assert!(answered_for_each(3, 3).is_ok());
        let error = answered_for_each(3, 2).unwrap_err().to_string();
        assert!(
            error.contains("the node answered 2 accounts for 3 asked"),
            "{error}"
        );
    }

    #[test]
    fn base64_accounts_decode_and_bad_data_is_an_error() {
        use solana_account_decoder_client_types::UiAccountData;
        let owner = Pubkey::new_unique();
        let sent = |data: &str, owner: String| UiAccount {
            lamports: 1_461_600,
            data: UiAccountData::Binary(data.into(), UiAccountEncoding::Base64),
            owner,
            executable: false,
            rent_epoch: u64::MAX,
            space: Some(3),
        };
        let account = decoded_account(sent("AQID", owner.to_string())).unwrap();
        assert_eq!(
            account,
            Account {
                lamports: 1_461_600,
                data: vec![1, 2, 3],
                owner,
                executable: false,
                rent_epoch: u64::MAX,
            }
        );
        let error = decoded_account(sent("not base64!", owner.to_string())).unwrap_err();
        assert!(
            error.to_string().contains("data does not decode"),
            "{error}"
        );
        let error = decoded_account(sent("AQID", "not an address".into())).unwrap_err();
        assert!(
            error.to_string().contains("owner does not decode"),
            "{error}"
        );
    }

    #[test]
    fn logged_urls_carry_no_keys_or_passwords() {
        assert_eq!(
            loggable_url("https://mainnet.example.com/?api-key=secret"),
            "https://mainnet.example.com/"
        );
        assert_eq!(
            loggable_url("https://user:pass@rpc.example.com:8899/v1?x=1"),
            "https://***@rpc.example.com:8899/v1"
        );
        assert_eq!(
            loggable_url("http://127.0.0.1:8899"),
            "http://127.0.0.1:8899"
        );
    }

    #[test]
    fn clock_sysvar_decodes_and_short_data_is_an_error() {
        let mut data = Vec::new();
        for v in [7u64, 100, 2, 3, 1_700_000_000] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let clock = bincode_clock(&data).unwrap();
        assert_eq!(
            (clock.slot, clock.epoch, clock.unix_timestamp),
            (7, 2, 1_700_000_000)
        );
        assert!(bincode_clock(&data[..39]).is_err());
    }
}
