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

use std::path::{Path, PathBuf};
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
    let mut story = Story::begin(dir.path(), user_count).await?;
    let pool = story.create_pool().await?;
    story.issue_credentials(&pool).await?;
    let table = story.allocate(&pool).await?;
    let changed = story.claw_back(&pool, &table).await?;
    let exchangers = story.request_exchanges(&pool, &changed).await?;
    story.settle_requests(&pool).await?;
    story.report_pool(&pool).await?;
    story.report_activity(&exchangers).await?;
    story.report_rent(&pool).await?;
    story.report_end(started);
    Ok(())
}

/// What the story's steps share: the chain, the four roles, the users and their payment volumes.
struct Story {
    /// The embedded chain and the job's files.
    job: Job,
    /// Creates the pool and its shards, and settles exchanges as the settlement authority.
    operator: Role,
    /// Credentials the first half of the users, then revokes some.
    verifier_a: Role,
    /// Credentials the second half of the users, then downgrades some.
    verifier_b: Role,
    /// Allocates and claws back.
    crank: Role,
    /// The users' wallets.
    users: Vec<Keypair>,
    /// Each user's payment volume this period (fixed seed).
    volumes: Vec<u64>,
}

/// The users whose credentials step 4 changes (indices into [`Story::users`]).
struct Changed {
    /// Allocated users whose credential verifier A revoked.
    revoked: Vec<usize>,
    /// Allocated users whose volume verifier B downgraded below the rule.
    downgraded: Vec<usize>,
}

/// The users who requested exchanges in step 5, and their activity for the report.
struct Exchangers {
    /// Their indices into [`Story::users`].
    users: Vec<usize>,
    /// Their transactions and the lamports they were given, counted together.
    role: Role,
}

/// The crank's arguments for `pool` with lookup table `table`.
fn crank_args<'a>(pool: &'a str, table: &'a str) -> [&'a str; 7] {
    [
        "crank",
        "--pool",
        pool,
        "--lookup-table",
        table,
        "--max-per-transaction",
        "32",
    ]
}

impl Story {
    /// Starts the embedded chain with files in `dir`, prints the title, funds the four roles and
    /// draws `user_count` users with their volumes.
    async fn begin(dir: &Path, user_count: usize) -> Result<Self> {
        let embedded = Embedded::start().await;
        let chain = Counting::new(embedded.chain());
        let job = Job {
            embedded,
            chain,
            dir: dir.to_path_buf(),
        };
        println!(
            "allot main job: {user_count} users on the embedded chain (Agave runtime in-process)\n"
        );
        let operator = job.role("operator", 100_000_000_000).await?;
        let verifier_a = job.role("verifier A", 10_000_000_000).await?;
        let verifier_b = job.role("verifier B", 10_000_000_000).await?;
        let crank = job.role("crank", 100_000_000_000).await?;
        let mut rng = Seeded(2026);
        let users: Vec<Keypair> = (0..user_count).map(|_| Keypair::new()).collect();
        let volumes: Vec<u64> = users.iter().map(|_| rng.next() % 3_000).collect();
        Ok(Self {
            job,
            operator,
            verifier_a,
            verifier_b,
            crank,
            users,
            volumes,
        })
    }

    /// Index of the first user credentialed by verifier B (verifier A credentials those before).
    fn half(&self) -> usize {
        self.users.len() / 2
    }

    /// The users whose volume meets the rule (≥ 1,000), by index.
    fn holders(&self) -> Vec<usize> {
        (0..self.users.len())
            .filter(|i| self.volumes[*i] >= 1_000)
            .collect()
    }

    /// Step 1: the operator creates the pool from its TOML file, with both verifiers, and runs the
    /// migration again to show it is idempotent.
    async fn create_pool(&mut self) -> Result<Pubkey> {
        let pool_text = POOL_FILE.replace(
            "verifiers = []",
            &format!(
                "verifiers = [\"{}\", \"{}\"]",
                self.verifier_a.key, self.verifier_b.key
            ),
        );
        let pool_file = self.job.file("pool.toml", &pool_text)?;
        let created = self
            .job
            .allot(&mut self.operator, &["migrate", "--file", &pool_file])
            .await?;
        let pool: Pubkey = created["pools"][0]["pool"]
            .as_str()
            .context("pool address")?
            .parse()?;
        println!("1. operator: `allot migrate --file pool.toml` created pool {pool}");
        for step in created["pools"][0]["sent"].as_array().into_iter().flatten() {
            println!("     {}", step["step"].as_str().unwrap_or_default());
        }
        let rerun = self
            .job
            .allot(&mut self.operator, &["migrate", "--file", &pool_file])
            .await?;
        println!(
            "   migrate again: {} transactions (idempotent)",
            rerun["pools"][0]["sent"].as_array().map_or(0, Vec::len)
        );
        Ok(pool)
    }

