//! Rent that comes back through the CLI: a verifier closes a credential and its rent returns to
//! the key that paid it; the holder it supported is clawed back in the same transaction.

use allot::state::AllocationRecord;
use allot_client::chain::Chain as _;
use allot_client::pdas;

use crate::{Cli, example_pool, issue_args};

#[tokio::test]
async fn a_verifier_closes_a_credential_and_its_rent_comes_back() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let (verifier, verifier_file) = (setup.verifier.0, setup.verifier.1.clone());
    let (user, user_file) = cli.keypair("user", 1_000_000_000).await;
    let user_text = user.to_string();
    cli.ok(
        &verifier_file,
        &issue_args(&pool, &user_text, "4000", "r-1"),
    )
    .await;
    cli.ok(&user_file, &["user", "allocate", "--pool", &pool])
        .await;
    let address = pdas::credential(&setup.pool, &user);
    let rent = cli.chain.account(address).await.unwrap().unwrap().lamports;
    let before = cli.chain.account(verifier).await.unwrap().unwrap().lamports;

    let close = ["verifier", "close", "--pool", &pool, "--user", &user_text];
    let closed = cli.ok(&verifier_file, &close).await;
    assert_eq!(closed["rent_payer"], verifier.to_string());
    assert_eq!(closed["lamports"], rent);
    assert!(cli.chain.account(address).await.unwrap().is_none());
    // A closed credential counts as revoked: the 10 units it supported came back with it.
    assert_eq!(closed["clawed_back"], 10);
    assert_eq!(cli.balance(&user, &setup.mint).await, 0);
    let record: AllocationRecord = cli.fetch(pdas::allocation_record(&setup.pool, &user)).await;
    assert_eq!((record.allocated, record.clawed_back), (10, 10));
    let after = cli.chain.account(verifier).await.unwrap().unwrap().lamports;
    // The verifier also paid the transaction's fee (one signature).
    assert_eq!(after + 5_000, before + rent);

    let again = cli.err(&verifier_file, &close).await;
    assert!(again.contains("has no credential"), "{again}");
    let (_, stranger_file) = cli.keypair("stranger", 1_000_000_000).await;
    cli.ok(
        &verifier_file,
        &issue_args(&pool, &user_text, "4000", "r-2"),
    )
    .await;
    let by_stranger = cli.err(&stranger_file, &close).await;
    assert!(
        by_stranger.contains("is not an active verifier"),
        "{by_stranger}"
    );
    // Closed again with nothing left to take: the close alone.
    let closed = cli.ok(&verifier_file, &close).await;
    assert_eq!(closed["clawed_back"], 0);
}

