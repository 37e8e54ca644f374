//! Clawback: the pool recovers allocated units once the evidence no longer supports them, never
//! while it does, and never more than it allocated — nor units a pending exchange holds in escrow.

use allot::error::AllotError;
use allot::events::ClawedBack;
use allot::instructions::{CredentialIssueArgs, UserListPublishArgs};
use allot::state::{AllocationRecord, ClawbackReason, EvidenceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::merkle_tree::UserListTree;
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain};
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::{Market, allocated};

fn clawed_back(
    fixture: &PoolFixture,
    user: Pubkey,
    reason: ClawbackReason,
    burned: bool,
) -> AllotEvent {
    AllotEvent::ClawedBack(ClawedBack {
        pool: fixture.pool,
        user,
        amount: 100,
        reason,
        evidence: EvidenceKind::Credential,
        burned,
        pool_outstanding: 0,
    })
}

#[tokio::test]
async fn clawback_after_revocation_returns_units_to_the_vault() {
    let (mut chain, fixture, user) = allocated(true).await;
    fixture.revoke_credential(&mut chain, &user).await;

    let events = fixture
        .clawback_by_credential(&mut chain, &user)
        .await
        .unwrap();

    assert_eq!(
        events,
        vec![clawed_back(
            &fixture,
            user,
            ClawbackReason::CredentialRevoked,
            false
        )]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    assert_eq!(chain.token_balance(fixture.vault).await, 10_000);
    let record: AllocationRecord = chain
        .fetch(pdas::allocation_record(&fixture.pool, &user))
        .await;
    assert_eq!((record.allocated, record.clawed_back), (100, 100));
    let pool = fixture.state(&mut chain).await;
    assert_eq!((pool.totals.clawed_back, pool.totals.outstanding), (100, 0));
    fixture.assert_conserved(&mut chain, &[user]).await;

    // Nothing is left to recover.
    chain
        .expect_refused(
            &[instructions::clawback(
                &fixture.pool,
                &user,
                Evidence::Credential,
            )],
            &[],
            AllotError::NothingToClawBack,
            &[fixture.pool, fixture.vault, fixture.user_token(&user)],
        )
        .await;
}

#[tokio::test]
async fn clawback_after_expiry() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let verifier = fixture.verifier.insecure_clone();
    let user = Keypair::new().pubkey();
    let now = chain.clock().await.unix_timestamp;
    let args = CredentialIssueArgs {
        period: 0,
        indicators: [1_000, 0, 0, 0],
        expires_at: now + 1_000,
        evidence_hash: [1; 32],
    };
    chain
        .send(
            &[instructions::credential_issue(
                &verifier.pubkey(),
                &fixture.pool,
                &user,
                args,
            )],
            &[&verifier],
        )
        .await
        .unwrap();
    fixture
        .allocate_by_credential(&mut chain, &user)
        .await
        .unwrap();
    chain.advance_time(999).await;
    chain
        .expect_refused(
            &[instructions::clawback(
                &fixture.pool,
                &user,
                Evidence::Credential,
            )],
            &[],
            AllotError::ConditionsStillHold,
            &[fixture.vault, fixture.user_token(&user)],
        )
        .await;
    chain.advance_time(1).await;
    let events = fixture
        .clawback_by_credential(&mut chain, &user)
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![clawed_back(
            &fixture,
            user,
            ClawbackReason::CredentialExpired,
            false
        )]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn clawback_after_a_failing_indicator_update() {
    let (mut chain, fixture, user) = allocated(true).await;
    fixture.issue_credential(&mut chain, &user, 999).await;
    let events = fixture
        .clawback_by_credential(&mut chain, &user)
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![clawed_back(
            &fixture,
            user,
            ClawbackReason::IndicatorFails,
            false
        )]
    );
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn clawback_is_refused_while_conditions_hold() {
    let (mut chain, fixture, user) = allocated(true).await;
    // Even in a later period, a credential that still meets the rule protects the holdings.
    chain.advance_time(3 * PERIOD).await;
    chain
        .expect_refused(
            &[instructions::clawback(
                &fixture.pool,
                &user,
                Evidence::Credential,
            )],
            &[],
            AllotError::ConditionsStillHold,
            &[
                fixture.pool,
                fixture.vault,
                fixture.user_token(&user),
                pdas::allocation_record(&fixture.pool, &user),
            ],
        )
        .await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
}

#[tokio::test]
async fn non_transferable_clawback_burns() {
    let (mut chain, fixture, user) = allocated(false).await;
    fixture.revoke_credential(&mut chain, &user).await;
    let events = fixture
        .clawback_by_credential(&mut chain, &user)
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![clawed_back(
            &fixture,
            user,
            ClawbackReason::CredentialRevoked,
            true
        )]
    );
    assert_eq!(chain.mint_supply(fixture.mint).await, 0);
    let pool = fixture.state(&mut chain).await;
    assert_eq!(
        (
            pool.totals.minted,
            pool.totals.burned,
            pool.totals.outstanding
        ),
        (100, 100, 0)
    );
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn clawback_never_takes_more_than_was_allocated() {
    let (mut chain, fixture, user) = allocated(true).await;
    // The user also holds 40 units received from another holder (a transferable pool).
    let friend = chain.funded_keypair(1_000_000_000).await;
    fixture
        .issue_credential(&mut chain, &friend.pubkey(), 1_000)
        .await;
    fixture
        .allocate_by_credential(&mut chain, &friend.pubkey())
        .await
        .unwrap();
    let gift = spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &fixture.user_token(&friend.pubkey()),
        &fixture.mint,
        &fixture.user_token(&user),
        &friend.pubkey(),
        &[],
        40,
        0,
    )
    .unwrap();
    chain.send(&[gift], &[&friend]).await.unwrap();
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 140);

    fixture.issue_credential(&mut chain, &user, 0).await;
    fixture
        .clawback_by_credential(&mut chain, &user)
        .await
        .unwrap();
    assert_eq!(
        chain.token_balance(fixture.user_token(&user)).await,
        40,
        "the gift stays"
    );
    fixture
        .assert_conserved(&mut chain, &[user, friend.pubkey()])
        .await;
}

