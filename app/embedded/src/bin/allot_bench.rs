//! `allot-bench`: what allot costs per user and how fast it moves, measured on the embedded chain
//! (the real Agave runtime in-process, SPL Token-2022 as bytecode, so SPL compute is metered).
//!
//! `cargo run -p allot-embedded --profile long-run --bin allot-bench [-- --users 10000 --json
//! target/allot-bench.json]` (`long-run`: optimised without the release profile's fat LTO; a
//! debug build works too, slower).
//!
//! Prints tables and writes the same figures as JSON. Sizes, rent, transaction sizes and write
//! locks are exact; times depend on the machine (`docs/figures.md` reports the figures and the
//! machine).

use std::time::Instant;

use allot::ListProof;
use allot::instructions::{
    CredentialIssueArgs, ExchangeSettleArgs, PoolCreateArgs, ProfitReportArgs, UserListPublishArgs,
};
use allot::state::{
    AllocationRecord, AllocationRule, Comparison, Credential, ExchangeConfig, ExchangeRequest,
    Pool, ProfitReport, ResourceKind, UserList, Verifier,
};
use allot_cli::commands::user::USER_TOKEN_ACCOUNT_BYTES;
use allot_cli::lookup_table::shared_accounts;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_embedded::{Counting, Embedded, EmbeddedChain};
use anchor_lang::Space;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, ensure};
use clap::Parser;
use serde_json::{Value, json};
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::{AddressLookupTableAccount, Message, VersionedMessage, v0};
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{Transaction, VersionedTransaction};

/// Allocation shards of the sharded pool the bench cranks.
const SHARDS: u16 = 8;

/// A cluster's cost limits: what a block may spend, and what it may spend in transactions
/// writing any one account.
struct CostLimits {
    /// Where the figures come from.
    name: &'static str,
    /// Compute units a block may spend (`block_cost_limits::MAX_BLOCK_UNITS`).
    block_units: u64,
    /// Compute units a block may spend writing any one account
    /// (`block_cost_limits::MAX_WRITABLE_ACCOUNT_UNITS`).
    account_units: u64,
}

/// Agave 4.2.2 (localnet's validator): 60 M a block (SIMD-0256), 24 M per written account
/// (SIMD-0306; agave 3.1 allowed 12 M).
const AGAVE_4_2: CostLimits = CostLimits {
    name: "agave 4.2",
    block_units: 60_000_000,
    account_units: 24_000_000,
};
/// Once SIMD-0286's feature is active: agave scales both limits by 100/60 (100 M a block,
/// 40 M per written account).
const SIMD_0286: CostLimits = CostLimits {
    name: "SIMD-0286 active",
    block_units: 100_000_000,
    account_units: 40_000_000,
};
/// allot's own compute per allocation on SBF: not metered natively, so an estimate (the SPL
/// part is measured).
const ALLOT_UNITS_ESTIMATE: u64 = 25_000;

/// Allocations one block can carry for one pool when each writes one of `lanes` pool-wide
/// accounts (1 without shards: the pool; with shards: one shard each), given `spl_units`
/// measured per allocation. Each crank fee payer is a write lock too: `lanes` payers are needed.
fn allocations_per_block(limits: &CostLimits, lanes: u64, spl_units: u64) -> u64 {
    let per_allocation = spl_units + ALLOT_UNITS_ESTIMATE;
    lanes
        .saturating_mul(limits.account_units)
        .min(limits.block_units)
        / per_allocation.max(1)
}

/// Published per-user record sizes of comparable programs (bytes of account data).
const COMPARED: [(&str, usize); 4] = [
    ("Jito merkle distributor claim status", 64),
    ("Jupiter merkle distributor claim status", 160),
    ("Sablier receipt", 8),
    ("Solana Attestation Service attestation", 181),
];

fn rent(bytes: usize) -> u64 {
    Rent::default().minimum_balance(bytes)
}

/// Serialized size of a transaction carrying `message` (signatures included).
fn size_of(message: VersionedMessage) -> usize {
    let signatures = usize::from(message.header().num_required_signatures);
    let transaction = VersionedTransaction {
        signatures: vec![Signature::default(); signatures],
        message,
    };
    bincode::serialized_size(&transaction).map_or(usize::MAX, |s| s as usize)
}

