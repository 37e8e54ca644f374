//! A user's exchange request and the settlement authority's manual settlement, through the CLI.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::chain::Chain as _;
use allot_client::pdas;

use anchor_lang::prelude::Pubkey;

use crate::{Cli, PoolSetup, example_pool, example_pool_edited, issue_args};

/// A funded user whom the verifier credentialed (volume 4,000) and who claimed 10 units.
async fn allocated_user(cli: &Cli, setup: &PoolSetup) -> (Pubkey, String) {
    let pool = setup.pool.to_string();
    let (user, user_file) = cli.keypair("user", 1_000_000_000).await;
    let user_text = user.to_string();
    let issue = issue_args(&pool, &user_text, "4000", "r-1");
    cli.ok(&setup.verifier.1, &issue).await;
    cli.ok(&user_file, &["user", "allocate", "--pool", &pool])
        .await;
    (user, user_file)
}

#[tokio::test]
async fn user_requests_exchange_and_operator_settles_it() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let (user, user_file) = allocated_user(&cli, &setup).await;
    let twice = cli
        .err(&user_file, &["user", "allocate", "--pool", &pool])
        .await;
    assert!(twice.contains("already allocated"), "{twice}");

    let too_much = cli
        .err(
            &user_file,
            &["user", "exchange", "--pool", &pool, "--amount", "11"],
        )
        .await;
    assert!(too_much.contains("holds 10 units"), "{too_much}");
    assert!(
        too_much.contains("holds fewer units than requested"),
        "the program's own refusal: {too_much}"
    );
    let requested = cli
        .ok(
            &user_file,
            &["user", "exchange", "--pool", &pool, "--amount", "8"],
        )
        .await;
    assert_eq!(requested["quoted"], 20, "8 units at 2.5 minor units each");
    assert_eq!(cli.balance(&user, &setup.mint).await, 2);
    // The CLI drew the request's id; its address is the one it printed.
    let id = requested["id"].as_u64().unwrap();
    let request_address = pdas::exchange_request(&setup.pool, id);
    assert_eq!(requested["request"], request_address.to_string());
    let id = id.to_string();

    let pending = cli
        .ok(
            &setup.operator.1,
            &["settlement", "pending", "--pool", &pool],
        )
        .await;
    assert_eq!(pending["pending"].as_array().unwrap().len(), 1);
    let settle = [
        "settlement",
        "settle",
        "--pool",
        &pool,
        "--request",
        &id,
        "--reference",
        "pay-1",
    ];
    let wrong = cli.err(&user_file, &settle).await;
    assert!(wrong.contains("not the settlement authority"), "{wrong}");
    // The operator locks the request before paying it off chain: its user cannot cancel it now.
    let locked = cli
        .ok(
            &setup.operator.1,
            &["settlement", "lock", "--pool", &pool, "--request", &id],
        )
        .await;
    let request: ExchangeRequest = cli.fetch(request_address).await;
    assert_eq!(request.status, RequestStatus::Locked);
    assert_eq!(
        locked["cancel_after_lock"],
        request.locked_at + request.lock_timeout_seconds
    );
    let cancel = cli
        .err(
            &user_file,
            &["user", "cancel", "--pool", &pool, "--request", &id],
        )
        .await;
    assert!(cancel.contains("locked"), "{cancel}");
    cli.ok(&setup.operator.1, &settle).await;
    let request: ExchangeRequest = cli.fetch(request_address).await;
    assert_eq!(request.status, RequestStatus::Settled);
    assert_eq!(request.paid_amount, 20);
    let again = cli.err(&setup.operator.1, &settle).await;
    assert!(again.contains("not open"), "{again}");

    let shown = cli.ok(&user_file, &["user", "show", "--pool", &pool]).await;
    assert_eq!(shown["holding"], 2);
    assert_eq!(shown["requests"][0]["status"], "Settled");
    assert_eq!(shown["allocation"]["exchanged"], 8);
}

#[tokio::test]
async fn user_cancels_a_pending_request_only_after_the_timeout() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let (user, user_file) = allocated_user(&cli, &setup).await;
    // An id of the user's choosing (`--id`), as a script retrying a request would give.
    let request_address = pdas::exchange_request(&setup.pool, 0);
    cli.ok(
        &user_file,
        &[
            "user", "exchange", "--pool", &pool, "--amount", "5", "--id", "0",
        ],
    )
    .await;
    assert_eq!(cli.balance(&user, &setup.mint).await, 5);
    // Retrying with that id (a script that did not see the answer) cannot open a second request.
    let retry = cli
        .err(
            &user_file,
            &[
                "user", "exchange", "--pool", &pool, "--amount", "1", "--id", "0",
            ],
        )
        .await;
    assert!(retry.contains("request 0 exists already"), "{retry}");
    assert!(retry.contains("nothing was sent"), "{retry}");
    assert_eq!(cli.balance(&user, &setup.mint).await, 5);

    let early = cli
        .err(
            &user_file,
            &["user", "cancel", "--pool", &pool, "--request", "0"],
        )
        .await;
    assert!(early.contains("can be cancelled from"), "{early}");
    let stranger = cli.keypair("stranger", 1_000_000_000).await;
    let theirs = cli
        .err(
            &stranger.1,
            &["user", "cancel", "--pool", &pool, "--request", "0"],
        )
        .await;
    assert!(theirs.contains("belongs to"), "{theirs}");

    cli.embedded_advance(86_400).await;
    cli.ok(
        &user_file,
        &["user", "cancel", "--pool", &pool, "--request", "0"],
    )
    .await;
    assert_eq!(cli.balance(&user, &setup.mint).await, 10);
    let request: ExchangeRequest = cli.fetch(request_address).await;
    assert_eq!(request.status, RequestStatus::Cancelled);
}

#[tokio::test]
async fn an_allocation_the_empty_vault_cannot_pay_is_refused_before_sending() {
    let cli = Cli::start().await;
    let unfunded = |text: String| {
        let funded = "initial_funding = 1_000_000";
        assert!(
            text.contains(funded),
            "the example pool file funds its vault"
        );
        text.replace(funded, "initial_funding = 0")
    };
    let setup = example_pool_edited(&cli, unfunded).await;
    let pool = setup.pool.to_string();
    let (user, user_file) = cli.keypair("user", 1_000_000_000).await;
    let user_text = user.to_string();
    let issue = issue_args(&pool, &user_text, "4000", "r-1");
    cli.ok(&setup.verifier.1, &issue).await;
    let before = cli.chain.account(user).await.unwrap().unwrap().lamports;

    let refused = cli
        .err(&user_file, &["user", "allocate", "--pool", &pool])
        .await;
    assert!(
        refused.contains("the program would refuse this allocation")
            && refused.contains("the vault holds fewer units than one allocation"),
        "{refused}"
    );
    // Nothing was sent: no fee paid, no record or token account created.
    assert_eq!(
        cli.chain.account(user).await.unwrap().unwrap().lamports,
        before
    );
    let record = pdas::allocation_record(&setup.pool, &user);
    assert!(cli.chain.account(record).await.unwrap().is_none());
    assert_eq!(cli.balance(&user, &setup.mint).await, 0);
}
