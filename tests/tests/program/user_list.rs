//! The operator's user list: Merkle roots per period, proofs at allocation and clawback.

use allot::error::AllotError;
use allot::events::UserListPublished;
use allot::instructions::UserListPublishArgs;
use allot::state::{EvidenceKind, UserList};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::merkle_tree::UserListTree;
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain, list_evidence};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::first_allocation;

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
    let (tree, events) = fixture.publish_list(chain, period, entries).await;
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

/// `key`'s publication of a one-user list with `root` for `period`.
fn publish_root(fixture: &PoolFixture, key: &Keypair, period: u64, root: [u8; 32]) -> Instruction {
    let args = UserListPublishArgs {
        period,
        root,
        user_count: 1,
    };
    instructions::user_list_publish(&key.pubkey(), &fixture.pool, args)
}

/// A user's list evidence: the proof of `user` in `listed`, for `period`.
fn evidence(listed: &Listed, user: &Pubkey, period: u64) -> Evidence {
    list_evidence(&listed.tree, period, user)
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
    let ix = allocate(&chain, &fixture, &user, evidence(&listed, &user, 0));
    let events = chain.send_ok(&[ix], &[]).await;
    let kind = EvidenceKind::UserList;
    assert_eq!(
        events,
        vec![first_allocation(fixture.pool, user, kind, 100, None)]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    let list: UserList = chain.fetch(pdas::user_list(&fixture.pool, 0)).await;
    assert_eq!(list.allocations, 1);
    // Same period, same proof: refused.
    let ix = allocate(&chain, &fixture, &user, evidence(&listed, &user, 0));
    let watched = [fixture.vault, fixture.user_token(&user)];
    let again = AllotError::AlreadyAllocatedThisPeriod;
    chain.expect_refused(&[ix], &[], again, &watched).await;
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

    let (user, first) = (listed.users[2], listed.users[0]);
    let list_proof = |proof| Evidence::UserList { period: 0, proof };
    let mut inflated = listed.tree.proof(&user).unwrap();
    inflated.value = 5_000;
    let mut long = listed.tree.proof(&first).unwrap();
    long.proof = vec![[0; 32]; 33];
    let stranger = Keypair::new().pubkey();
    for (claimant, claim, error) in [
        // Claiming a higher value than listed.
        (user, list_proof(inflated), AllotError::InvalidProof),
        // Using another user's proof.
        (
            stranger,
            evidence(&listed, &first, 0),
            AllotError::InvalidProof,
        ),
        // The honest value fails the rule.
        (user, evidence(&listed, &user, 0), AllotError::RuleNotMet),
        // A proof longer than 32 nodes.
        (first, list_proof(long), AllotError::ProofTooLong),
    ] {
        let ix = allocate(&chain, &fixture, &claimant, claim);
        chain
            .expect_refused(&[ix], &[], error, &watched(&claimant))
            .await;
    }
}

#[tokio::test]
async fn list_of_another_period_is_refused() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let (listed, _) = publish(&mut chain, &fixture, 1).await;
    let user = listed.users[0];
    let ix = allocate(&chain, &fixture, &user, evidence(&listed, &user, 1));
    let watched = [fixture.vault, fixture.user_token(&user)];
    let wrong_period = AllotError::UserListWrongPeriod;
    chain
        .expect_refused(&[ix], &[], wrong_period, &watched)
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
    let ix = allocate(&chain, &fixture, &user, evidence(&listed, &user, 0));
    chain.send_ok(&[ix], &[]).await;
    let op = fixture.operator.insecure_clone();
    let ix = publish_root(&fixture, &op, 0, [7; 32]);
    let in_use = AllotError::UserListRootInUse;
    chain
        .expect_refused(&[ix], &[&op], in_use, &[address])
        .await;
}

#[tokio::test]
async fn only_the_operator_publishes_lists() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let stranger = chain.funded_keypair(1_000_000_000).await;
    let address = pdas::user_list(&fixture.pool, 0);
    let ix = publish_root(&fixture, &stranger, 0, [7; 32]);
    chain
        .expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &[address])
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
    let ix = allocate(&chain, &fixture, &user, evidence(&listed, &user, 0));
    chain.send_ok(&[ix], &[]).await;

    // Period 1 has not begun; the operator publishes a list for it where the user fails.
    let (failing, _) = fixture.publish_list(&mut chain, 1, vec![(user, 10)]).await;
    let clawback = instructions::clawback(&fixture.pool, &user, list_evidence(&failing, 1, &user));
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
    chain.send_ok(&[clawback], &[]).await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    let list: UserList = chain.fetch(list_address).await;
    assert_eq!((list.allocations, list.clawbacks), (0, 1));
    let op = fixture.operator.insecure_clone();
    let ix = publish_root(&fixture, &op, 1, [7; 32]);
    let in_use = AllotError::UserListRootInUse;
    chain
        .expect_refused(&[ix], &[&op], in_use, &[list_address])
        .await;
    fixture.assert_conserved(&mut chain, &[user]).await;
}