fn legacy_size(payer: &Pubkey, instructions: &[Instruction]) -> (usize, usize) {
    let message = Message::new(instructions, Some(payer));
    let accounts = message.account_keys.len();
    (size_of(VersionedMessage::Legacy(message)), accounts)
}

fn v0_size(
    payer: &Pubkey,
    instructions: &[Instruction],
    tables: &[AddressLookupTableAccount],
) -> (usize, usize) {
    let message = v0::Message::try_compile(payer, instructions, tables, Hash::default())
        .expect("instructions compile");
    let loaded: usize = message
        .address_table_lookups
        .iter()
        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
        .sum();
    let accounts = message.account_keys.len() + loaded;
    (size_of(VersionedMessage::V0(message)), accounts)
}

/// The most allocations one transaction carries, building real messages until one does not fit.
fn most_per_transaction(
    fits: impl Fn(&[Instruction]) -> bool,
    make: impl Fn() -> Instruction,
) -> usize {
    let mut instructions = Vec::new();
    loop {
        instructions.push(make());
        if !fits(&instructions) || instructions.len() > 200 {
            return instructions.len() - 1;
        }
    }
}

/// What allot costs per user and how fast it moves, on the embedded chain.
#[derive(Parser)]
#[command(name = "allot-bench")]
struct Args {
    /// Users credentialed and allocated by the crank (10 to 1,000,000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(10..=1_000_000))]
    users: u32,
    /// Where the figures are written as JSON.
    #[arg(long, default_value = "target/allot-bench.json")]
    json: String,
}

fn pool_args(pool_id: u64) -> PoolCreateArgs {
    PoolCreateArgs {
        pool_id,
        kind: ResourceKind::VirtualStock,
        decimals: 0,
        transferable: true,
        pausable: false,
        supply_cap: u64::MAX / 2,
        period_seconds: 86_400,
        rule: AllocationRule {
            indicator: 0,
            comparison: Comparison::AtLeast,
            threshold: 1_000,
            amount: 10,
            credential_max_age: 172_800,
        },
    }
}

fn accounts_table() -> (Vec<Value>, Vec<String>) {
    let rows = [
        (
            "allocation record",
            8 + AllocationRecord::INIT_SPACE,
            "user × pool, both modes (allocation payer)",
        ),
        (
            "credential",
            8 + Credential::INIT_SPACE,
            "user × pool, credential mode (verifier)",
        ),
        (
            "user token account (Token-2022 ATA)",
            USER_TOKEN_ACCOUNT_BYTES,
            "user × pool, both modes (allocation payer)",
        ),
        (
            "exchange request",
            8 + ExchangeRequest::INIT_SPACE,
            "request, returned at close (user)",
        ),
        (
            "user list",
            8 + UserList::INIT_SPACE,
            "pool × period, list mode (operator)",
        ),
        (
            "verifier",
            8 + Verifier::INIT_SPACE,
            "verifier × pool (operator)",
        ),
        (
            "profit report",
            8 + ProfitReport::INIT_SPACE,
            "pool × period (operator)",
        ),
        ("pool", 8 + Pool::INIT_SPACE, "pool (creator)"),
    ];
    let mut lines = vec![format!(
        "{:<38} {:>6} {:>12}  per",
        "account", "bytes", "rent (lamports)"
    )];
    let mut json = Vec::new();
    for (name, bytes, per) in rows {
        lines.push(format!("{name:<38} {bytes:>6} {:>12}  {per}", rent(bytes)));
        json.push(
            json!({"account": name, "bytes": bytes, "rent_lamports": rent(bytes), "per": per}),
        );
    }
    let record = 8 + AllocationRecord::INIT_SPACE;
    let credential_mode = record + 8 + Credential::INIT_SPACE + USER_TOKEN_ACCOUNT_BYTES;
    let list_mode = record + USER_TOKEN_ACCOUNT_BYTES;
    lines.push(String::new());
    lines.push(format!(
        "per user, credential mode: {credential_mode} bytes, {} lamports",
        rent(record) + rent(8 + Credential::INIT_SPACE) + rent(USER_TOKEN_ACCOUNT_BYTES)
    ));
    lines.push(format!(
        "per user, user-list mode:  {list_mode} bytes, {} lamports (+ one list account per period)",
        rent(record) + rent(USER_TOKEN_ACCOUNT_BYTES)
    ));
    lines.push(format!(
        "allot's own per-user record: {record} bytes; compared with:"
    ));
    for (name, bytes) in COMPARED {
        lines.push(format!(
            "  {name:<42} {bytes:>4} bytes {:>10} lamports",
            rent(bytes)
        ));
        json.push(json!({"account": name, "bytes": bytes, "rent_lamports": rent(bytes), "per": "published figure"}));
    }
    (json, lines)
}

