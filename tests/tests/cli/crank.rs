//! Bulk credentials and the crank: allocation to every eligible user, clawback from every
//! ineligible holder, and a second run that sends nothing.

use allot::state::Pool;
use allot_client::chain::Chain as _;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

use serde_json::Value;

use crate::{Cli, PoolSetup, example_pool, issue_args};

fn users(n: usize) -> Vec<Pubkey> {
    (0..n).map(|_| Keypair::new().pubkey()).collect()
}

/// The arguments of `operator shards`: `count` shards in `pool`, each topped up to `each` units.
fn shards<'a>(pool: &'a str, count: &'a str, each: &'a str) -> [&'a str; 8] {
    [
        "operator",
        "shards",
        "--pool",
        pool,
        "--count",
        count,
        "--fund-each",
        each,
    ]
}

/// The verifier credentials `users` in `setup`'s pool with `verifier issue-bulk`, volume 5,000
/// each; returns the command's JSON.
async fn issue_bulk(cli: &Cli, setup: &PoolSetup, users: &[Pubkey]) -> Value {
    let mut csv = String::from("user,indicators,evidence\n");
    for (i, user) in users.iter().enumerate() {
        csv.push_str(&format!("{user},5000,report-{i}\n"));
    }
    let file = cli.file("credentials.csv", &csv);
    let pool = setup.pool.to_string();
    let args = ["verifier", "issue-bulk", "--pool", &pool, "--file", &file];
    cli.ok(&setup.verifier.1, &args).await
}

#[tokio::test]
async fn crank_allocates_claws_back_and_is_idempotent() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let crank = cli.keypair("crank", 10_000_000_000).await;

    // 12 users: volumes 500, 1500, 500, 1500, … — every second one meets the 1,000 threshold.
    let users = users(12);
    let mut csv = String::from("user,indicators,evidence\n");
    for (i, user) in users.iter().enumerate() {
        let volume = if i % 2 == 1 { 1_500 } else { 500 };
        csv.push_str(&format!("{user},{volume};{i},kyc-report-{i}\n"));
    }
    let file = cli.file("credentials.csv", &csv);
    let issued = cli
        .ok(
            &setup.verifier.1,
            &["verifier", "issue-bulk", "--pool", &pool, "--file", &file],
        )
        .await;
    assert_eq!(issued["issued"], 12);
    let again = cli
        .ok(
            &setup.verifier.1,
            &["verifier", "issue-bulk", "--pool", &pool, "--file", &file],
        )
        .await;
    assert_eq!(again["issued"], 0, "re-issuing the same file sends nothing");
    assert_eq!(again["unchanged"], 12);

    // Anyone can send lamports to a record address before the program creates it: the crank
    // must read that as "no record yet" and still allocate.
    let record = allot_client::pdas::allocation_record(&setup.pool, &users[1]);
    cli.fund(&record, 1_000_000).await;
    let first = cli.ok(&crank.1, &["crank", "--pool", &pool]).await;
    assert_eq!(first["scanned"], 12);
    assert_eq!(first["allocations"], 6);
    assert_eq!(first["clawbacks"], 0);
    let transactions = first["transactions"].as_u64().unwrap();
    assert!(
        (2..6).contains(&transactions),
        "several users per transaction: {transactions}"
    );
    for (i, user) in users.iter().enumerate() {
        let expected = if i % 2 == 1 { 10 } else { 0 };
        assert_eq!(cli.balance(user, &setup.mint).await, expected, "user {i}");
    }
    let second = cli.ok(&crank.1, &["crank", "--pool", &pool]).await;
    assert_eq!(second["transactions"], 0);
    assert_eq!(second["allocations"], 0);
    assert_eq!(second["skipped"]["already allocated this period"], 6);

    // Two holders lose their credentials: the crank takes their units back, and only theirs.
    let revoked = format!("user\n{}\n{}\n", users[1], users[3]);
    let file = cli.file("revoke.csv", &revoked);
    let out = cli
        .ok(
            &setup.verifier.1,
            &["verifier", "revoke-bulk", "--pool", &pool, "--file", &file],
        )
        .await;
    assert_eq!(out["revoked"], 2);
    let third = cli.ok(&crank.1, &["crank", "--pool", &pool]).await;
    assert_eq!(third["clawbacks"], 2);
    assert_eq!(third["clawed_back_units"], 20);
    assert_eq!(cli.balance(&users[1], &setup.mint).await, 0);
    assert_eq!(cli.balance(&users[3], &setup.mint).await, 0);
    assert_eq!(cli.balance(&users[5], &setup.mint).await, 10);
    let fourth = cli.ok(&crank.1, &["crank", "--pool", &pool]).await;
    assert_eq!(fourth["transactions"], 0);

    let state: Pool = cli.fetch(setup.pool).await;
    assert_eq!(state.totals.allocated, 60);
    assert_eq!(state.totals.clawed_back, 20);
    assert_eq!(state.totals.outstanding, 40);
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_000 - 40);

    // Next period: fresh credentials for the remaining qualifiers; the crank allocates again.
    cli.embedded_advance(86_400).await;
    let mut csv = String::from("user,indicators,evidence\n");
    for user in [users[5], users[7]] {
        csv.push_str(&format!("{user},2000,kyc-next\n"));
    }
    let file = cli.file("next.csv", &csv);
    cli.ok(
        &setup.verifier.1,
        &["verifier", "issue-bulk", "--pool", &pool, "--file", &file],
    )
    .await;
    let next = cli.ok(&crank.1, &["crank", "--pool", &pool]).await;
    assert_eq!(next["period"], 1);
    assert_eq!(next["allocations"], 2);
    assert_eq!(cli.balance(&users[5], &setup.mint).await, 20);
}