#[tokio::test]
async fn clawback_by_a_newer_user_list_stating_a_failing_value() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let user = Keypair::new().pubkey();
    let payer = chain.payer().pubkey();
    let publish = |period: u64, value: u64| {
        let tree = UserListTree::build(
            &fixture.pool,
            period,
            vec![(user, value), (Pubkey::new_unique(), 1)],
        )
        .unwrap();
        let args = UserListPublishArgs {
            period,
            root: tree.root(),
            user_count: 2,
        };
        (
            instructions::user_list_publish(&op.pubkey(), &fixture.pool, args),
            tree.proof(&user).unwrap(),
        )
    };
    let (ix, proof0) = publish(0, 2_000);
    chain.send(&[ix], &[&op]).await.unwrap();
    chain
        .send(
            &[instructions::allocate(
                &payer,
                &fixture.pool,
                &user,
                Evidence::UserList {
                    period: 0,
                    proof: proof0.clone(),
                },
            )],
            &[],
        )
        .await
        .unwrap();
    // The list that supported the allocation cannot claw it back.
    chain
        .expect_refused(
            &[instructions::clawback(
                &fixture.pool,
                &user,
                Evidence::UserList {
                    period: 0,
                    proof: proof0,
                },
            )],
            &[],
            AllotError::ConditionsStillHold,
            &[fixture.vault, fixture.user_token(&user)],
        )
        .await;
    chain.advance_time(PERIOD).await;
    let (ix, proof1) = publish(1, 3);
    chain.send(&[ix], &[&op]).await.unwrap();
    let events = chain
        .send(
            &[instructions::clawback(
                &fixture.pool,
                &user,
                Evidence::UserList {
                    period: 1,
                    proof: proof1,
                },
            )],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![AllotEvent::ClawedBack(ClawedBack {
            pool: fixture.pool,
            user,
            amount: 100,
            reason: ClawbackReason::IndicatorFails,
            evidence: EvidenceKind::UserList,
            burned: false,
            pool_outstanding: 0,
        })]
    );
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn evidence_older_than_the_allocation_cannot_claw_it_back() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let user = Keypair::new().pubkey();
    // Period 0: a credential that is later revoked.
    fixture.issue_credential(&mut chain, &user, 5_000).await;
    fixture.revoke_credential(&mut chain, &user).await;
    // Period 1: allocated on the operator's list.
    chain.advance_time(PERIOD).await;
    let tree = UserListTree::build(&fixture.pool, 1, vec![(user, 5_000)]).unwrap();
    let args = UserListPublishArgs {
        period: 1,
        root: tree.root(),
        user_count: 1,
    };
    chain
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
    let payer = chain.payer().pubkey();
    chain
        .send(
            &[instructions::allocate(
                &payer,
                &fixture.pool,
                &user,
                Evidence::UserList {
                    period: 1,
                    proof: tree.proof(&user).unwrap(),
                },
            )],
            &[],
        )
        .await
        .unwrap();
    chain
        .expect_refused(
            &[instructions::clawback(
                &fixture.pool,
                &user,
                Evidence::Credential,
            )],
            &[],
            AllotError::EvidenceOlderThanAllocation,
            &[fixture.vault, fixture.user_token(&user)],
        )
        .await;
}

