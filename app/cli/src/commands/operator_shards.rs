//! `allot operator shards` and `drain-shards`, and the sweep other commands run first: managing a
//! pool's allocation shards (slices of the vault that allocations draw on without writing the
//! pool, so a cluster can run them in parallel).

use allot::state::{AllocationShard, Pool};
use allot_client::chain::Chain;
use allot_client::instructions;
use anchor_lang::Space;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use indicatif::ProgressBar;
use serde_json::json;
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Signature;

use crate::batch::{self, BatchReport, Job};
use crate::context::Context;
use crate::outcome::Outcome;
use crate::sender::{build_transaction, fits, largest_budget};
use crate::shard_plan;

/// Bytes of a shard's vault: a Token-2022 account of the pool mint without extensions (the
/// program creates it at its own address, not as an associated account).
const SHARD_VAULT_BYTES: usize = 165;

/// Shard creations per transaction: each makes 5 to 8 instruction-trace entries (8 when someone
/// pre-funded its addresses; the limit is 64), so 4 stay well inside the limit.
const CREATIONS_PER_TRANSACTION: usize = 4;
/// Other shard instructions per transaction (they fit by size; kept modest for the trace).
pub const PER_TRANSACTION: usize = 8;

/// Creates shards until the pool has `count`, then tops each up to `fund_each` available units.
pub async fn shards<C: Chain>(
    ctx: &Context<'_, C>,
    address: Pubkey,
    count: u16,
    fund_each: u64,
) -> Result<Outcome> {
    let pool = ctx.operated_pool(&address).await?;
    ensure!(
        pool.transferable,
        "pool {address} is non-transferable: it mints at allocation and has no vault to shard"
    );
    ensure!(fund_each > 0, "--fund-each must be positive");
    let me = ctx.me();
    let creations: Vec<Job> = (pool.shard_count..count)
        .map(|index| Job {
            label: format!("create shard {index}"),
            instruction: instructions::shard_create(&me, &address, index),
        })
        .collect();
    let created = creations.len();
    let mut budgets = shard_plan::load_budgets(ctx.chain, &address, &pool).await?;
    budgets.extend(
        (pool.shard_count..count).map(|index| shard_plan::ShardBudget {
            index,
            available: 0,
        }),
    );
    let top_ups: Vec<(u16, u64)> = budgets
        .iter()
        .filter(|b| b.index < count && b.available < fund_each)
        .map(|b| (b.index, fund_each - b.available))
        .collect();
    let needed = top_ups
        .iter()
        .try_fold(0u64, |sum, (_, amount)| sum.checked_add(*amount))
        .with_context(|| {
            format!("--fund-each {fund_each} for {count} shards is more units than exist")
        })?;
    let vault = vault_balance(ctx, &pool).await?;
    ensure!(
        needed <= vault,
        "topping {} shards up to {fund_each} units needs {needed} units but the vault holds {vault}: \
         fund the pool first (`allot operator fund`)",
        top_ups.len()
    );
    let fundings: Vec<Job> = top_ups
        .iter()
        .map(|(index, amount)| Job {
            label: format!("fund shard {index} with {amount}"),
            instruction: instructions::shard_fund(&me, &address, *index, *amount),
        })
        .collect();
    let groups = batch::pack(&ctx.signer, creations, CREATIONS_PER_TRANSACTION, &[]);
    let funding_groups = batch::pack(&ctx.signer, fundings, PER_TRANSACTION, &[]);
    // Each new shard: its account and its vault (a Token-2022 account with no extensions).
    let sizes: Vec<usize> = (0..created)
        .flat_map(|_| [8 + AllocationShard::INIT_SPACE, SHARD_VAULT_BYTES])
        .collect();
    ctx.ensure_can_pay((groups.len() + funding_groups.len()) as u64, &sizes)
        .await?;
    let mut report = send_in_order(ctx, groups).await;
    report.absorb(send_in_order(ctx, funding_groups).await);
    ensure_all_landed(&report)?;
    Ok(Outcome::new(json!({
        "pool": address.to_string(),
        "shards": count.max(pool.shard_count),
        "created": created,
        "funded": top_ups.len(),
        "units_moved": needed,
        "transactions": report.transactions,
    }))
    .line(format!(
        "pool {address}: {} shards; created {created}, topped up {} with {needed} units from the vault ({} transactions)",
        count.max(pool.shard_count),
        top_ups.len(),
        report.transactions
    )))
}

