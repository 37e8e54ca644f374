//! Fetching and decoding allot accounts, and finding them by pool with `getProgramAccounts`
//! filters (byte offsets below are checked against the real layouts by the tests).

use allot::state::{AllocationRecord, Credential, ExchangeRequest, Pool, RequestStatus};
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};

use crate::chain::{AccountFilter, Chain, ChainError};

/// Offset of `pool` in a [`Credential`] (after the discriminator and the bump).
pub const CREDENTIAL_POOL_OFFSET: usize = 9;
/// Offset of `pool` in an [`AllocationRecord`] (after the discriminator and the bump).
pub const RECORD_POOL_OFFSET: usize = 9;
/// Offset of `pool` in an [`ExchangeRequest`].
pub const REQUEST_POOL_OFFSET: usize = 9;
/// Offset of `user` in an [`ExchangeRequest`] (after the pool and the id).
pub const REQUEST_USER_OFFSET: usize = 49;
/// Offset of `status` in an [`ExchangeRequest`].
pub const REQUEST_STATUS_OFFSET: usize = 145;

/// Why an account could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The chain call failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The account exists but is not the expected allot account.
    #[error("account {address} is not a valid {kind}: {reason}")]
    Decode {
        /// The address read.
        address: Pubkey,
        /// The expected account type.
        kind: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

/// Decodes account data as `T`, naming the address and type when it is not one.
pub fn decode<T: AccountDeserialize>(address: Pubkey, data: &[u8]) -> Result<T, FetchError> {
    T::try_deserialize(&mut &data[..]).map_err(|e| FetchError::Decode {
        address,
        kind: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("account"),
        reason: e.to_string(),
    })
}

/// The allot account `T` at `address`, or `None` if nothing is there. Checks the owner.
pub async fn fetch<T: AccountDeserialize>(
    chain: &impl Chain,
    address: Pubkey,
) -> Result<Option<T>, FetchError> {
    decode_owned(address, chain.account(address).await?)
}

/// The allot accounts `T` at `addresses`, in order, read in batches (`getMultipleAccounts`),
/// with the same checks as [`fetch`].
pub async fn fetch_many<T: AccountDeserialize>(
    chain: &impl Chain,
    addresses: &[Pubkey],
) -> Result<Vec<Option<T>>, FetchError> {
    let found = chain.accounts(addresses.to_vec()).await?;
    addresses
        .iter()
        .zip(found)
        .map(|(address, account)| decode_owned(*address, account))
        .collect()
}

impl FetchError {
    /// Whether the node could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, FetchError::Chain(error) if error.is_unreachable())
    }
}

/// Decodes what the chain returned for `address`: nothing (or lamports sent ahead to a PDA the
/// program has not created yet, which the program tops up and creates there) is `None`; an
/// account of another owner is an error. [`fetch`] and [`fetch_many`] read through it; callers
/// that read accounts themselves (one `getMultipleAccounts` of several kinds) use it too.
pub fn decode_owned<T: AccountDeserialize>(
    address: Pubkey,
    account: Option<solana_sdk::account::Account>,
) -> Result<Option<T>, FetchError> {
    match account {
        None => Ok(None),
        Some(account) if is_prefunded(&account) => Ok(None),
        Some(account) if account.owner != allot::ID => Err(FetchError::Decode {
            address,
            kind: "allot account",
            reason: format!("owned by {}, not the allot program", account.owner),
        }),
        Some(account) => decode(address, &account.data).map(Some),
    }
}

/// Whether `account` is only lamports at an address (system-owned, no data): an allot PDA that
/// someone funded before the program created it.
pub fn is_prefunded(account: &solana_sdk::account::Account) -> bool {
    account.owner == anchor_lang::system_program::ID && account.data.is_empty()
}

/// Every allot account of type `T` whose bytes at `offset` are `pool`.
async fn scan<T: AccountDeserialize + Discriminator>(
    chain: &impl Chain,
    offset: usize,
    pool: &Pubkey,
    extra: Vec<AccountFilter>,
) -> Result<Vec<(Pubkey, T)>, FetchError> {
    let mut filters = vec![AccountFilter::Memcmp {
        offset,
        bytes: pool.to_bytes().to_vec(),
    }];
    filters.extend(extra);
    scan_all(chain, filters).await
}

/// Every program account of type `T` that passes `extra` (its discriminator is added).
async fn scan_all<T: AccountDeserialize + Discriminator>(
    chain: &impl Chain,
    extra: Vec<AccountFilter>,
) -> Result<Vec<(Pubkey, T)>, FetchError> {
    let mut filters = vec![AccountFilter::Memcmp {
        offset: 0,
        bytes: T::DISCRIMINATOR.to_vec(),
    }];
    filters.extend(extra);
    let accounts = chain.program_accounts(allot::ID, filters).await?;
    accounts
        .into_iter()
        .map(|(address, account)| Ok((address, decode(address, &account.data)?)))
        .collect()
}

/// Every credential written for `pool`.
pub async fn credentials_of_pool(
    chain: &impl Chain,
    pool: &Pubkey,
) -> Result<Vec<(Pubkey, Credential)>, FetchError> {
    scan(chain, CREDENTIAL_POOL_OFFSET, pool, vec![]).await
}

/// Every allocation record of `pool` (what `allot crank --close` sweeps once it is retired).
pub async fn records_of_pool(
    chain: &impl Chain,
    pool: &Pubkey,
) -> Result<Vec<(Pubkey, AllocationRecord)>, FetchError> {
    scan(chain, RECORD_POOL_OFFSET, pool, vec![]).await
}