#[tokio::test]
async fn an_operator_retires_and_the_crank_closes_records_their_rent_back_to_whoever_paid() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let op = &setup.operator.1;
    let verifier_file = setup.verifier.1.clone();
    // One user allocates itself (it pays its record); a crank allocates another (the crank pays).
    let (own, own_file) = cli.keypair("own", 1_000_000_000).await;
    let (cranked, _) = cli.keypair("cranked", 1_000_000_000).await;
    let (crank, crank_file) = cli.keypair("crank", 10_000_000_000).await;
    for (user, receipt) in [(own, "r-own"), (cranked, "r-cranked")] {
        let user = user.to_string();
        cli.ok(&verifier_file, &issue_args(&pool, &user, "4000", receipt))
            .await;
    }
    cli.ok(&own_file, &["user", "allocate", "--pool", &pool])
        .await;
    cli.ok(&crank_file, &["crank", "--pool", &pool]).await;
    let records = [own, cranked].map(|user| pdas::allocation_record(&setup.pool, &user));
    let own_record: AllocationRecord = cli.fetch(records[0]).await;
    let cranked_record: AllocationRecord = cli.fetch(records[1]).await;
    assert_eq!(
        (own_record.rent_payer, cranked_record.rent_payer),
        (own, crank)
    );

    // Records close only once the pool is retired.
    let close = ["crank", "--pool", &pool, "--close"];
    let (_, sweeper_file) = cli.keypair("sweeper", 1_000_000_000).await;
    let early = cli.err(&sweeper_file, &close).await;
    assert!(early.contains("is not retired"), "{early}");
    let retired = cli.ok(op, &["operator", "retire", "--pool", &pool]).await;
    assert_eq!(retired["retired"], true);
    let twice = cli.err(op, &["operator", "retire", "--pool", &pool]).await;
    assert!(twice.contains("already retired"), "{twice}");
    let shown = cli.ok(op, &["operator", "show", "--pool", &pool]).await;
    assert!(
        shown["retired_at"].as_i64().is_some_and(|t| t > 0),
        "{shown}"
    );

    // A retired pool allocates no more: a newly eligible user gets nothing from the crank.
    let (late, _) = cli.keypair("late", 1_000_000_000).await;
    cli.ok(
        &verifier_file,
        &issue_args(&pool, &late.to_string(), "4000", "r-late"),
    )
    .await;
    cli.ok(&crank_file, &["crank", "--pool", &pool]).await;
    assert_eq!(cli.balance(&late, &setup.mint).await, 0);

    // Anyone sweeps: each record's rent goes back to the key that paid it; the units stay.
    let rents = [
        cli.raw(records[0]).await.unwrap().lamports,
        cli.raw(records[1]).await.unwrap().lamports,
    ];
    let before = [
        cli.raw(own).await.unwrap().lamports,
        cli.raw(crank).await.unwrap().lamports,
    ];
    let swept = cli.ok(&sweeper_file, &close).await;
    assert_eq!(
        (&swept["records"], &swept["closed"]),
        (&2.into(), &2.into())
    );
    assert_eq!(swept["still_in_use"], 0);
    for (i, payer) in [own, crank].into_iter().enumerate() {
        assert!(cli.raw(records[i]).await.is_none());
        let after = cli.raw(payer).await.unwrap().lamports;
        assert_eq!(after - before[i], rents[i]);
    }
    assert_eq!(cli.balance(&own, &setup.mint).await, 10);
    // A verifier still closes credentials for their rent: no clawback rides along any more.
    let closed = cli
        .ok(
            &verifier_file,
            &[
                "verifier",
                "close",
                "--pool",
                &pool,
                "--user",
                &own.to_string(),
            ],
        )
        .await;
    assert_eq!(closed["clawed_back"], 0);
    assert_eq!(cli.balance(&own, &setup.mint).await, 10);
    // A second sweep finds nothing to close.
    let again = cli.ok(&sweeper_file, &close).await;
    assert_eq!(
        (&again["records"], &again["closed"]),
        (&0.into(), &0.into())
    );
}

#[tokio::test]
async fn the_crank_claws_back_a_holder_whose_credential_was_closed_without_it() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let verifier_file = setup.verifier.1.clone();
    let (user, user_file) = cli.keypair("user", 1_000_000_000).await;
    cli.ok(
        &verifier_file,
        &issue_args(&pool, &user.to_string(), "4000", "r-1"),
    )
    .await;
    cli.ok(&user_file, &["user", "allocate", "--pool", &pool])
        .await;
    // The verifier closes the credential with the bare instruction (not `verifier close`, which
    // claws back in the same transaction): only the record is left to find the holder by.
    let verifier = solana_sdk::signature::read_keypair_file(&verifier_file).unwrap();
    let close = allot_client::instructions::credential_close(
        &setup.verifier.0,
        &setup.pool,
        &user,
        &setup.verifier.0,
    );
    allot_cli::sender::send(&cli.chain, &verifier, &[], &[close])
        .await
        .expect("the close lands");
    assert_eq!(cli.balance(&user, &setup.mint).await, 10);

    let (_, crank_file) = cli.keypair("crank", 10_000_000_000).await;
    let run = ["crank", "--pool", &pool];
    let first = cli.ok(&crank_file, &run).await;
    assert_eq!(
        (&first["allocations"], &first["clawbacks"]),
        (&0.into(), &1.into()),
        "{first}"
    );
    assert_eq!(cli.balance(&user, &setup.mint).await, 0);
    let record: AllocationRecord = cli.fetch(pdas::allocation_record(&setup.pool, &user)).await;
    assert_eq!((record.allocated, record.clawed_back), (10, 10));
    let second = cli.ok(&crank_file, &run).await;
    assert_eq!(second["transactions"], 0, "{second}");
}