/// The size, signatures and pool-global write locks of every instruction.
fn instruction_table(payer: &Keypair) -> (Vec<Value>, Vec<String>) {
    let me = payer.pubkey();
    let pool = pdas::pool(&me, 1);
    let user = Pubkey::new_unique();
    let proof = ListProof {
        value: 5_000,
        proof: vec![[7; 32]; 10],
    };
    let globals = [
        ("pool", pool),
        ("mint", pdas::mint(&pool)),
        ("vault", pdas::vault(&pool)),
        ("escrow", pdas::escrow(&pool)),
        ("user list", pdas::user_list(&pool, 0)),
        ("shard", pdas::shard(&pool, 0)),
        ("shard vault", pdas::shard_vault(&pool, 0)),
    ];
    let settle = ExchangeSettleArgs {
        payout_reference: [1; 32],
        paid_amount: 1,
        expected_created_at: 0,
    };
    let all: Vec<(&str, Instruction)> = vec![
        ("pool_create", instructions::pool_create(&me, pool_args(1))),
        (
            "pool_update_rule",
            instructions::pool_update_rule(&me, &pool, pool_args(1).rule),
        ),
        (
            "pool_set_paused",
            instructions::pool_set_paused(&me, &pool, true),
        ),
        ("pool_fund", instructions::pool_fund(&me, &pool, 1)),
        (
            "pool_propose_operator",
            instructions::pool_propose_operator(&me, &pool, &user),
        ),
        (
            "pool_accept_operator",
            instructions::pool_accept_operator(&user, &pool),
        ),
        (
            "verifier_add",
            instructions::verifier_add(&me, &pool, &user),
        ),
        (
            "verifier_set_active",
            instructions::verifier_set_active(&me, &pool, &user, false),
        ),
        (
            "credential_issue",
            instructions::credential_issue(
                &me,
                &pool,
                &user,
                CredentialIssueArgs {
                    period: 0,
                    indicators: [1; 4],
                    expires_at: 1,
                    evidence_hash: [2; 32],
                },
            ),
        ),
        (
            "credential_revoke",
            instructions::credential_revoke(&me, &pool, &user),
        ),
        (
            "user_list_publish",
            instructions::user_list_publish(
                &me,
                &pool,
                UserListPublishArgs {
                    period: 0,
                    root: [3; 32],
                    user_count: 1_000,
                },
            ),
        ),
        (
            "allocate (credential)",
            instructions::allocate(&me, &pool, &user, Evidence::Credential),
        ),
        (
            "allocate (list, 10-level proof)",
            instructions::allocate(
                &me,
                &pool,
                &user,
                Evidence::UserList {
                    period: 0,
                    proof: proof.clone(),
                },
            ),
        ),
        (
            "allocate_sharded (credential)",
            instructions::allocate_sharded(&me, &pool, &user, 0, Evidence::Credential),
        ),
        (
            "allocate_sharded (list, 10-level)",
            instructions::allocate_sharded(
                &me,
                &pool,
                &user,
                0,
                Evidence::UserList {
                    period: 0,
                    proof: proof.clone(),
                },
            ),
        ),
        ("shard_create", instructions::shard_create(&me, &pool, 0)),
        ("shard_fund", instructions::shard_fund(&me, &pool, 0, 1)),
        ("shard_drain", instructions::shard_drain(&me, &pool, 0, 1)),
        ("shard_sweep", instructions::shard_sweep(&pool, 0)),
        (
            "clawback (credential)",
            instructions::clawback(&pool, &user, Evidence::Credential),
        ),
        (
            "clawback (list, 10-level proof)",
            instructions::clawback(&pool, &user, Evidence::UserList { period: 0, proof }),
        ),
        (
            "pool_set_exchange",
            instructions::pool_set_exchange(&me, &pool, ExchangeConfig::closed(me)),
        ),
        (
            "profit_report_record",
            instructions::profit_report_record(
                &me,
                &pool,
                ProfitReportArgs {
                    period: 0,
                    amount: 1,
                    currency: *b"USD",
                    evidence_hash: [4; 32],
                },
            ),
        ),
        (
            "exchange_request",
            instructions::exchange_request(&user, &user, &pool, 0, 1),
        ),
        (
            "exchange_settle",
            instructions::exchange_settle(&me, &pool, 0, settle, None),
        ),
        (
            "exchange_cancel",
            instructions::exchange_cancel(&user, &pool, 0),
        ),
        (
            "exchange_reject",
            instructions::exchange_reject(&me, &pool, 0, 0, &user, 1),
        ),
        (
            "exchange_close",
            instructions::exchange_close(&pool, 0, &user),
        ),
    ];
    let mut lines = vec![format!(
        "{:<34} {:>6} {:>9} {:>5}  pool-wide write locks (a shard: one of the pool's shards)",
        "instruction", "bytes", "accounts", "sigs"
    )];
    let mut json = Vec::new();
    for (name, instruction) in all {
        let fee_payer = instruction
            .accounts
            .iter()
            .find(|m| m.is_signer)
            .map_or(me, |m| m.pubkey);
        let (bytes, accounts) = legacy_size(&fee_payer, std::slice::from_ref(&instruction));
        let signers = instruction
            .accounts
            .iter()
            .filter(|m| m.is_signer)
            .map(|m| m.pubkey)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            .max(1);
        let locks: Vec<&str> = globals
            .iter()
            .filter(|(_, key)| {
                instruction
                    .accounts
                    .iter()
                    .any(|m| m.pubkey == *key && m.is_writable)
            })
            .map(|(label, _)| *label)
            .collect();
        lines.push(format!(
            "{name:<34} {bytes:>6} {accounts:>9} {signers:>5}  {}",
            if locks.is_empty() {
                "-".to_string()
            } else {
                locks.join(", ")
            }
        ));
        json.push(json!({"instruction": name, "transaction_bytes": bytes, "accounts": accounts, "signatures": signers, "pool_write_locks": locks}));
    }
    (json, lines)
}

