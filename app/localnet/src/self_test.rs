//! The start-up self-test: proves over JSON-RPC that the native program runs, that its CPIs reach
//! Token-2022 (a stub in the wrong `solana-sysvar` copy makes CPI silently do nothing) and that
//! its events arrive as inner instructions.

use allot::instructions::PoolCreateArgs;
use allot::state::{AllocationRule, Comparison, ResourceKind};
use allot_client::chain::Chain;
use allot_client::rpc_chain::RpcChain;
use allot_client::{instructions, pdas};
use anyhow::{Context, Result, ensure};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_sdk::transaction::{Transaction, VersionedTransaction};
use solana_signer::Signer;

/// Units the self-test mints into its pool's vault.
const FUNDING: u64 = 1_000;

/// Creates a pool owned by `payer` (id `u64::MAX`, out of the way of real pools), funds its
/// vault through a Token-2022 CPI and checks the balance. Returns the pool's address.
pub async fn run(rpc_url: &str, payer: &Keypair) -> Result<anchor_lang::prelude::Pubkey> {
    let chain = RpcChain::new(rpc_url.to_string(), CommitmentConfig::confirmed());
    let me = payer.pubkey();
    let args = PoolCreateArgs {
        pool_id: u64::MAX,
        kind: ResourceKind::VirtualToken,
        decimals: 0,
        transferable: true,
        pausable: false,
        supply_cap: FUNDING,
        period_seconds: 86_400,
        rule: AllocationRule {
            indicator: 0,
            comparison: Comparison::AtLeast,
            threshold: 1,
            amount: 1,
            credential_max_age: 86_400,
        },
    };
    let pool = pdas::pool(&me, u64::MAX);
    let steps = [
        instructions::pool_create(&me, args),
        instructions::pool_fund(&me, &pool, FUNDING),
    ];
    for step in steps {
        let blockhash = chain.latest_blockhash().await?;
        let tx = Transaction::new_signed_with_payer(&[step], Some(&me), &[payer], blockhash);
        chain
            .send(VersionedTransaction::from(tx))
            .await
            .context("self-test transaction")?;
    }
    let vault = chain
        .account(pdas::vault(&pool))
        .await?
        .context("self-test: the vault was not created (CPI did not run)")?;
    let balance = allot_client::token::amount_base_units(&vault.data)
        .context("self-test: the vault is not a token account")?;
    ensure!(
        balance == FUNDING,
        "self-test: the vault holds {balance}, expected {FUNDING}: CPI into Token-2022 did not run"
    );
    Ok(pool)
}
