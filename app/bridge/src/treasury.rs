//! The treasury that on-chain payouts are paid from: what it holds of each payout mint the
//! bridge's pools name, for the `allot_bridge_treasury_base_units` metric (a settle transaction
//! from an empty treasury fails, so an operator alerts well before it runs dry).

use allot::state::Pool;
use allot_client::chain::Chain as _;
use allot_client::rpc_chain::RpcChain;
use allot_client::{accounts, token};
use anchor_lang::prelude::Pubkey;
use anyhow::Result;

/// One payout mint's treasury and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreasuryBalance {
    /// The payout mint.
    pub mint: Pubkey,
    /// The token account payouts of `mint` come from.
    pub treasury: Pubkey,
    /// Its balance in base units of `mint` (0 when the account does not exist).
    pub base_units: u64,
}

/// The balance of the treasury of every payout mint that `pools` name now (each mint once):
/// `treasury` when configured, else `authority`'s associated account under the mint's program.
/// Three RPC calls whatever the number of pools.
pub async fn balances(
    chain: &RpcChain,
    pools: &[Pubkey],
    authority: &Pubkey,
    treasury: Option<Pubkey>,
) -> Result<Vec<TreasuryBalance>> {
    let mut mints: Vec<Pubkey> = accounts::fetch_many::<Pool>(chain, pools)
        .await?
        .into_iter()
        .flatten()
        .filter_map(|pool| pool.exchange.payout_mint)
        .collect();
    mints.sort();
    mints.dedup();
    let mint_accounts = chain.accounts(mints.clone()).await?;
    let found: Vec<(Pubkey, Pubkey)> = mints
        .into_iter()
        .zip(mint_accounts)
        .filter_map(|(mint, account)| {
            let program = account?.owner;
            Some((
                mint,
                treasury.unwrap_or_else(|| token::associated_account(authority, &mint, &program)),
            ))
        })
        .collect();
    let treasuries = chain
        .accounts(found.iter().map(|(_, treasury)| *treasury).collect())
        .await?;
    Ok(found
        .into_iter()
        .zip(treasuries)
        .map(|((mint, treasury), account)| TreasuryBalance {
            mint,
            treasury,
            base_units: account
                .and_then(|account| token::amount_base_units(&account.data))
                .unwrap_or(0),
        })
        .collect())
}