fn packing_table(payer: &Keypair, pool_state: &Pool, pool: &Pubkey) -> (Value, Vec<String>) {
    let me = payer.pubkey();
    let make = || instructions::allocate(&me, pool, &Pubkey::new_unique(), Evidence::Credential);
    let limit = |(bytes, accounts): (usize, usize)| bytes <= 1232 && accounts <= 64;
    let legacy = most_per_transaction(|ix| limit(legacy_size(&me, ix)), make);
    let v0_plain = most_per_transaction(|ix| limit(v0_size(&me, ix, &[])), make);
    let shared = AddressLookupTableAccount {
        key: Pubkey::new_unique(),
        addresses: shared_accounts(pool, pool_state),
    };
    let v0_shared = most_per_transaction(
        |ix| limit(v0_size(&me, ix, std::slice::from_ref(&shared))),
        make,
    );
    // A table that also holds every user's keys (user, credential, record, token account).
    let users_table = |ix: &[Instruction]| {
        let mut addresses = shared.addresses.clone();
        for i in ix {
            for meta in &i.accounts {
                if !addresses.contains(&meta.pubkey)
                    && meta.pubkey != me
                    && meta.pubkey != allot::ID
                {
                    addresses.push(meta.pubkey);
                }
            }
        }
        AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: addresses.into_iter().take(256).collect(),
        }
    };
    let v0_users = most_per_transaction(|ix| limit(v0_size(&me, ix, &[users_table(ix)])), make);
    // Sharded allocations (all on one shard, as the crank packs them), with the pool's table.
    let sharded = || {
        instructions::allocate_sharded(&me, pool, &Pubkey::new_unique(), 0, Evidence::Credential)
    };
    let sharded_legacy = most_per_transaction(|ix| limit(legacy_size(&me, ix)), sharded);
    let sharded_v0_shared = most_per_transaction(
        |ix| limit(v0_size(&me, ix, std::slice::from_ref(&shared))),
        sharded,
    );
    let lines = vec![
        format!(
            "allocations per transaction (1,232 bytes, 64 accounts): legacy {legacy}, v0 {v0_plain}, v0 + table of shared accounts {v0_shared}, v0 + table holding users' keys too {v0_users}"
        ),
        format!(
            "sharded allocations per transaction: legacy {sharded_legacy}, v0 + table of shared accounts (shards included) {sharded_v0_shared}"
        ),
    ];
    (
        json!({"legacy": legacy, "v0": v0_plain, "v0_shared_table": v0_shared, "v0_users_table": v0_users,
               "sharded_legacy": sharded_legacy, "sharded_v0_shared_table": sharded_v0_shared}),
        lines,
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let Args { users, json } = Args::parse();
    let (user_count, json_path) = (users as usize, json);
    let dir = tempfile::tempdir()?;
    let embedded = Embedded::start().await;
    let chain = Counting::new(embedded.chain());
    let payer = embedded.payer();

    let (accounts_json, lines) = accounts_table();
    println!("== on-chain cost per user (Rent::default())");
    lines.iter().for_each(|l| println!("{l}"));

    let (instructions_json, lines) = instruction_table(payer);
    println!(
        "\n== transaction size of each instruction (alone, legacy message) and write locks on pool-wide accounts"
    );
    lines.iter().for_each(|l| println!("{l}"));

    // A real pool for packing and throughput: operator = verifier = crank = the genesis payer.
    let keypair_file = dir.path().join("payer.json");
    solana_sdk::signature::write_keypair_file(payer, &keypair_file)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let keypair_file = keypair_file.display().to_string();
    let me = payer.pubkey();
    allot_cli::sender::send(
        &chain,
        payer,
        &[],
        &[instructions::pool_create(&me, pool_args(7))],
    )
    .await?;
    let pool = pdas::pool(&me, 7);
    let supply = u64::try_from(user_count)
        .unwrap_or(u64::MAX)
        .saturating_mul(10);
    allot_cli::sender::send(
        &chain,
        payer,
        &[],
        &[
            instructions::pool_fund(&me, &pool, supply),
            instructions::verifier_add(&me, &pool, &me),
        ],
    )
    .await?;
    let pool_state: Pool = allot_client::accounts::fetch(&chain, pool)
        .await?
        .context("pool")?;

    // The table a pool with `SHARDS` shards gets (`allot lookup-table create` adds the shards).
    let mut with_shards = pool_state.clone();
    with_shards.shard_count = SHARDS;
    let (packing_json, lines) = packing_table(payer, &with_shards, &pool);
    println!("\n== packing");
    lines.iter().for_each(|l| println!("{l}"));

    // Compute units of one allocation: the SPL CPIs are metered even with the program native.
    let units = first_allocation_units(&embedded, payer, &pool, None).await?;
    println!(
        "\n== compute units of one first allocation (creates the token account and record; SPL CPIs metered): {units}"
    );

    // Throughput: credentials in bulk, then the crank, through the CLI as an operator runs it:
    // once on a pool without shards, once on a pool whose allocations draw on 8 shards.
    let direct = throughput(&chain, &keypair_file, &pool, user_count, dir.path()).await?;
    let sharded_pool = pdas::pool(&me, 8);
    // Every shard gets the same whole number of allocations; together they cover every user.
    let per_shard = supply.div_ceil(u64::from(SHARDS) * 10) * 10;
    allot_cli::sender::send(
        &chain,
        payer,
        &[],
        &[instructions::pool_create(&me, pool_args(8))],
    )
    .await?;
    allot_cli::sender::send(
        &chain,
        payer,
        &[],
        &[
            instructions::pool_fund(&me, &sharded_pool, per_shard * u64::from(SHARDS)),
            instructions::verifier_add(&me, &sharded_pool, &me),
        ],
    )
    .await?;
    let per_shard = per_shard.to_string();
    let sharded_text = sharded_pool.to_string();
    let shards = SHARDS.to_string();
    cli(
        &chain,
        &keypair_file,
        &[
            "operator",
            "shards",
            "--pool",
            &sharded_text,
            "--count",
            &shards,
            "--fund-each",
            &per_shard,
        ],
    )
    .await?;
    let sharded_units = first_allocation_units(&embedded, payer, &sharded_pool, Some(0)).await?;
    println!("compute units of one first sharded allocation: {sharded_units}");
    let spl_units = sharded_units.max(units);
    let mut per_block: Vec<(&str, u64, u64)> = Vec::new();
    for limits in [&AGAVE_4_2, &SIMD_0286] {
        println!(
            "\n== write-lock bound on one pool's allocations per block, {} (estimate: {} units a block, {} per written account, {spl_units} measured SPL + {ALLOT_UNITS_ESTIMATE} allot units per allocation)",
            limits.name, limits.block_units, limits.account_units
        );
        for lanes in [1, 2, 3, 4, 5] {
            let bound = allocations_per_block(limits, lanes, spl_units);
            let how = if lanes == 1 {
                "pool vault (each allocation writes the pool, mint and vault), or 1 shard"
                    .to_string()
            } else {
                format!("{lanes} shards (and {lanes} crank fee payers)")
            };
            println!("{how}: {bound} allocations per block");
            per_block.push((limits.name, lanes, bound));
        }
    }
    let sharded = throughput(&chain, &keypair_file, &sharded_pool, user_count, dir.path()).await?;
    ensure!(
        sharded.crank["sharded_allocations"].as_u64() == Some(user_count as u64),
        "every allocation of the sharded pool came from a shard: {}",
        sharded.crank
    );
    let swept: Pool = allot_client::accounts::fetch(&chain, sharded_pool)
        .await?
        .context("sharded pool")?;
    ensure!(
        swept.totals.allocations == user_count as u64
            && swept.totals.staged < u64::from(SHARDS) * 10,
        "the crank swept the shards into the pool's totals: {:?}",
        swept.totals
    );
    println!("\n== throughput in-process ({user_count} users, one process, 2 cores)");
    for (label, run) in [("pool vault", &direct), ("8 shards", &sharded)] {
        println!(
            "{label}: credentials {} in {} transactions, {:.1} s ({:.0}/s); crank {} allocations in {} transactions, {:.1} s ({:.0} allocations/s)",
            run.issued["issued"],
            run.issued["transactions"],
            run.issue_seconds,
            user_count as f64 / run.issue_seconds,
            run.allocations,
            run.crank_transactions,
            run.crank_seconds,
            run.allocations as f64 / run.crank_seconds
        );
    }

    let report = json!({
        "users": user_count,
        "accounts": accounts_json,
        "instructions": instructions_json,
        "allocations_per_transaction": packing_json,
        "allocation_compute_units": units,
        "sharded_allocation_compute_units": sharded_units,
        "allocations_per_block_estimate": per_block.iter().map(|(limits, lanes, bound)| json!({"limits": limits, "write_lanes": lanes, "allocations": bound})).collect::<Vec<_>>(),
        "throughput": direct.json(),
        "throughput_sharded": sharded.json(),
    });
    if let Some(parent) = std::path::Path::new(&json_path).parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
    println!("\nfigures written to {json_path}");
    Ok(())
}

