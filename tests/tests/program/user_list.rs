//! The operator's user list: Merkle roots per period, proofs at allocation and clawback.

use allot::error::AllotError;
use allot::events::{Allocated, UserListPublished};
use allot::instructions::UserListPublishArgs;
use allot::state::{EvidenceKind, UserList};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::merkle_tree::UserListTree;
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

struct Listed {
    users: Vec<Pubkey>,
    tree: UserListTree,
}

/// Publishes a list for `period` with three users: values 5,000 / 1,000 / 10 (the last fails).
async fn publish(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    period: u64,
) -> (Listed, Vec<AllotEvent>) {
    let users: Vec<Pubkey> = (0..3).map(|_| Keypair::new().pubkey()).collect();
    let entries = vec![(users[0], 5_000), (users[1], 1_000), (users[2], 10)];
    let tree = UserListTree::build(&fixture.pool, period, entries).unwrap();
    let op = fixture.operator.insecure_clone();
    let args = UserListPublishArgs {
        period,
        root: tree.root(),
        user_count: 3,
    };
    let events = chain
        .send(
            &[instructions::user_list_publish(
                &op.pubkey(),
                &fixture.pool,
                args,
            )],
            &[&op],
        )
        .await
        .unwrap();
    (Listed { users, tree }, events)
}

/// The fee payer's allocation to `user` on `evidence`.
fn allocate(
    chain: &TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    evidence: Evidence,
) -> Instruction {
    instructions::allocate(&chain.payer().pubkey(), &fixture.pool, user, evidence)
}

/// [`allocate`] is refused with `code`, and none of the `watched` accounts changes.
async fn allocation_refused(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    evidence: Evidence,
    code: impl Into<u32>,
    watched: &[Pubkey],
) {
    let ix = allocate(chain, fixture, user, evidence);
    chain.expect_refused(&[ix], &[], code, watched).await;
}

/// A user's list evidence: the proof of `user` in `listed`, for `period`.
fn evidence(listed: &Listed, user: &Pubkey, period: u64) -> Evidence {
    Evidence::UserList {
        period,
        proof: listed.tree.proof(user).unwrap(),
    }
}

#[tokio::test]
async fn allocation_by_list_proof() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let (listed, events) = publish(&mut chain, &fixture, 0).await;
    assert_eq!(
        events,
        vec![AllotEvent::UserListPublished(UserListPublished {
            pool: fixture.pool,
            period: 0,
            root: listed.tree.root(),
            user_count: 3,
        })]
    );
    let user = listed.users[1];
    let events = chain
        .send(
            &[allocate(
                &chain,
                &fixture,
                &user,
                evidence(&listed, &user, 0),
            )],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![AllotEvent::Allocated(Allocated {
            pool: fixture.pool,
            user,
            period: 0,
            amount: 100,
            evidence: EvidenceKind::UserList,
            user_allocated: 100,
            pool_outstanding: 100,
            shard: None,
        })]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    let list: UserList = chain.fetch(pdas::user_list(&fixture.pool, 0)).await;
    assert_eq!(list.allocations, 1);
    // Same period, same proof: refused.
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        evidence(&listed, &user, 0),
        AllotError::AlreadyAllocatedThisPeriod,
        &[fixture.vault, fixture.user_token(&user)],
    )
    .await;
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn forged_or_failing_list_claims_are_refused() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let (listed, _) = publish(&mut chain, &fixture, 0).await;
    let watched = |u: &Pubkey| {
        [
            fixture.vault,
            fixture.user_token(u),
            pdas::user_list(&fixture.pool, 0),
        ]
    };

    // Claiming a higher value than listed.
    let user = listed.users[2];
    let mut inflated = listed.tree.proof(&user).unwrap();
    inflated.value = 5_000;
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        Evidence::UserList {
            period: 0,
            proof: inflated,
        },
        AllotError::InvalidProof,
        &watched(&user),
    )
    .await;
    // Using another user's proof.
    let stranger = Keypair::new().pubkey();
    allocation_refused(
        &mut chain,
        &fixture,
        &stranger,
        evidence(&listed, &listed.users[0], 0),
        AllotError::InvalidProof,
        &watched(&stranger),
    )
    .await;
    // The honest value fails the rule.
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        evidence(&listed, &user, 0),
        AllotError::RuleNotMet,
        &watched(&user),
    )
    .await;
    // A proof longer than 32 nodes.
    let mut long = listed.tree.proof(&listed.users[0]).unwrap();
    long.proof = vec![[0; 32]; 33];
    allocation_refused(
        &mut chain,
        &fixture,
        &listed.users[0],
        Evidence::UserList {
            period: 0,
            proof: long,
        },
        AllotError::ProofTooLong,
        &watched(&listed.users[0]),
    )
    .await;
}