    /// Step 2: two verifiers credential the users with this period's payment volume, each half from
    /// a CSV file.
    async fn issue_credentials(&mut self, pool: &Pubkey) -> Result<()> {
        let pool_arg = pool.to_string();
        let (half, user_count) = (self.half(), self.users.len());
        for (verifier, range, name) in [
            (&mut self.verifier_a, 0..half, "a"),
            (&mut self.verifier_b, half..user_count, "b"),
        ] {
            let mut csv = String::from("user,indicators,evidence\n");
            for i in range.clone() {
                csv.push_str(&format!(
                    "{},{},kyc-{name}-{i}\n",
                    self.users[i].pubkey(),
                    self.volumes[i]
                ));
            }
            let file = self.job.file(&format!("credentials-{name}.csv"), &csv)?;
            let issued = self
                .job
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
        Ok(())
    }

    /// Step 3: the operator splits the vault into four allocation shards (allocations from
    /// different shards land in parallel on a cluster); the crank allocates to everyone whose
    /// volume meets the rule from the shards, sweeps them into the pool's totals, then finds
    /// nothing to do. A lookup table of the pool's shared accounts lets each transaction carry more
    /// users. Returns the table's address.
    async fn allocate(&mut self, pool: &Pubkey) -> Result<String> {
        self.create_shards(pool).await?;
        let table = self.create_lookup_table(pool).await?;
        self.crank_allocations(pool, &table).await?;
        Ok(table)
    }

    /// The operator creates [`SHARDS`] shards, each funded with whole allocations, enough for
    /// every qualifying user.
    async fn create_shards(&mut self, pool: &Pubkey) -> Result<()> {
        let qualifying = self.holders().len();
        let rule_amount = accounts::fetch::<Pool>(&self.job.chain, *pool)
            .await?
            .context("pool")?
            .rule
            .amount;
        // Whole allocations per shard, enough for every qualifying user.
        let fund_each = ((qualifying as u64).div_ceil(SHARDS).max(1) * rule_amount).to_string();
        let shards = self
            .job
            .allot(
                &mut self.operator,
                &[
                    "operator",
                    "shards",
                    "--pool",
                    &pool.to_string(),
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
        Ok(())
    }

    /// The crank creates a lookup table of the pool's shared accounts; its address.
    async fn create_lookup_table(&mut self, pool: &Pubkey) -> Result<String> {
        let table = self
            .job
            .allot(
                &mut self.crank,
                &["lookup-table", "create", "--pool", &pool.to_string()],
            )
            .await?;
        Ok(table["lookup_table"]
            .as_str()
            .context("table address")?
            .to_string())
    }

    /// The crank plans without the table (a dry run, for comparison), allocates with it to every
    /// qualifying user, then runs again and finds nothing to do.
    async fn crank_allocations(&mut self, pool: &Pubkey, table: &str) -> Result<()> {
        let qualifying = self.holders().len();
        let pool_arg = pool.to_string();
        let crank_args = crank_args(&pool_arg, table);
        let plain = self
            .job
            .allot(
                &mut self.crank,
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
        let allocated = self.job.allot(&mut self.crank, &crank_args).await?;
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
        let again = self.job.allot(&mut self.crank, &crank_args).await?;
        println!(
            "   crank again: {} transactions (idempotent)",
            again["transactions"]
        );
        Ok(())
    }

    /// Step 4: verifier A revokes some credentials, verifier B downgrades some volumes; the crank
    /// (with lookup table `table`) claws back.
    async fn claw_back(&mut self, pool: &Pubkey, table: &str) -> Result<Changed> {
        let pool_arg = pool.to_string();
        let holders = self.holders();
        let half = self.half();
        let changed = Changed {
            revoked: holders
                .iter()
                .copied()
                .filter(|i| *i < half)
                .take(10)
                .collect(),
            downgraded: holders
                .iter()
                .copied()
                .filter(|i| *i >= half)
                .take(8)
                .collect(),
        };
        self.revoke(&pool_arg, &changed.revoked).await?;
        self.downgrade(&pool_arg, &changed.downgraded).await?;
        let clawed = self
            .job
            .allot(&mut self.crank, &crank_args(&pool_arg, table))
            .await?;
        println!(
            "4. verifier A revoked {}, verifier B downgraded {}; crank clawed back {} units from {} users in {} transactions",
            changed.revoked.len(),
            changed.downgraded.len(),
            clawed["clawed_back_units"],
            clawed["clawbacks"],
            clawed["transactions"]
        );
        Ok(changed)
    }

    /// Verifier A revokes the credentials of `revoked` from a CSV file.
    async fn revoke(&mut self, pool_arg: &str, revoked: &[usize]) -> Result<()> {
        let revoke_csv = revoked.iter().fold(String::from("user\n"), |s, i| {
            s + &format!("{}\n", self.users[*i].pubkey())
        });
        let file = self.job.file("revoke.csv", &revoke_csv)?;
        self.job
            .allot(
                &mut self.verifier_a,
                &[
                    "verifier",
                    "revoke-bulk",
                    "--pool",
                    pool_arg,
                    "--file",
                    &file,
                ],
            )
            .await?;
        Ok(())
    }

    /// Verifier B issues `downgraded` new credentials with a volume below the rule, from a CSV
    /// file.
    async fn downgrade(&mut self, pool_arg: &str, downgraded: &[usize]) -> Result<()> {
        let downgrade_csv = downgraded
            .iter()
            .fold(String::from("user,indicators,evidence\n"), |s, i| {
                s + &format!("{},200,kyc-b-{i}-amended\n", self.users[*i].pubkey())
            });
        let file = self.job.file("downgrade.csv", &downgrade_csv)?;
        self.job
            .allot(
                &mut self.verifier_b,
                &[
                    "verifier",
                    "issue-bulk",
                    "--pool",
                    pool_arg,
                    "--file",
                    &file,
                ],
            )
            .await?;
        Ok(())
    }

    /// Step 5: some holders whose credentials were not `changed` exchange units (each signs with
    /// its own wallet, as in Phantom).
    async fn request_exchanges(&self, pool: &Pubkey, changed: &Changed) -> Result<Exchangers> {
        let pool_arg = pool.to_string();
        let exchangers: Vec<usize> = self
            .holders()
            .into_iter()
            .filter(|i| !changed.revoked.contains(i) && !changed.downgraded.contains(i))
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
            self.job.fund(&self.users[*i].pubkey(), 10_000_000).await?;
            user_role.start_lamports += 10_000_000;
            user_role.file = self
                .job
                .write_keypair(&format!("user-{i}"), &self.users[*i])?;
            let requested = self
                .job
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
        Ok(Exchangers {
            users: exchangers,
            role: user_role,
        })
    }

    /// Step 6: the settlement authority (the operator's bridge key) locks every pending request
    /// (its user can no longer cancel it), pays it off chain, and settles it.
    async fn settle_requests(&mut self, pool: &Pubkey) -> Result<()> {
        let pool_arg = pool.to_string();
        let pending = self
            .job
            .allot(
                &mut self.operator,
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
            self.job
                .allot(
                    &mut self.operator,
                    &["settlement", "lock", "--pool", &pool_arg, "--request", &id],
                )
                .await?;
            self.job
                .allot(
                    &mut self.operator,
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
        Ok(())
    }

    /// The report's pool section: its totals, where every unit is, and the check that they add up
    /// to what was minted.
    async fn report_pool(&self, pool: &Pubkey) -> Result<()> {
        let pool = *pool;
        let chain = &self.job.chain;
        let state: Pool = accounts::fetch(chain, pool).await?.context("pool")?;
        let vault = allot_cli::commands::user::holding(chain, &state.mint, &pool).await?;
        let mut held = 0;
        for user in &self.users {
            held += allot_cli::commands::user::holding(chain, &state.mint, &user.pubkey()).await?;
        }
        let mut in_shards = 0;
        for index in 0..state.shard_count {
            in_shards +=
                allot_client::token::balance_base_units(chain, pdas::shard_vault(&pool, index))
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
        Ok(())
    }

    /// The report's per-role section: each role's transactions and the SOL it spent on fees and
    /// rent (the `exchangers` together as "users").
    async fn report_activity(&self, exchangers: &Exchangers) -> Result<()> {
        println!("\n== per-role activity (transactions, SOL spent on fees and rent)");
        for role in [
            &self.operator,
            &self.verifier_a,
            &self.verifier_b,
            &self.crank,
        ] {
            let spent = role
                .start_lamports
                .saturating_sub(self.job.lamports(&role.key).await?);
            println!(
                "   {:<11} {:>5} transactions  {} SOL",
                role.name,
                role.transactions,
                sol(spent)
            );
        }
        let mut users_left = 0;
        for i in &exchangers.users {
            users_left += self.job.lamports(&self.users[*i].pubkey()).await?;
        }
        let user_role = &exchangers.role;
        println!(
            "   {:<11} {:>5} transactions  {} SOL",
            user_role.name,
            user_role.transactions,
            sol(user_role.start_lamports.saturating_sub(users_left))
        );
        Ok(())
    }

    /// The report's rent section: the refundable deposits one user costs, and the allocation
    /// records left on chain.
    async fn report_rent(&self, pool: &Pubkey) -> Result<()> {
        let rent = Rent::default();
        let record_rent =
            rent.minimum_balance(8 + <AllocationRecord as anchor_lang::Space>::INIT_SPACE);
        let token_rent = rent.minimum_balance(allot_cli::commands::user::USER_TOKEN_ACCOUNT_BYTES);
        let credential_rent =
            rent.minimum_balance(8 + <allot::state::Credential as anchor_lang::Space>::INIT_SPACE);
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
        let records = self
            .job
            .chain
            .accounts(
                self.users
                    .iter()
                    .map(|u| pdas::allocation_record(pool, &u.pubkey()))
                    .collect(),
            )
            .await?;
        println!(
            "   allocation records on chain: {}",
            records.iter().flatten().count()
        );
        Ok(())
    }

    /// The report's last line: transactions landed and refused, and the time since `started`.
    fn report_end(&self, started: Instant) {
        println!(
            "\n== {} transactions landed, {} refused, in {:.1?}",
            self.job.chain.landed(),
            self.job.chain.failed(),
            started.elapsed()
        );
    }
}