#[tokio::test]
async fn clawback_leaves_escrowed_units_alone_and_recovers_them_once_returned() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let (id, _) = m.request(0, 60).await.unwrap();
    m.revoke(0).await;

    let events = m.clawback(0).await.unwrap();
    assert!(matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 40));
    assert_eq!(
        m.chain.token_balance(pdas::escrow(&pool)).await,
        60,
        "escrow untouched"
    );
    m.conserved().await;
    m.expect_refused(
        &[m.clawback_ix(0)],
        &[],
        AllotError::NothingToClawBack,
        &[pool, pdas::escrow(&pool)],
    )
    .await;

    // The bridge rejects the request: the units go back to the user, then to the pool.
    let bridge = m.bridge.insecure_clone();
    m.reject(&bridge, id, 0, 1).await;
    m.conserved().await;
    let events = m.clawback(0).await.unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 60 && e.pool_outstanding == 0)
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 0);
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!(
        (record.allocated, record.clawed_back, record.exchanged),
        (100, 100, 0)
    );
    m.conserved().await;
}

/// Exchanging units received from another holder does not shield one's own allocation from
/// clawback (audit finding of issue #18): received units are exchanged first, so all 100 of the
/// user's own stay claw-backable, and a reject gives back to the record only what was its own.
#[tokio::test]
async fn exchanging_received_units_leaves_ones_own_allocation_clawable() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let friend = m.users[1].insecure_clone();
    let gift = spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &m.user_token(1),
        &m.fixture.mint,
        &m.user_token(0),
        &friend.pubkey(),
        &[],
        60,
        0,
    )
    .unwrap();
    m.send(&[gift], &[&friend]).await.unwrap();
    // Of 160 held (100 own, 60 received), 60 go to exchange: the received ones.
    let (id, _) = m.request(0, 60).await.unwrap();
    assert_eq!(m.request_state(id).await.own_units, 0);
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!((record.exchanged, record.clawable()), (0, 100));

    m.revoke(0).await;
    let events = m.clawback(0).await.unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 100),
        "{events:?}"
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 0);

    // Rejected, the request's 60 received units go back to the user, and none of them becomes
    // claw-backable: the allocation was recovered in full already.
    let bridge = m.bridge.insecure_clone();
    m.reject(&bridge, id, 0, 1).await;
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 60);
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!(
        (record.allocated, record.clawed_back, record.exchanged),
        (100, 100, 0)
    );
    m.expect_refused(
        &[m.clawback_ix(0)],
        &[],
        AllotError::NothingToClawBack,
        &[pool, m.user_token(0)],
    )
    .await;
}