#[tokio::test]
async fn list_of_another_period_is_refused() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let (listed, _) = publish(&mut chain, &fixture, 1).await;
    let user = listed.users[0];
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        evidence(&listed, &user, 1),
        AllotError::UserListWrongPeriod,
        &[fixture.vault, fixture.user_token(&user)],
    )
    .await;
}

#[tokio::test]
async fn root_is_replaceable_until_an_allocation_uses_it() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let (_, _) = publish(&mut chain, &fixture, 0).await;
    // Replaced before use: fine.
    let (listed, _) = publish(&mut chain, &fixture, 0).await;
    let address = pdas::user_list(&fixture.pool, 0);
    assert_eq!(
        chain.fetch::<UserList>(address).await.root,
        listed.tree.root()
    );
    let user = listed.users[0];
    chain
        .send(
            &[allocate(
                &chain,
                &fixture,
                &user,
                evidence(&listed, &user, 0),
            )],
            &[],
        )
        .await
        .unwrap();
    let op = fixture.operator.insecure_clone();
    let args = UserListPublishArgs {
        period: 0,
        root: [7; 32],
        user_count: 1,
    };
    chain
        .expect_refused(
            &[instructions::user_list_publish(
                &op.pubkey(),
                &fixture.pool,
                args,
            )],
            &[&op],
            AllotError::UserListRootInUse,
            &[address],
        )
        .await;
}

#[tokio::test]
async fn only_the_operator_publishes_lists() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let stranger = chain.funded_keypair(1_000_000_000).await;
    let args = UserListPublishArgs {
        period: 0,
        root: [7; 32],
        user_count: 1,
    };
    let address = pdas::user_list(&fixture.pool, 0);
    chain
        .expect_refused(
            &[instructions::user_list_publish(
                &stranger.pubkey(),
                &fixture.pool,
                args,
            )],
            &[&stranger],
            AllotError::NotOperator,
            &[address],
        )
        .await;
    assert!(chain.account(address).await.is_none());
}

/// Audit finding (issue #18): a list of a period that has not begun cannot take units back (its
/// root could still be replaced afterwards), and a list that took units back is sealed as one
/// that allocated is.
#[tokio::test]
async fn clawback_needs_a_list_of_a_begun_period_and_seals_it() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let (listed, _) = publish(&mut chain, &fixture, 0).await;
    let user = listed.users[0];
    chain
        .send(
            &[allocate(
                &chain,
                &fixture,
                &user,
                evidence(&listed, &user, 0),
            )],
            &[],
        )
        .await
        .unwrap();

    // Period 1 has not begun; the operator publishes a list for it where the user fails.
    let failing = UserListTree::build(&fixture.pool, 1, vec![(user, 10)]).unwrap();
    let op = fixture.operator.insecure_clone();
    let publish_root = |root: [u8; 32]| {
        instructions::user_list_publish(
            &op.pubkey(),
            &fixture.pool,
            UserListPublishArgs {
                period: 1,
                root,
                user_count: 1,
            },
        )
    };
    chain
        .send(&[publish_root(failing.root())], &[&op])
        .await
        .unwrap();
    let clawback = instructions::clawback(
        &fixture.pool,
        &user,
        Evidence::UserList {
            period: 1,
            proof: failing.proof(&user).unwrap(),
        },
    );
    let list_address = pdas::user_list(&fixture.pool, 1);
    chain
        .expect_refused(
            std::slice::from_ref(&clawback),
            &[],
            AllotError::UserListFromFuturePeriod,
            &[fixture.vault, fixture.user_token(&user), list_address],
        )
        .await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);

    // Once period 1 has begun the list is evidence; using it seals its root.
    chain.advance_time(allot_tests::PERIOD).await;
    chain.send(&[clawback], &[]).await.unwrap();
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    let list: UserList = chain.fetch(list_address).await;
    assert_eq!((list.allocations, list.clawbacks), (0, 1));
    chain
        .expect_refused(
            &[publish_root([7; 32])],
            &[&op],
            AllotError::UserListRootInUse,
            &[list_address],
        )
        .await;
    fixture.assert_conserved(&mut chain, &[user]).await;
}
