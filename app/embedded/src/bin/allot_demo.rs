//! The main job: a payment platform runs a pool of virtual stock for a few hundred users, end to
//! end, on the embedded chain (the real Agave runtime in-process; no validator, no network).
//!
//! `cargo run -p allot-embedded --bin allot-demo [-- --users 300]`
//!
//! Every step is an `allot` CLI command, run exactly as a person types it (the same code the
//! `allot` binary runs over JSON-RPC): the operator creates the pool from a TOML file, two
//! verifiers issue credentials from CSV files, the crank allocates, some credentials are revoked
//! or downgraded and the crank claws back, users request exchanges, the settlement authority
//! settles them, and a report prints the pool's totals, each role's activity and costs.

use std::path::PathBuf;
use std::time::Instant;

use allot::state::{AllocationRecord, Pool};
use allot_client::chain::Chain;
use allot_client::{accounts, pdas};
use allot_embedded::{Counting, Embedded, EmbeddedChain};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, ensure};
use serde_json::Value;
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signer, write_keypair_file};

/// Allocation shards the operator gives the pool.
const SHARDS: u64 = 4;

/// The example pool file, with the verifiers filled in by the job.
const POOL_FILE: &str = include_str!("../../../../migrations/pools/example.toml");

/// SplitMix64: a fixed-seed generator, so every run tells the same story.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One role: its keypair file and the activity counted for the report.
struct Role {
    name: &'static str,
    key: Pubkey,
    file: String,
    transactions: u64,
    start_lamports: u64,
}

struct Job {
    embedded: Embedded,
    chain: Counting<EmbeddedChain>,
    dir: PathBuf,
}

impl Job {
    /// Runs `allot --keypair <role> --output json <args…>` and returns the JSON it prints.
    async fn allot(&self, role: &mut Role, args: &[&str]) -> Result<Value> {
        let before = self.chain.landed();
        let mut argv = vec!["allot", "--keypair", &role.file, "--output", "json"];
        argv.extend_from_slice(args);
        let text = allot_cli::run_argv(&self.chain, &argv)
            .await
            .with_context(|| format!("allot {}", args.join(" ")))?;
        role.transactions += self.chain.landed() - before;
        Ok(serde_json::from_str(&text)?)
    }

    async fn role(&self, name: &'static str, lamports: u64) -> Result<Role> {
        let key = Keypair::new();
        let file = self.write_keypair(name, &key)?;
        self.fund(&key.pubkey(), lamports).await?;
        Ok(Role {
            name,
            key: key.pubkey(),
            file,
            transactions: 0,
            start_lamports: lamports,
        })
    }

    fn write_keypair(&self, name: &str, key: &Keypair) -> Result<String> {
        let path = self.dir.join(format!("{name}.json"));
        write_keypair_file(key, &path).map_err(|e| anyhow::anyhow!("writing {name}: {e}"))?;
        Ok(path.display().to_string())
    }

    async fn fund(&self, to: &Pubkey, lamports: u64) -> Result<()> {
        let payer = self.embedded.payer();
        let transfer = anchor_lang::solana_program::system_instruction::transfer(
            &payer.pubkey(),
            to,
            lamports,
        );
        allot_cli::sender::send(&self.chain, payer, &[], &[transfer]).await?;
        Ok(())
    }

    fn file(&self, name: &str, text: &str) -> Result<String> {
        let path = self.dir.join(name);
        std::fs::write(&path, text)?;
        Ok(path.display().to_string())
    }

    async fn lamports(&self, key: &Pubkey) -> Result<u64> {
        Ok(self.chain.account(*key).await?.map_or(0, |a| a.lamports))
    }
}

fn sol(lamports: u64) -> String {
    allot_cli::sender::sol(lamports)
}

fn users_arg() -> Result<usize> {
    let mut args = std::env::args().skip(1);
    let mut users = 300;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => {
                users = args
                    .next()
                    .context("--users needs a number")?
                    .parse()
                    .context("--users must be a whole number")?;
            }
            other => anyhow::bail!("unknown argument {other:?} (allot-demo [--users N])"),
        }
    }
    ensure!(
        (10..=100_000).contains(&users),
        "--users must be 10..=100000"
    );
    Ok(users)
}

