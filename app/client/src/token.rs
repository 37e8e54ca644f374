//! Token accounts read from outside: the amount an account holds and associated account addresses
//! for any token program (SPL Token or Token-2022). Every reader of token-account bytes in the
//! workspace comes here instead of slicing the layout itself.

use anchor_lang::AccountDeserialize as _;
use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anchor_spl::token_interface::TokenAccount;

use crate::chain::{Chain, ChainError};

/// The amount, in base units of its mint, that a token account's data holds; `None` when the
/// data is not an initialized SPL Token or Token-2022 account.
pub fn amount_base_units(data: &[u8]) -> Option<u64> {
    TokenAccount::try_deserialize(&mut &data[..])
        .ok()
        .map(|account| account.amount)
}

/// The balance (base units) of the token account at `address`: 0 when no account is there.
/// Data at the address that is not a token account is an error, not a zero.
pub async fn balance_base_units(chain: &impl Chain, address: Pubkey) -> Result<u64, ChainError> {
    match chain.account(address).await? {
        None => Ok(0),
        Some(account) => amount_base_units(&account.data).ok_or_else(|| ChainError::Request {
            method: "getAccountInfo",
            reason: format!("{address} holds data that is not a token account"),
        }),
    }
}

/// `owner`'s associated account for `mint` under `token_program` (SPL Token or Token-2022).
pub fn associated_account(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    get_associated_token_address_with_program_id(owner, mint, token_program)
}

/// A token's name as wallets show it: the Token-2022 metadata its mint holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenName {
    /// Its name.
    pub name: String,
    /// Its symbol (ticker).
    pub symbol: String,
    /// The URI of its JSON description (empty for none).
    pub uri: String,
}

/// The Token-2022 metadata stored in a mint's own data (`None` when it has none, or the data is
/// not a Token-2022 mint).
pub fn metadata(mint_data: &[u8]) -> Option<TokenName> {
    use anchor_spl::token_2022::spl_token_2022::extension::{
        BaseStateWithExtensions as _, StateWithExtensions,
    };
    use anchor_spl::token_2022::spl_token_2022::state::Mint;
    use anchor_spl::token_2022_extensions::spl_token_metadata_interface::state::TokenMetadata;
    let mint = StateWithExtensions::<Mint>::unpack(mint_data).ok()?;
    let metadata = mint.get_variable_len_extension::<TokenMetadata>().ok()?;
    Some(TokenName {
        name: metadata.name,
        symbol: metadata.symbol,
        uri: metadata.uri,
    })
}

/// Whether a pool's units may move, as its mint's Token-2022 Pausable extension says:
/// `Some(true)` paused, `Some(false)` running, `None` when the mint has no Pausable extension
/// (a pool not created `pausable`) or the data is not a Token-2022 mint.
pub fn transfers_paused(mint_data: &[u8]) -> Option<bool> {
    use anchor_spl::token_2022::spl_token_2022::extension::pausable::PausableConfig;
    use anchor_spl::token_2022::spl_token_2022::extension::{
        BaseStateWithExtensions as _, StateWithExtensions,
    };
    use anchor_spl::token_2022::spl_token_2022::state::Mint;
    let mint = StateWithExtensions::<Mint>::unpack(mint_data).ok()?;
    let config = mint.get_extension::<PausableConfig>().ok()?;
    Some(bool::from(config.paused))
}

/// [`transfers_paused`] of the mint at `mint`, read from `chain` (`None` also when no account
/// is there).
pub async fn transfers_paused_at(
    chain: &impl Chain,
    mint: Pubkey,
) -> Result<Option<bool>, ChainError> {
    Ok(chain
        .account(mint)
        .await?
        .and_then(|account| transfers_paused(&account.data)))
}

#[cfg(test)]
mod tests {
    use super::amount_base_units;

    /// An SPL token account's 165 bytes as the token programs lay them out: mint (32), owner
    /// (32), amount (u64 LE at 64), delegate (36), state (1 byte at 108: 1 = initialized), ….
    fn account_bytes(amount: u64) -> Vec<u8> {
        let mut data = vec![0; 165];
        data[..32].fill(1);
        data[32..64].fill(2);
        data[64..72].copy_from_slice(&amount.to_le_bytes());
        data[108] = 1;
        data
    }

    #[test]
    fn the_amount_is_read_from_an_initialized_account_only() {
        assert_eq!(
            amount_base_units(&account_bytes(1_234_567)),
            Some(1_234_567)
        );
        assert_eq!(amount_base_units(&[0; 72]), None, "too short");
        let mut uninitialized = account_bytes(5);
        uninitialized[108] = 0;
        assert_eq!(amount_base_units(&uninitialized), None);
    }
}