#[tokio::test]
async fn dry_run_plans_without_sending() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let user = Keypair::new().pubkey().to_string();
    cli.ok(&setup.verifier.1, &issue_args(&pool, &user, "5000", "r1"))
        .await;
    let plan = cli
        .ok(&setup.operator.1, &["crank", "--pool", &pool, "--dry-run"])
        .await;
    assert_eq!(plan["allocations"], 1);
    assert_eq!(plan["planned_transactions"], 1);
    assert_eq!(plan["transactions"], 0);
    assert_eq!(cli.balance(&user.parse().unwrap(), &setup.mint).await, 0);
}

#[tokio::test]
async fn lookup_table_fits_more_users_per_transaction() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let crank = cli.keypair("crank", 10_000_000_000).await;
    let users = users(24);
    issue_bulk(&cli, &setup, &users).await;
    let max = ["--max-per-transaction", "32"];

    let mut plain = vec!["crank", "--pool", &pool, "--dry-run"];
    plain.extend(max);
    let without = cli.ok(&crank.1, &plain).await;

    let created = cli
        .ok(&crank.1, &["lookup-table", "create", "--pool", &pool])
        .await;
    let table = created["lookup_table"].as_str().unwrap().to_string();
    assert_eq!(created["addresses"], 8);
    let not_a_table = setup.mint.to_string();
    let message = cli
        .err(
            &crank.1,
            &["crank", "--pool", &pool, "--lookup-table", &not_a_table],
        )
        .await;
    assert!(message.contains("not an address lookup table"), "{message}");

    let mut with_table = vec!["crank", "--pool", &pool, "--lookup-table", &table];
    with_table.extend(max);
    let with = cli.ok(&crank.1, &with_table).await;
    assert_eq!(with["allocations"], 24);
    let (plain_largest, table_largest) = (
        without["largest_transaction"].as_u64().unwrap(),
        with["largest_transaction"].as_u64().unwrap(),
    );
    assert!(
        table_largest > plain_largest,
        "{table_largest} users per transaction with the table, {plain_largest} without"
    );
    assert!(
        with["transactions"].as_u64().unwrap() < without["planned_transactions"].as_u64().unwrap()
    );
    for user in &users {
        assert_eq!(cli.balance(user, &setup.mint).await, 10);
    }
    let again = cli.ok(&crank.1, &with_table).await;
    assert_eq!(again["transactions"], 0);
}