#[tokio::main]
async fn main() -> Result<()> {
    let user_count = users_arg()?;
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let embedded = Embedded::start().await;
    let chain = Counting::new(embedded.chain());
    let job = Job {
        embedded,
        chain,
        dir: dir.path().to_path_buf(),
    };
    let mut rng = Seeded(2026);

    println!(
        "allot main job: {user_count} users on the embedded chain (Agave runtime in-process)\n"
    );
    let mut operator = job.role("operator", 100_000_000_000).await?;
    let mut verifier_a = job.role("verifier A", 10_000_000_000).await?;
    let mut verifier_b = job.role("verifier B", 10_000_000_000).await?;
    let mut crank = job.role("crank", 100_000_000_000).await?;

    // 1. The operator creates the pool from its TOML file, with both verifiers.
    let pool_text = POOL_FILE.replace(
        "verifiers = []",
        &format!(
            "verifiers = [\"{}\", \"{}\"]",
            verifier_a.key, verifier_b.key
        ),
    );
    let pool_file = job.file("pool.toml", &pool_text)?;
    let created = job
        .allot(&mut operator, &["migrate", "--file", &pool_file])
        .await?;
    let pool: Pubkey = created["pools"][0]["pool"]
        .as_str()
        .context("pool address")?
        .parse()?;
    let pool_arg = pool.to_string();
    println!("1. operator: `allot migrate --file pool.toml` created pool {pool}");
    for step in created["pools"][0]["sent"].as_array().into_iter().flatten() {
        println!("     {}", step["step"].as_str().unwrap_or_default());
    }
    let rerun = job
        .allot(&mut operator, &["migrate", "--file", &pool_file])
        .await?;
    println!(
        "   migrate again: {} transactions (idempotent)",
        rerun["pools"][0]["sent"].as_array().map_or(0, Vec::len)
    );

    // 2. Two verifiers credential the users with this period's payment volume.
    let users: Vec<Keypair> = (0..user_count).map(|_| Keypair::new()).collect();
    let volumes: Vec<u64> = users.iter().map(|_| rng.next() % 3_000).collect();
    let half = user_count / 2;
    for (verifier, range, name) in [
        (&mut verifier_a, 0..half, "a"),
        (&mut verifier_b, half..user_count, "b"),
    ] {
        let mut csv = String::from("user,indicators,evidence\n");
        for i in range.clone() {
            csv.push_str(&format!(
                "{},{},kyc-{name}-{i}\n",
                users[i].pubkey(),
                volumes[i]
            ));
        }
        let file = job.file(&format!("credentials-{name}.csv"), &csv)?;
        let issued = job
            .allot(
                verifier,
                &[
                    "verifier",
                    "issue-bulk",
                    "--pool",
                    &pool_arg,
                    "--file",
                    &file,
                ],
            )
            .await?;
        println!(
            "2. {}: `allot verifier issue-bulk` issued {} credentials in {} transactions",
            verifier.name, issued["issued"], issued["transactions"]
        );
    }
    let qualifying = volumes.iter().filter(|v| **v >= 1_000).count();

    // 3. The operator splits the vault into four allocation shards (allocations from different
    //    shards land in parallel on a cluster); the crank allocates to everyone whose volume
    //    meets the rule from the shards, sweeps them into the pool's totals, then finds nothing
    //    to do. A lookup table of the pool's shared accounts lets each transaction carry more
    //    users.
    let rule_amount = accounts::fetch::<Pool>(&job.chain, pool)
        .await?
        .context("pool")?
        .rule
        .amount;
    // Whole allocations per shard, enough for every qualifying user.
    let fund_each = ((qualifying as u64).div_ceil(SHARDS).max(1) * rule_amount).to_string();
    let shards = job
        .allot(
            &mut operator,
            &[
                "operator",
                "shards",
                "--pool",
                &pool_arg,
                "--count",
                &SHARDS.to_string(),
                "--fund-each",
                &fund_each,
            ],
        )
        .await?;
    println!(
        "3. operator: `allot operator shards` created {} shards and moved {} units into them",
        shards["created"], shards["units_moved"]
    );
    let table = job
        .allot(&mut crank, &["lookup-table", "create", "--pool", &pool_arg])
        .await?;
    let table = table["lookup_table"]
        .as_str()
        .context("table address")?
        .to_string();
    let crank_args = [
        "crank",
        "--pool",
        &pool_arg,
        "--lookup-table",
        &table,
        "--max-per-transaction",
        "32",
    ];
    let plain = job
        .allot(
            &mut crank,
            &[
                "crank",
                "--pool",
                &pool_arg,
                "--max-per-transaction",
                "32",
                "--dry-run",
            ],
        )
        .await?;
    let clock = Instant::now();
    let allocated = job.allot(&mut crank, &crank_args).await?;
    println!(
        "   crank: scanned {} users, allocated to {} (volume ≥ 1,000: {qualifying}; {} from shards {}) in {} transactions, {:.1?}",
        allocated["scanned"],
        allocated["allocations"],
        allocated["sharded_allocations"],
        allocated["shards_used"],
        allocated["transactions"],
        clock.elapsed()
    );
    println!(
        "   up to {} allocations per transaction with lookup table {table} ({} without: {} transactions)",
        allocated["largest_transaction"],
        plain["largest_transaction"],
        plain["planned_transactions"]
    );
    ensure!(
        allocated["allocations"].as_u64() == Some(qualifying as u64),
        "every qualifying user is allocated"
    );
    let again = job.allot(&mut crank, &crank_args).await?;
    println!(
        "   crank again: {} transactions (idempotent)",
        again["transactions"]
    );

    // 4. Verifier A revokes some credentials, verifier B downgrades some volumes; the crank claws back.
    let holders: Vec<usize> = (0..user_count).filter(|i| volumes[*i] >= 1_000).collect();
    let revoked: Vec<usize> = holders
        .iter()
        .copied()
        .filter(|i| *i < half)
        .take(10)
        .collect();
    let downgraded: Vec<usize> = holders
        .iter()
        .copied()
        .filter(|i| *i >= half)
        .take(8)
        .collect();
    let revoke_csv = revoked.iter().fold(String::from("user\n"), |s, i| {
        s + &format!("{}\n", users[*i].pubkey())
    });
    let file = job.file("revoke.csv", &revoke_csv)?;
    job.allot(
        &mut verifier_a,
        &[
            "verifier",
            "revoke-bulk",
            "--pool",
            &pool_arg,
            "--file",
            &file,
        ],
    )
    .await?;
    let downgrade_csv = downgraded
        .iter()
        .fold(String::from("user,indicators,evidence\n"), |s, i| {
            s + &format!("{},200,kyc-b-{i}-amended\n", users[*i].pubkey())
        });
    let file = job.file("downgrade.csv", &downgrade_csv)?;
    job.allot(
        &mut verifier_b,
        &[
            "verifier",
            "issue-bulk",
            "--pool",
            &pool_arg,
            "--file",
            &file,
        ],
    )
    .await?;
    let clawed = job.allot(&mut crank, &crank_args).await?;
    println!(
        "4. verifier A revoked {}, verifier B downgraded {}; crank clawed back {} units from {} users in {} transactions",
        revoked.len(),
        downgraded.len(),
        clawed["clawed_back_units"],
        clawed["clawbacks"],
        clawed["transactions"]
    );

    // 5. Some holders exchange units (each signs with its own wallet, as in Phantom).
    let exchangers: Vec<usize> = holders
        .iter()
        .copied()
        .filter(|i| !revoked.contains(i) && !downgraded.contains(i))
        .take(20)
        .collect();
    let mut user_role = Role {
        name: "users",
        key: Pubkey::default(),
        file: String::new(),
        transactions: 0,
        start_lamports: 0,
    };
    let mut quoted_total = 0;
    for i in &exchangers {
        job.fund(&users[*i].pubkey(), 10_000_000).await?;
        user_role.start_lamports += 10_000_000;
        user_role.file = job.write_keypair(&format!("user-{i}"), &users[*i])?;
        let requested = job
            .allot(
                &mut user_role,
                &["user", "exchange", "--pool", &pool_arg, "--amount", "8"],
            )
            .await?;
        quoted_total += requested["quoted"].as_u64().unwrap_or_default();
    }
    println!(
        "5. {} users requested exchanges of 8 units each, quoted {quoted_total} USD minor units in all",
        exchangers.len()
    );

    // 6. The settlement authority (the operator's bridge key) locks every pending request (its
    // user can no longer cancel it), pays it off chain, and settles it.
    let pending = job
        .allot(
            &mut operator,
            &["settlement", "pending", "--pool", &pool_arg],
        )
        .await?;
    let ids: Vec<u64> = pending["pending"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .collect();
    for id in &ids {
        let id = id.to_string();
        job.allot(
            &mut operator,
            &["settlement", "lock", "--pool", &pool_arg, "--request", &id],
        )
        .await?;
        job.allot(
            &mut operator,
            &[
                "settlement",
                "settle",
                "--pool",
                &pool_arg,
                "--request",
                &id,
                "--reference",
                &format!("psp-payment-{id}"),
            ],
        )
        .await?;
    }
    println!(
        "6. settlement authority locked, paid and settled {} requests",
        ids.len()
    );

    // The report.
    let state: Pool = accounts::fetch(&job.chain, pool).await?.context("pool")?;
    let vault = allot_cli::commands::user::holding(&job.chain, &state.mint, &pool).await?;
    let mut held = 0;
    for user in &users {
        held += allot_cli::commands::user::holding(&job.chain, &state.mint, &user.pubkey()).await?;
    }
    let mut in_shards = 0;
    for index in 0..state.shard_count {
        in_shards +=
            allot_cli::commands::user::holding(&job.chain, &state.mint, &pdas::shard(&pool, index))
                .await?;
    }
    let t = state.totals;
    let x = state.exchange_state;
    let burned_at_settlement = x.settled;
    println!("\n== pool {pool}");
    println!(
        "   minted {}  allocated {} ({} allocations)  clawed back {}  outstanding {}",
        t.minted, t.allocated, t.allocations, t.clawed_back, t.outstanding
    );
    println!(
        "   vault {vault}  shards {in_shards}  held by users {held}  escrowed {}  settled (burned) {burned_at_settlement}  funds settled {} USD minor units",
        x.escrowed, x.funds_settled
    );
    ensure!(
        vault + in_shards + held + x.escrowed + burned_at_settlement == t.minted,
        "conservation: vault + shards + holders + escrow + settled must equal minted"
    );
    ensure!(
        state.held_by_users() == held + x.escrowed,
        "the pool's books (swept) count what users hold and have in escrow"
    );
    println!(
        "   conservation holds: vault + shards + holders + escrow + settled = minted = {}",
        t.minted
    );

    let rent = Rent::default();
    let record_rent =
        rent.minimum_balance(8 + <AllocationRecord as anchor_lang::Space>::INIT_SPACE);
    let token_rent = rent.minimum_balance(allot_cli::commands::user::USER_TOKEN_ACCOUNT_BYTES);
    let credential_rent =
        rent.minimum_balance(8 + <allot::state::Credential as anchor_lang::Space>::INIT_SPACE);
    println!("\n== per-role activity (transactions, SOL spent on fees and rent)");
    for role in [&operator, &verifier_a, &verifier_b, &crank] {
        let spent = role
            .start_lamports
            .saturating_sub(job.lamports(&role.key).await?);
        println!(
            "   {:<11} {:>5} transactions  {} SOL",
            role.name,
            role.transactions,
            sol(spent)
        );
    }
    let mut users_left = 0;
    for i in &exchangers {
        users_left += job.lamports(&users[*i].pubkey()).await?;
    }
    println!(
        "   {:<11} {:>5} transactions  {} SOL",
        user_role.name,
        user_role.transactions,
        sol(user_role.start_lamports.saturating_sub(users_left))
    );
    println!("\n== rent per user (refundable deposits)");
    println!(
        "   credential {} SOL (verifier)  allocation record {} SOL + token account {} SOL (crank)",
        sol(credential_rent),
        sol(record_rent),
        sol(token_rent)
    );
    println!(
        "   a credentialed, allocated user costs {} SOL in rent",
        sol(credential_rent + record_rent + token_rent)
    );
    let records = job
        .chain
        .accounts(
            users
                .iter()
                .map(|u| pdas::allocation_record(&pool, &u.pubkey()))
                .collect(),
        )
        .await?;
    println!(
        "   allocation records on chain: {}",
        records.iter().flatten().count()
    );
    println!(
        "\n== {} transactions landed, {} refused, in {:.1?}",
        job.chain.landed(),
        job.chain.failed(),
        started.elapsed()
    );
    Ok(())
}
