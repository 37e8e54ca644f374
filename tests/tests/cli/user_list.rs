//! The operator's user list from a CSV: the published root, the proofs file, and allocation by
//! proof (by the user and by the crank).

use allot::state::UserList;
use allot_client::pdas;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

use crate::{Cli, example_pool};

#[tokio::test]
async fn published_list_lets_users_and_the_crank_allocate_by_proof() {
    let cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let (alice, alice_file) = cli.keypair("alice", 1_000_000_000).await;
    let others: Vec<Pubkey> = (0..4).map(|_| Keypair::new().pubkey()).collect();
    let mut csv = format!("user,value\n{alice},5000\n");
    for (i, user) in others.iter().enumerate() {
        csv.push_str(&format!("{user},{}\n", 600 * (i as u64 + 1)));
    }
    let list = cli.file("list.csv", &csv);
    let proofs = cli.path("proofs.json").display().to_string();

    let publish = [
        "operator",
        "publish-list",
        "--pool",
        &pool,
        "--csv",
        &list,
        "--proofs-out",
        &proofs,
    ];
    let published = cli.ok(&setup.operator.1, &publish).await;
    assert_eq!(published["users"], 5);
    let on_chain: UserList = cli.fetch(pdas::user_list(&setup.pool, 0)).await;
    assert_eq!(
        hex::encode(on_chain.root),
        published["root"].as_str().unwrap()
    );
    let again = cli.ok(&setup.operator.1, &publish).await;
    assert_eq!(again["published"], false, "the same list is not sent twice");

    let allocated = cli
        .ok(
            &alice_file,
            &["user", "allocate", "--pool", &pool, "--proofs", &proofs],
        )
        .await;
    assert_eq!(allocated["holding"], 10);
    assert_eq!(cli.balance(&alice, &setup.mint).await, 10);

    // Values 600, 1200, 1800, 2400: three meet the threshold of 1,000.
    let crank = cli
        .ok(
            &setup.operator.1,
            &["crank", "--pool", &pool, "--proofs", &proofs],
        )
        .await;
    assert_eq!(crank["allocations"], 3);
    assert_eq!(crank["skipped"]["already allocated this period"], 1);
    assert_eq!(crank["skipped"]["list value does not meet the rule"], 1);
    assert_eq!(cli.balance(&others[0], &setup.mint).await, 0);
    for user in &others[1..] {
        assert_eq!(cli.balance(user, &setup.mint).await, 10);
    }
}
