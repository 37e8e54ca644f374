//! Operator subcommands: a pool from a TOML file, migrate's idempotence, pause, pausing
//! transfers, verifiers.

use allot::constants::RATE_SCALE;
use allot::state::{Pool, Verifier};
use allot_client::pdas;

use crate::{Cli, example_pool, example_pool_edited};

#[tokio::test]
async fn create_pool_from_toml_sets_rule_exchange_funding_and_verifiers() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;

    let pool: Pool = cli.fetch(setup.pool).await;
    assert_eq!(pool.operator, setup.operator.0);
    assert_eq!(pool.rule.threshold, 1_000);
    assert_eq!(pool.rule.amount, 10);
    assert!(pool.exchange.open);
    assert_eq!(pool.exchange.fixed_rate, 2 * RATE_SCALE + RATE_SCALE / 2);
    assert_eq!(pool.exchange.min_holding, 5);
    assert_eq!(pool.totals.minted, 1_000_000);
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_000);
    let verifier: Verifier = cli
        .fetch(pdas::verifier(&setup.pool, &setup.verifier.0))
        .await;
    assert!(verifier.active);

    let again = cli
        .err(
            &setup.operator.1,
            &["operator", "create-pool", "--file", &setup.file],
        )
        .await;
    assert!(again.contains("already exists"), "{again}");
}

#[tokio::test]
async fn migrate_creates_once_then_sends_nothing() {
    let cli = Cli::start().await;
    let operator = cli.keypair("operator", 10_000_000_000).await;
    let verifier = cli.keypair("verifier", 0).await;
    let text = crate::EXAMPLE_POOL.replace(
        "verifiers = []",
        &format!("verifiers = [\"{}\"]", verifier.0),
    );
    let file = cli.file("pool.toml", &text);

    let first = cli.ok(&operator.1, &["migrate", "--file", &file]).await;
    let sent = first["pools"][0]["sent"].as_array().unwrap();
    let steps: Vec<&str> = sent.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps[0], "create pool");
    assert!(
        steps.iter().any(|s| s.starts_with("add verifier")),
        "{steps:?}"
    );
    let pool = pdas::pool(&operator.0, 1);
    let lamports = cli.raw(operator.0).await.unwrap().lamports;

    let second = cli.ok(&operator.1, &["migrate", "--file", &file]).await;
    assert_eq!(second["pools"][0]["sent"].as_array().unwrap().len(), 0);
    assert_eq!(
        second["pools"][0]["pool"].as_str().unwrap(),
        pool.to_string()
    );
    assert_eq!(
        cli.raw(operator.0).await.unwrap().lamports,
        lamports,
        "a no-op migrate pays nothing"
    );

    // A changed rule in the file is applied by the next migrate, and only that.
    let changed = text.replace("threshold = 1_000", "threshold = 2_000");
    let file = cli.file("pool.toml", &changed);
    let third = cli.ok(&operator.1, &["migrate", "--file", &file]).await;
    let sent = third["pools"][0]["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["step"], "update rule");
    let state: Pool = cli.fetch(pool).await;
    assert_eq!(state.rule.threshold, 2_000);

    // The [token] section names the mint (Token-2022 metadata in the mint, read as wallets do);
    // a changed name is written by the next migrate, and `operator show` says it.
    assert!(
        steps.contains(&"name the token Example merchant shares (EXMS)"),
        "{steps:?}"
    );
    let renamed = changed
        .replace("Example merchant shares", "Acme merchant shares")
        .replace("\"EXMS\"", "\"ACMES\"")
        .replace("uri = \"\"", "uri = \"https://example.com/acmes.json\"");
    let file = cli.file("pool.toml", &renamed);
    let fourth = cli.ok(&operator.1, &["migrate", "--file", &file]).await;
    let sent = fourth["pools"][0]["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0]["step"],
        "name the token Acme merchant shares (ACMES)"
    );
    let mint = cli.raw(state.mint).await.unwrap();
    assert_eq!(
        allot_client::token::metadata(&mint.data),
        Some(allot_client::token::TokenName {
            name: "Acme merchant shares".into(),
            symbol: "ACMES".into(),
            uri: "https://example.com/acmes.json".into(),
        })
    );
    let shown = cli
        .ok(
            &operator.1,
            &["operator", "show", "--pool", &pool.to_string()],
        )
        .await;
    assert_eq!(shown["token"]["symbol"], "ACMES");
    let too_long = renamed.replace("\"ACMES\"", "\"ACMES-SHARES-2026\"");
    let file = cli.file("pool.toml", &too_long);
    let refused = cli.err(&operator.1, &["migrate", "--file", &file]).await;
    assert!(refused.contains("longer than wallets display"), "{refused}");
}