/// Sweeps every shard, then moves what each has not allocated back to the vault.
pub async fn drain_shards<C: Chain>(ctx: &Context<'_, C>, address: Pubkey) -> Result<Outcome> {
    let pool = ctx.operated_pool(&address).await?;
    ensure!(
        pool.shard_count > 0,
        "pool {address} has no allocation shards"
    );
    let budgets = shard_plan::load_budgets(ctx.chain, &address, &pool).await?;
    let me = ctx.me();
    let swept = sweep_all(ctx, &address, &pool).await?;
    let drains: Vec<Job> = budgets
        .iter()
        .filter(|b| b.available > 0)
        .map(|b| Job {
            label: format!("drain shard {}", b.index),
            instruction: instructions::shard_drain(&me, &address, b.index, b.available),
        })
        .collect();
    let drained = drains.len();
    let units: u64 = budgets.iter().map(|b| b.available).sum();
    let groups = batch::pack(&ctx.signer, drains, PER_TRANSACTION, &[]);
    ctx.ensure_can_pay(groups.len() as u64, &[]).await?;
    let report = send_in_order(ctx, groups).await;
    ensure_all_landed(&report)?;
    Ok(Outcome::new(json!({
        "pool": address.to_string(),
        "swept": swept,
        "drained": drained,
        "units_returned": units,
    }))
    .line(format!(
        "pool {address}: swept {swept} shards, returned {units} units from {drained} to the vault"
    )))
}

/// The sweeps of shards `indices` of the pool at `address`.
pub fn sweep_jobs(address: &Pubkey, indices: impl IntoIterator<Item = u16>) -> Vec<Job> {
    indices
        .into_iter()
        .map(|index| Job {
            label: format!("sweep shard {index}"),
            instruction: instructions::shard_sweep(address, index),
        })
        .collect()
}

/// Sends `instruction` after sweeping every shard of the pool: in the same transaction when
/// they fit (so no sharded allocation lands between the sweeps and it), else the sweeps first.
pub async fn send_after_sweeps<C: Chain>(
    ctx: &Context<'_, C>,
    address: &Pubkey,
    pool: &Pool,
    instruction: Instruction,
) -> Result<Signature> {
    let mut together: Vec<Instruction> = sweep_jobs(address, 0..pool.shard_count)
        .into_iter()
        .map(|job| job.instruction)
        .collect();
    together.push(instruction.clone());
    let fits_one = build_transaction(
        &ctx.signer,
        &[],
        &together,
        &[],
        Hash::default(),
        largest_budget(),
    )
    .is_ok_and(|tx| fits(&tx));
    if fits_one {
        return Ok(ctx.send(&[], &together).await?);
    }
    sweep_all(ctx, address, pool).await?;
    Ok(ctx.send(&[], &[instruction]).await?)
}

/// Sweeps every shard of the pool into its totals (before a drain). Returns the number of
/// shards swept.
pub async fn sweep_all<C: Chain>(
    ctx: &Context<'_, C>,
    address: &Pubkey,
    pool: &Pool,
) -> Result<usize> {
    let sweeps = sweep_jobs(address, 0..pool.shard_count);
    let groups = batch::pack(&ctx.signer, sweeps, PER_TRANSACTION, &[]);
    let report = send_in_order(ctx, groups).await;
    ensure_all_landed(&report)?;
    Ok(usize::from(pool.shard_count))
}

async fn vault_balance<C: Chain>(ctx: &Context<'_, C>, pool: &Pool) -> Result<u64> {
    Ok(ctx.chain.account(pool.vault).await?.map_or(0, |a| {
        allot_client::token::amount_base_units(&a.data).unwrap_or(0)
    }))
}

/// Sends the groups one after another (creations must land in index order).
async fn send_in_order<C: Chain>(ctx: &Context<'_, C>, groups: Vec<Vec<Job>>) -> BatchReport {
    batch::send_all(ctx, &[], groups, 1, &ProgressBar::hidden()).await
}

fn ensure_all_landed(report: &BatchReport) -> Result<()> {
    ensure!(
        report.failed.is_empty(),
        "{}",
        report
            .failed
            .iter()
            .map(|(job, error)| format!("{job}: {error}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}