/// Every open (pending or locked) exchange request of `pool`, oldest first (what a bridge's
/// reconcile pass lists).
pub async fn open_requests(
    chain: &impl Chain,
    pool: &Pubkey,
) -> Result<Vec<(Pubkey, ExchangeRequest)>, FetchError> {
    let mut open = Vec::new();
    for status in OPEN_STATUSES {
        open.extend(scan(chain, REQUEST_POOL_OFFSET, pool, vec![with_status(status)]).await?);
    }
    open.sort_by_key(|(_, request): &(Pubkey, ExchangeRequest)| oldest_first(request));
    Ok(open)
}

/// Every open (pending or locked) exchange request of every pool, oldest first: two
/// `getProgramAccounts` calls whatever the number of pools (what a bridge serving many pools
/// lists instead of [`open_requests`] for each).
pub async fn open_requests_of_every_pool(
    chain: &impl Chain,
) -> Result<Vec<(Pubkey, ExchangeRequest)>, FetchError> {
    let mut open = Vec::new();
    for status in OPEN_STATUSES {
        open.extend(scan_all(chain, vec![with_status(status)]).await?);
    }
    open.sort_by_key(|(_, request): &(Pubkey, ExchangeRequest)| oldest_first(request));
    Ok(open)
}

/// The statuses of a request that is not final.
const OPEN_STATUSES: [RequestStatus; 2] = [RequestStatus::Pending, RequestStatus::Locked];

/// The filter for requests in `status`.
fn with_status(status: RequestStatus) -> AccountFilter {
    AccountFilter::Memcmp {
        offset: REQUEST_STATUS_OFFSET,
        bytes: vec![status as u8],
    }
}

/// Every pool whose exchange names `authority` as its settlement authority, by address (what a
/// platform's bridge serves: its merchants' pools). Reads every pool account (one
/// `getProgramAccounts` filtered by the discriminator): the settlement authority sits after the
/// optional `pending_operator`, so no single byte offset finds it.
pub async fn pools_settled_by(
    chain: &impl Chain,
    authority: &Pubkey,
) -> Result<Vec<(Pubkey, Pool)>, FetchError> {
    let pools = AccountFilter::Memcmp {
        offset: 0,
        bytes: Pool::DISCRIMINATOR.to_vec(),
    };
    let mut found = Vec::new();
    for (address, account) in chain.program_accounts(allot::ID, vec![pools]).await? {
        let pool: Pool = decode(address, &account.data)?;
        if pool.exchange.settlement_authority == *authority {
            found.push((address, pool));
        }
    }
    found.sort_by_key(|(address, _)| *address);
    Ok(found)
}

/// The order requests are listed in: oldest first, the id breaking ties (ids are the clients'
/// random choice and say nothing of order).
fn oldest_first(request: &ExchangeRequest) -> (i64, u64) {
    (request.created_at, request.id)
}

/// Every exchange request of `user` in `pool`, whatever its status, oldest first.
pub async fn requests_of_user(
    chain: &impl Chain,
    pool: &Pubkey,
    user: &Pubkey,
) -> Result<Vec<(Pubkey, ExchangeRequest)>, FetchError> {
    let of_user = AccountFilter::Memcmp {
        offset: REQUEST_USER_OFFSET,
        bytes: user.to_bytes().to_vec(),
    };
    let mut found: Vec<(Pubkey, ExchangeRequest)> =
        scan(chain, REQUEST_POOL_OFFSET, pool, vec![of_user]).await?;
    found.sort_by_key(|(_, request)| oldest_first(request));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::AccountSerialize;

    fn find(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("field present")
    }

    #[test]
    fn filter_offsets_match_the_account_layouts() {
        let pool = Pubkey::new_unique();
        let credential = Credential {
            bump: 1,
            pool,
            user: Pubkey::new_unique(),
            verifier: Pubkey::new_unique(),
            period: 0,
            indicators: [0; 4],
            issued_at: 0,
            expires_at: 0,
            evidence_hash: [0; 32],
            revoked: false,
            rent_payer: Pubkey::new_unique(),
        };
        let mut data = Vec::new();
        credential.try_serialize(&mut data).unwrap();
        assert_eq!(find(&data, pool.as_ref()), CREDENTIAL_POOL_OFFSET);

        let record = AllocationRecord {
            bump: 1,
            pool,
            user: Pubkey::new_unique(),
            rent_payer: Pubkey::new_unique(),
            ..AllocationRecord::empty()
        };
        let mut data = Vec::new();
        record.try_serialize(&mut data).unwrap();
        assert_eq!(find(&data, pool.as_ref()), RECORD_POOL_OFFSET);

        let user = Pubkey::new_unique();
        let request = ExchangeRequest {
            bump: 1,
            pool,
            id: 0,
            user,
            rent_payer: Pubkey::new_unique(),
            amount: 0,
            rate: 0,
            quoted: 0,
            created_at: 0,
            status: RequestStatus::Rejected,
            finalized_at: 0,
            payout_reference: [0; 32],
            paid_amount: 0,
            reject_reason: 0,
            payout_mint: None,
            currency: *b"USD",
            currency_digits: 2,
            cancel_after: 0,
            lock_timeout_seconds: 0,
            locked_at: 0,
            payout_base_units: 0,
            locked_by: Pubkey::default(),
            own_units: 0,
        };
        let mut data = Vec::new();
        request.try_serialize(&mut data).unwrap();
        assert_eq!(find(&data, pool.as_ref()), REQUEST_POOL_OFFSET);
        assert_eq!(find(&data, user.as_ref()), REQUEST_USER_OFFSET);
        assert_eq!(data[REQUEST_STATUS_OFFSET], RequestStatus::Rejected as u8);
        assert_eq!(
            data[REQUEST_STATUS_OFFSET - 8..REQUEST_STATUS_OFFSET],
            [0; 8]
        );
    }
}
