//! Bad input gets a message naming the problem, and nothing is sent.

use allot::state::Pool;
use allot_client::{accounts, pdas};
use solana_sdk::signature::{Keypair, Signer};

use crate::{Cli, example_pool};

#[tokio::test]
async fn bad_files_keys_and_funds_are_named_and_change_nothing() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let before: Pool = accounts::fetch(&cli.chain, setup.pool)
        .await
        .unwrap()
        .unwrap();
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
        .err(
            &setup.operator.1,
            &[
                "verifier",
                "issue",
                "--pool",
                &pool,
                "--user",
                &nowhere,
                "--indicators",
                "1",
                "--evidence",
                "x",
            ],
        )
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

    let after: Pool = accounts::fetch(&cli.chain, setup.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.totals, before.totals);
    assert_eq!(after.rule, before.rule);
    assert_eq!(
        cli.raw(setup.verifier.0).await.unwrap().lamports,
        verifier_lamports,
        "no fee was paid"
    );
}