#[tokio::test]
async fn pause_fund_and_verifier_removal_change_the_pool() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let op = &setup.operator.1;

    cli.ok(op, &["operator", "pause", "--pool", &pool]).await;
    let state: Pool = cli.fetch(setup.pool).await;
    assert!(state.paused);
    let twice = cli.err(op, &["operator", "pause", "--pool", &pool]).await;
    assert!(twice.contains("already paused"), "{twice}");
    cli.ok(op, &["operator", "unpause", "--pool", &pool]).await;

    cli.ok(
        op,
        &["operator", "fund", "--pool", &pool, "--amount", "500"],
    )
    .await;
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_500);
    let over = cli
        .err(
            op,
            &["operator", "fund", "--pool", &pool, "--amount", "99000000"],
        )
        .await;
    assert!(over.contains("supply cap"), "{over}");

    let verifier = setup.verifier.0.to_string();
    cli.ok(
        op,
        &[
            "operator",
            "remove-verifier",
            "--pool",
            &pool,
            "--verifier",
            &verifier,
        ],
    )
    .await;
    let state: Verifier = cli
        .fetch(pdas::verifier(&setup.pool, &setup.verifier.0))
        .await;
    assert!(!state.active);

    let shown = cli.ok(op, &["operator", "show", "--pool", &pool]).await;
    assert_eq!(shown["vault"], 1_000_500);
    assert_eq!(shown["active_verifiers"], 0);
    assert_eq!(shown["paused"], false);
}

#[tokio::test]
async fn a_pausable_pool_pauses_and_resumes_the_movement_of_its_units() {
    let cli = Cli::start().await;
    let setup = example_pool_edited(&cli, |text| {
        text.replace("pausable = false", "pausable = true")
    })
    .await;
    let pool = setup.pool.to_string();
    let op = &setup.operator.1;
    let shown = cli.ok(op, &["operator", "show", "--pool", &pool]).await;
    assert_eq!(
        (&shown["pausable"], &shown["transfers_paused"]),
        (&true.into(), &false.into())
    );

    cli.ok(op, &["operator", "pause-transfers", "--pool", &pool])
        .await;
    let shown = cli.ok(op, &["operator", "show", "--pool", &pool]).await;
    assert_eq!(shown["transfers_paused"], true);
    let twice = cli
        .err(op, &["operator", "pause-transfers", "--pool", &pool])
        .await;
    assert!(twice.contains("already paused"), "{twice}");
    // Funding mints: Token-2022 refuses while paused, and nothing is minted.
    let refused = cli
        .err(op, &["operator", "fund", "--pool", &pool, "--amount", "5"])
        .await;
    assert!(refused.to_lowercase().contains("paused"), "{refused}");
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_000);

    cli.ok(op, &["operator", "resume-transfers", "--pool", &pool])
        .await;
    cli.ok(op, &["operator", "fund", "--pool", &pool, "--amount", "5"])
        .await;
    assert_eq!(cli.balance(&setup.pool, &setup.mint).await, 1_000_005);

    // The file says what the pool was created with: changing it is refused, sending nothing.
    let text = std::fs::read_to_string(&setup.file).unwrap();
    let file = cli.file(
        "changed.toml",
        &text.replace("pausable = true", "pausable = false"),
    );
    let changed = cli.err(op, &["migrate", "--file", &file]).await;
    assert!(changed.contains("pausable = true"), "{changed}");
}

#[tokio::test]
async fn a_pool_created_without_pausable_says_so_when_asked_to_pause_transfers() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let refused = cli
        .err(
            &setup.operator.1,
            &["operator", "pause-transfers", "--pool", &pool],
        )
        .await;
    assert!(refused.contains("without `pausable = true`"), "{refused}");
    let file = cli.file(
        "not-transferable.toml",
        &crate::EXAMPLE_POOL
            .replace("pausable = false", "pausable = true")
            .replace("transferable = true", "transferable = false")
            .replace("initial_funding = 1_000_000", "initial_funding = 0"),
    );
    let refused = cli
        .err(
            &setup.operator.1,
            &["operator", "create-pool", "--file", &file],
        )
        .await;
    assert!(refused.contains("for transferable pools"), "{refused}");
}