/// Runs `allot` (JSON output) against the embedded chain as the bench's keypair.
async fn cli(chain: &Counting<EmbeddedChain>, keypair_file: &str, args: &[&str]) -> Result<Value> {
    let mut argv = vec!["allot", "--keypair", keypair_file, "--output", "json"];
    argv.extend_from_slice(args);
    let out = allot_cli::run_argv(chain, &argv).await?;
    Ok(serde_json::from_str(&out)?)
}

/// Compute units a first allocation consumes (it creates the user's token account and record),
/// from the pool's vault or from shard `shard`, simulated for a freshly credentialed user.
async fn first_allocation_units(
    embedded: &Embedded,
    payer: &Keypair,
    pool: &Pubkey,
    shard: Option<u16>,
) -> Result<u64> {
    let me = payer.pubkey();
    let probe = Keypair::new().pubkey();
    let issue = instructions::credential_issue(
        &me,
        pool,
        &probe,
        CredentialIssueArgs {
            period: 0,
            indicators: [5_000, 0, 0, 0],
            expires_at: i64::MAX,
            evidence_hash: [0; 32],
        },
    );
    allot_cli::sender::send(&embedded.chain(), payer, &[], &[issue]).await?;
    let allocate = match shard {
        Some(index) => {
            instructions::allocate_sharded(&me, pool, &probe, index, Evidence::Credential)
        }
        None => instructions::allocate(&me, pool, &probe, Evidence::Credential),
    };
    let blockhash = embedded.banks().get_latest_blockhash().await?;
    let tx = Transaction::new_signed_with_payer(&[allocate], Some(&me), &[payer], blockhash);
    let simulated = embedded.banks().simulate_transaction(tx).await?;
    // The probe leaves no eligible user behind for the crank runs that follow.
    let revoke = instructions::credential_revoke(&me, pool, &probe);
    allot_cli::sender::send(&embedded.chain(), payer, &[], &[revoke]).await?;
    Ok(simulated
        .simulation_details
        .context("simulation details")?
        .units_consumed)
}

