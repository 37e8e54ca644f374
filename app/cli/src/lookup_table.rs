//! Address lookup tables for the crank: one table holding the accounts every allocation and
//! clawback of a pool names (pool, mint, vault, programs, event authority), so a v0 transaction
//! carries a one-byte index instead of each 32-byte key and fits more users.

use allot::state::Pool;
use allot_client::chain::Chain;
use allot_client::pdas;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use solana_address_lookup_table_interface::instruction::{
    create_lookup_table, extend_lookup_table,
};
use solana_address_lookup_table_interface::state::AddressLookupTable;
use solana_sdk::message::AddressLookupTableAccount;

use crate::context::Context;
use crate::outcome::Outcome;

/// Bytes of a lookup table account holding `addresses` keys (56-byte header + 32 per key).
pub fn table_bytes(addresses: usize) -> usize {
    56 + 32 * addresses
}

/// Addresses one `extend` instruction adds (keeps the transaction within its size).
const EXTEND_CHUNK: usize = 20;

/// The accounts shared by every allocation and clawback of `pool`, and each allocation shard
/// with its vault.
pub fn shared_accounts(address: &Pubkey, pool: &Pool) -> Vec<Pubkey> {
    let mut accounts = vec![
        *address,
        pool.mint,
        pool.vault,
        anchor_spl::token_2022::ID,
        anchor_spl::associated_token::ID,
        anchor_lang::system_program::ID,
        pdas::event_authority(),
        allot::ID,
    ];
    for index in 0..pool.shard_count {
        accounts.push(pdas::shard(address, index));
        accounts.push(pdas::shard_vault(address, index));
    }
    accounts
}

/// Reads the lookup table at `address`, explaining what is wrong when it is not one.
pub async fn load(chain: &impl Chain, address: &Pubkey) -> Result<AddressLookupTableAccount> {
    let account = chain
        .account(*address)
        .await?
        .with_context(|| format!("no lookup table at {address} on this cluster"))?;
    ensure!(
        account.owner == solana_address_lookup_table_interface::program::ID,
        "{address} is not an address lookup table (owned by {})",
        account.owner
    );
    let table = AddressLookupTable::deserialize(&account.data)
        .map_err(|e| anyhow::anyhow!("lookup table {address} does not decode: {e}"))?;
    Ok(AddressLookupTableAccount {
        key: *address,
        addresses: table.addresses.to_vec(),
    })
}

/// Creates a table holding `pool`'s shared accounts, owned by the signer, and waits until it can
/// be used.
pub async fn create<C: Chain>(ctx: &Context<'_, C>, pool: &Pubkey) -> Result<Outcome> {
    let state = ctx.pool(pool).await?;
    let addresses = shared_accounts(pool, &state);
    let transactions = addresses.len().div_ceil(EXTEND_CHUNK).max(1) as u64;
    ctx.ensure_can_pay(transactions, &[table_bytes(addresses.len())])
        .await?;
    let recent_slot = ctx.chain.recent_slot().await?;
    let me = ctx.me();
    let (create, table) = create_lookup_table(me, me, recent_slot);
    let mut chunks = addresses.chunks(EXTEND_CHUNK);
    let first = chunks.next().unwrap_or_default().to_vec();
    let extend = extend_lookup_table(table, me, Some(me), first);
    let signature = ctx
        .send(&[], &[create, extend])
        .await
        .context("creating the lookup table")?;
    for chunk in chunks {
        let extend = extend_lookup_table(table, me, Some(me), chunk.to_vec());
        ctx.send(&[], &[extend])
            .await
            .context("adding the pool's shards to the lookup table")?;
    }
    ctx.chain.wait_for_next_slot().await?;
    let loaded = load(ctx.chain, &table).await?;
    ensure!(
        loaded.addresses == addresses,
        "lookup table {table} does not hold the pool's accounts after creation"
    );
    Ok(Outcome::new(json!({
        "pool": pool.to_string(),
        "lookup_table": table.to_string(),
        "addresses": addresses.len(),
        "signature": signature.to_string(),
    }))
    .line(format!(
        "lookup table {table} holds the {} accounts shared by pool {pool}'s allocations ({signature})",
        addresses.len()
    ))
    .line(format!("use it with: allot crank --pool {pool} --lookup-table {table}")))
}
