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