/// One throughput run: credentials for `users` new users in bulk, a lookup table, the crank.
struct Throughput {
    issued: Value,
    issue_seconds: f64,
    crank: Value,
    allocations: u64,
    crank_transactions: u64,
    crank_seconds: f64,
}

impl Throughput {
    fn json(&self) -> Value {
        json!({
            "credentials_issued": self.issued["issued"], "issue_seconds": self.issue_seconds,
            "allocations": self.allocations, "crank_transactions": self.crank_transactions,
            "crank_seconds": self.crank_seconds,
            "allocations_per_second": self.allocations as f64 / self.crank_seconds,
        })
    }
}

async fn throughput(
    chain: &Counting<EmbeddedChain>,
    keypair_file: &str,
    pool: &Pubkey,
    user_count: usize,
    dir: &std::path::Path,
) -> Result<Throughput> {
    let mut csv = String::from("user,indicators,evidence\n");
    for i in 0..user_count {
        csv.push_str(&format!("{},5000,bench-{i}\n", Keypair::new().pubkey()));
    }
    let csv_path = dir.join(format!("credentials-{pool}.csv"));
    std::fs::write(&csv_path, csv)?;
    let pool_text = pool.to_string();
    let csv_text = csv_path.display().to_string();
    let started = Instant::now();
    let issued = cli(
        chain,
        keypair_file,
        &[
            "verifier",
            "issue-bulk",
            "--pool",
            &pool_text,
            "--file",
            &csv_text,
        ],
    )
    .await?;
    let issue_seconds = started.elapsed().as_secs_f64();
    let table = cli(
        chain,
        keypair_file,
        &["lookup-table", "create", "--pool", &pool_text],
    )
    .await?;
    let table = table["lookup_table"].as_str().context("table")?.to_string();
    let landed_before = chain.landed();
    let started = Instant::now();
    let crank = cli(
        chain,
        keypair_file,
        &[
            "crank",
            "--pool",
            &pool_text,
            "--lookup-table",
            &table,
            "--max-per-transaction",
            "32",
        ],
    )
    .await?;
    let crank_seconds = started.elapsed().as_secs_f64();
    let crank_transactions = chain.landed() - landed_before;
    let allocations = crank["allocations"].as_u64().unwrap_or_default();
    ensure!(
        allocations == user_count as u64,
        "every user was allocated: {crank}"
    );
    Ok(Throughput {
        issued,
        issue_seconds,
        crank,
        allocations,
        crank_transactions,
        crank_seconds,
    })
}
