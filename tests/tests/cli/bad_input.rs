//! Bad input gets a message naming the problem, and nothing is sent.

use allot::state::Pool;
use allot_client::pdas;
use solana_sdk::signature::{Keypair, Signer};

use crate::{Cli, example_pool, issue_args};

#[tokio::test]
async fn bad_files_keys_and_funds_are_named_and_change_nothing() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let before: Pool = cli.fetch(setup.pool).await;
    let verifier_lamports = cli.raw(setup.verifier.0).await.unwrap().lamports;

    // A malformed row in a bulk file: named by line, and no row of the file is sent.
    let good = Keypair::new().pubkey();
    let csv = format!("user,indicators,evidence\n{good},5000,r1\nnot-a-key,5000,r2\n");
    let file = cli.file("bad.csv", &csv);
    let message = cli
        .err(
            &setup.verifier.1,
            &["verifier", "issue-bulk", "--pool", &pool, "--file", &file],
        )
        .await;
    assert!(
        message.contains("line 3") && message.contains("not-a-key"),
        "{message}"
    );
    assert!(
        cli.raw(pdas::credential(&setup.pool, &good))
            .await
            .is_none(),
        "the good row was not sent either"
    );

    let missing = cli.path("nowhere.csv").display().to_string();
    let message = cli
        .err(
            &setup.verifier.1,
            &[
                "verifier",
                "issue-bulk",
                "--pool",
                &pool,
                "--file",
                &missing,
            ],
        )
        .await;
    assert!(
        message.contains("cannot read") && message.contains("nowhere.csv"),
        "{message}"
    );

    // An unknown pool.
    let nowhere = Keypair::new().pubkey().to_string();
    let message = cli
        .err(&setup.operator.1, &["operator", "show", "--pool", &nowhere])
        .await;
    assert!(message.contains("no pool at"), "{message}");

    // The wrong keypair for the role.
    let message = cli
        .err(
            &setup.verifier.1,
            &["operator", "fund", "--pool", &pool, "--amount", "5"],
        )
        .await;
    assert!(message.contains("is not the operator"), "{message}");
    let message = cli
        .err(&setup.operator.1, &issue_args(&pool, &nowhere, "1", "x"))
        .await;
    assert!(message.contains("not an active verifier"), "{message}");

    // Insufficient funds: an unfunded operator is told before anything is sent.
    let (broke, broke_file) = cli.keypair("broke", 0).await;
    let message = cli
        .err(
            &broke_file,
            &["operator", "create-pool", "--file", &setup.file],
        )
        .await;
    assert!(
        message.contains("insufficient funds") && message.contains(&broke.to_string()),
        "{message}"
    );
    assert!(cli.raw(pdas::pool(&broke, 1)).await.is_none());

    // A keypair file that is not one, and a pool file with a bad field.
    let junk = cli.file("junk.json", "[1, 2, 3]");
    let message = cli.err(&junk, &["operator", "show", "--pool", &pool]).await;
    assert!(message.contains("not a keypair file"), "{message}");
    let bad_toml = cli.file(
        "bad.toml",
        &crate::EXAMPLE_POOL.replace("comparison = \"at-least\"", "comparison = \"roughly\""),
    );
    let message = cli
        .err(&setup.operator.1, &["migrate", "--file", &bad_toml])
        .await;
    assert!(
        message.contains("bad.toml") && message.contains("roughly"),
        "{message}"
    );

    // A bad --url is refused by name.
    let message = cli
        .err(
            &setup.operator.1,
            &["--url", "devnt", "operator", "show", "--pool", &pool],
        )
        .await;
    assert!(message.contains("moniker"), "{message}");

    let after: Pool = cli.fetch(setup.pool).await;
    assert_eq!(after.totals, before.totals);
    assert_eq!(after.rule, before.rule);
    assert_eq!(
        cli.raw(setup.verifier.0).await.unwrap().lamports,
        verifier_lamports,
        "no fee was paid"
    );
}

#[tokio::test]
async fn an_unreachable_node_is_named_with_its_url_and_cause() {
    // A port nothing listens on: bound by the system, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let chain = allot_client::rpc_chain::RpcChain::new(
        url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let dir = tempfile::tempdir().unwrap();
    let keypair = dir.path().join("id.json");
    solana_sdk::signature::write_keypair_file(&Keypair::new(), &keypair).unwrap();
    let keypair = keypair.display().to_string();
    let pool = Keypair::new().pubkey().to_string();
    let argv = [
        "allot",
        "--keypair",
        &keypair,
        "operator",
        "show",
        "--pool",
        &pool,
    ];
    let message = format!(
        "{:#}",
        allot_cli::run_argv(&chain, &argv).await.unwrap_err()
    );
    assert!(
        message.contains(&format!("cannot reach the node at {url}"))
            && message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert!(!message.contains("AccountNotFound"), "{message}");
}

#[tokio::test]
async fn read_only_commands_need_no_keypair_and_the_others_name_the_missing_file() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let missing = cli.path("no-such-keypair.json").display().to_string();

    // Reading the pool, a user's status (named), the open requests and a dry-run crank.
    let shown = cli
        .ok(&missing, &["operator", "show", "--pool", &pool])
        .await;
    assert_eq!(shown["pool"], pool);
    let user = setup.operator.0.to_string();
    let status = cli
        .ok(
            &missing,
            &["user", "show", "--pool", &pool, "--user", &user],
        )
        .await;
    assert_eq!(status["holding"], 0, "{status}");
    let pending = cli
        .ok(&missing, &["settlement", "pending", "--pool", &pool])
        .await;
    assert_eq!(pending["pending"], serde_json::json!([]));
    let planned = cli
        .ok(&missing, &["crank", "--pool", &pool, "--dry-run"])
        .await;
    assert_eq!(planned["transactions"], 0, "{planned}");

    // Shell completions, which read nothing at all, name every subcommand and global option.
    let completions = cli.ok(&missing, &["completions", "bash"]).await;
    let script = completions["script"].as_str().unwrap();
    for word in [
        "allot",
        "operator",
        "settlement",
        "--with-compute-unit-price",
    ] {
        assert!(script.contains(word), "{word} missing from the bash script");
    }

    // Amounts are typed in the token's units: 1.5 of a token without decimals is refused, naming
    // why, before anything is sent.
    let message = cli
        .err(
            &setup.operator.1,
            &["user", "exchange", "--pool", &pool, "--amount", "1.5"],
        )
        .await;
    assert!(
        message.contains("more than 0 decimal places") && message.contains("0 decimals"),
        "{message}"
    );

    // Whatever signs, or whose status is the keypair's own, still needs the file, and says so.
    for args in [
        vec!["user", "allocate", "--pool", &pool],
        vec!["user", "show", "--pool", &pool],
        vec!["operator", "pause", "--pool", &pool],
    ] {
        let message = cli.err(&missing, &args).await;
        assert!(
            message.contains("no-such-keypair.json") && message.contains("does not exist"),
            "{args:?}: {message}"
        );
    }
}