#[tokio::test]
async fn crank_draws_on_the_pools_shards_and_sweeps_them() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let op = &setup.operator.1;
    let crank = cli.keypair("crank", 10_000_000_000).await;

    // Three shards of 30 units (three allocations of 10 each); asking again changes nothing.
    let made = cli.ok(op, &shards(&pool, "3", "30")).await;
    assert_eq!(
        (made["created"].as_u64(), made["units_moved"].as_u64()),
        (Some(3), Some(90))
    );
    let again = cli.ok(op, &shards(&pool, "3", "30")).await;
    assert_eq!(
        (again["created"].as_u64(), again["transactions"].as_u64()),
        (Some(0), Some(0))
    );

    // Eleven qualifying users: nine from the shards (three each), two from the vault.
    let users = users(11);
    issue_bulk(&cli, &setup, &users).await;
    let out = cli.ok(&crank.1, &["crank", "--pool", &pool]).await;
    assert_eq!(out["allocations"], 11);
    assert_eq!(out["sharded_allocations"], 9);
    assert_eq!(out["shards_used"], serde_json::json!([0, 1, 2]));
    for user in &users {
        assert_eq!(cli.balance(user, &setup.mint).await, 10);
    }
    for index in 0..3 {
        let vault = allot_client::pdas::shard_vault(&setup.pool, index);
        let exists = cli.chain.account(vault).await.unwrap().is_some();
        assert!(exists, "shard {index}'s vault exists");
        let left = allot_client::token::balance_base_units(&cli.chain, vault)
            .await
            .expect("shard vault readable");
        assert_eq!(left, 0, "shard {index} spent");
    }
    // The crank swept the shards: the pool's totals count all eleven allocations.
    let state: Pool = cli.fetch(setup.pool).await;
    assert_eq!(
        (
            state.totals.allocated,
            state.totals.allocations,
            state.totals.staged
        ),
        (110, 11, 0)
    );
    assert_eq!(state.held_by_users(), 110);
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_000 - 110);

    // An allocation some other sender makes from a shard is not in the totals until a sweep;
    // a profit report sweeps first (in its own transaction), so the rate counts it.
    cli.ok(op, &shards(&pool, "3", "30")).await;
    let late = Keypair::new().pubkey();
    cli.ok(
        &setup.verifier.1,
        &issue_args(&pool, &late.to_string(), "5000", "late"),
    )
    .await;
    let payer = cli.embedded.payer();
    let sharded = allot_client::instructions::allocate_sharded(
        &payer.pubkey(),
        &setup.pool,
        &late,
        2,
        allot_client::instructions::Evidence::Credential,
    );
    allot_cli::sender::send(&cli.chain, payer, &[], &[sharded])
        .await
        .unwrap();
    let unswept: Pool = cli.fetch(setup.pool).await;
    assert_eq!(unswept.totals.allocations, 11, "not swept yet");
    cli.ok(
        op,
        &[
            "operator",
            "record-profit",
            "--pool",
            &pool,
            "--period",
            "0",
            "--amount",
            "5000",
            "--evidence",
            "q0-report",
        ],
    )
    .await;
    let reported: Pool = cli.fetch(setup.pool).await;
    assert_eq!(
        (reported.totals.allocations, reported.held_by_users()),
        (12, 120)
    );

    // Units left in a shard go back to the vault on request.
    cli.ok(op, &shards(&pool, "3", "25")).await;
    let drained = cli
        .ok(op, &["operator", "drain-shards", "--pool", &pool])
        .await;
    assert_eq!(
        (
            drained["drained"].as_u64(),
            drained["units_returned"].as_u64()
        ),
        (Some(3), Some(85)),
        "30 + 30 + 25: shards 0 and 1 still held 30, shard 2 was topped up to 25"
    );
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_000 - 120);
    let shown = cli.ok(op, &["operator", "show", "--pool", &pool]).await;
    assert_eq!(shown["shards"], 3);
    assert_eq!(shown["totals"]["staged"], 0);

    let refused = cli.err(op, &shards(&pool, "3", "1000000")).await;
    assert!(
        refused.contains("the vault holds 999880") && refused.contains("allot operator fund"),
        "{refused}"
    );
}

#[tokio::test]
async fn cranks_in_partitions_share_a_pool_without_overlap() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    cli.ok(&setup.operator.1, &shards(&pool, "2", "200")).await;
    let users = users(16);
    issue_bulk(&cli, &setup, &users).await;

    // Two cranks, each with its own keypair (fee payer): part 0 and part 1 of two.
    let mut allocated = 0;
    for part in 0..2u64 {
        let crank = cli.keypair(&format!("crank-{part}"), 10_000_000_000).await;
        let partition = format!("{part}/2");
        let out = cli
            .ok(
                &crank.1,
                &["crank", "--pool", &pool, "--partition", &partition],
            )
            .await;
        assert_eq!(out["partition"], partition);
        assert_eq!(out["shards_used"], serde_json::json!([part]));
        assert_eq!(out["allocations"], out["sharded_allocations"]);
        allocated += out["allocations"].as_u64().unwrap();
    }
    assert_eq!(allocated, 16, "every user in exactly one part");
    for user in &users {
        assert_eq!(cli.balance(user, &setup.mint).await, 10);
    }
    let again = cli.ok(&setup.operator.1, &["crank", "--pool", &pool]).await;
    assert_eq!(
        again["allocations"], 0,
        "nothing left for a whole-pool crank"
    );

    let refused = cli
        .err(
            &setup.operator.1,
            &["crank", "--pool", &pool, "--partition", "2/2"],
        )
        .await;
    assert!(refused.contains("0 <= K < N <= 64"), "{refused}");
}
