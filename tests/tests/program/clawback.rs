//! Clawback: the pool recovers allocated units once the evidence no longer supports them, never
//! while it does, and never more than it allocated — nor units a pending exchange holds in escrow.

use allot::error::AllotError;
use allot::events::ClawedBack;
use allot::state::{AllocationRecord, ClawbackReason};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain, list_evidence};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::{Market, allocated};

/// The fee payer's clawback of `user`'s units on `evidence`.
fn clawback_ix(fixture: &PoolFixture, user: &Pubkey, evidence: Evidence) -> Instruction {
    instructions::clawback(&fixture.pool, user, evidence)
}

/// The clawback of `user`'s 100 units on `evidence` lands with one event naming `reason`, the
/// units `burned` or back in the vault, and the pool's books stay whole.
async fn claws_back_on(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: Pubkey,
    evidence: Evidence,
    reason: ClawbackReason,
    burned: bool,
) {
    let kind = evidence.kind();
    let events = chain
        .send_ok(&[clawback_ix(fixture, &user, evidence)], &[])
        .await;
    assert_eq!(
        events,
        vec![AllotEvent::ClawedBack(ClawedBack {
            pool: fixture.pool,
            user,
            amount: 100,
            reason,
            evidence: kind,
            burned,
            pool_outstanding: 0,
            debt: 0,
        })]
    );
    fixture.assert_conserved(chain, &[user]).await;
}

/// [`claws_back_on`] `user`'s credential.
async fn claws_back(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: Pubkey,
    reason: ClawbackReason,
    burned: bool,
) {
    claws_back_on(chain, fixture, user, Evidence::Credential, reason, burned).await;
}

/// The clawback of `user`'s units on their credential is refused with `code`, and none of the
/// `watched` accounts changes.
async fn clawback_refused(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    code: impl Into<u32>,
    watched: &[Pubkey],
) {
    let ix = clawback_ix(fixture, user, Evidence::Credential);
    chain.expect_refused(&[ix], &[], code, watched).await;
}

#[tokio::test]
async fn clawback_after_revocation_returns_units_to_the_vault() {
    let (mut chain, fixture, user) = allocated(true).await;
    fixture.revoke_credential(&mut chain, &user).await;

    let revoked = ClawbackReason::CredentialRevoked;
    claws_back(&mut chain, &fixture, user, revoked, false).await;

    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    assert_eq!(chain.token_balance(fixture.vault).await, 10_000);
    let record: AllocationRecord = chain
        .fetch(pdas::allocation_record(&fixture.pool, &user))
        .await;
    assert_eq!((record.allocated, record.clawed_back), (100, 100));
    let pool = fixture.state(&mut chain).await;
    assert_eq!((pool.totals.clawed_back, pool.totals.outstanding), (100, 0));

    // Nothing is left to recover.
    let watched = [fixture.pool, fixture.vault, fixture.user_token(&user)];
    let nothing = AllotError::NothingToClawBack;
    clawback_refused(&mut chain, &fixture, &user, nothing, &watched).await;
}

#[tokio::test]
async fn clawback_after_expiry() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let verifier = fixture.verifier.insecure_clone();
    let user = Keypair::new().pubkey();
    let now = chain.clock().await.unix_timestamp;
    let mut args = fixture.credential_args(&mut chain, 1_000).await;
    args.expires_at = now + 1_000;
    let ix = instructions::credential_issue(&verifier.pubkey(), &fixture.pool, &user, args);
    chain.send_ok(&[ix], &[&verifier]).await;
    fixture
        .allocate_by_credential(&mut chain, &user)
        .await
        .unwrap();
    chain.advance_time(999).await;
    let watched = [fixture.vault, fixture.user_token(&user)];
    let holds = AllotError::ConditionsStillHold;
    clawback_refused(&mut chain, &fixture, &user, holds, &watched).await;
    chain.advance_time(1).await;
    let expired = ClawbackReason::CredentialExpired;
    claws_back(&mut chain, &fixture, user, expired, false).await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
}

#[tokio::test]
async fn clawback_after_a_failing_indicator_update() {
    let (mut chain, fixture, user) = allocated(true).await;
    fixture.issue_credential(&mut chain, &user, 999).await;
    let fails = ClawbackReason::IndicatorFails;
    claws_back(&mut chain, &fixture, user, fails, false).await;
}

#[tokio::test]
async fn clawback_is_refused_while_conditions_hold() {
    let (mut chain, fixture, user) = allocated(true).await;
    // Even in a later period, a credential that still meets the rule protects the holdings.
    chain.advance_time(3 * PERIOD).await;
    let watched = [
        fixture.pool,
        fixture.vault,
        fixture.user_token(&user),
        pdas::allocation_record(&fixture.pool, &user),
    ];
    let holds = AllotError::ConditionsStillHold;
    clawback_refused(&mut chain, &fixture, &user, holds, &watched).await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
}

#[tokio::test]
async fn non_transferable_clawback_burns() {
    let (mut chain, fixture, user) = allocated(false).await;
    fixture.revoke_credential(&mut chain, &user).await;
    let revoked = ClawbackReason::CredentialRevoked;
    claws_back(&mut chain, &fixture, user, revoked, true).await;
    assert_eq!(chain.mint_supply(fixture.mint).await, 0);
    let totals = fixture.state(&mut chain).await.totals;
    assert_eq!(
        (totals.minted, totals.burned, totals.outstanding),
        (100, 100, 0)
    );
}

#[tokio::test]
async fn clawback_never_takes_more_than_was_allocated() {
    let (mut chain, fixture, user) = allocated(true).await;
    // The user also holds 40 units received from another holder (a transferable pool).
    let friend = chain.funded_keypair(1_000_000_000).await;
    fixture
        .issue_and_allocate(&mut chain, &friend.pubkey(), 1_000)
        .await;
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
    chain.send_ok(&[gift], &[&friend]).await;
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
    let user = Keypair::new().pubkey();
    let payer = chain.payer().pubkey();
    let entries = |value: u64| vec![(user, value), (Pubkey::new_unique(), 1)];
    let (tree, _) = fixture.publish_list(&mut chain, 0, entries(2_000)).await;
    let evidence = list_evidence(&tree, 0, &user);
    let ix = instructions::allocate(&payer, &fixture.pool, &user, evidence.clone());
    chain.send_ok(&[ix], &[]).await;
    // The list that supported the allocation cannot claw it back.
    let watched = [fixture.vault, fixture.user_token(&user)];
    let holds = AllotError::ConditionsStillHold;
    let ix = clawback_ix(&fixture, &user, evidence);
    chain.expect_refused(&[ix], &[], holds, &watched).await;
    chain.advance_time(PERIOD).await;
    let (tree, _) = fixture.publish_list(&mut chain, 1, entries(3)).await;
    let evidence = list_evidence(&tree, 1, &user);
    let fails = ClawbackReason::IndicatorFails;
    claws_back_on(&mut chain, &fixture, user, evidence, fails, false).await;
}

#[tokio::test]
async fn evidence_older_than_the_allocation_cannot_claw_it_back() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let user = Keypair::new().pubkey();
    // Period 0: a credential that is later revoked.
    fixture.issue_credential(&mut chain, &user, 5_000).await;
    fixture.revoke_credential(&mut chain, &user).await;
    // Period 1: allocated on the operator's list.
    chain.advance_time(PERIOD).await;
    let (tree, _) = fixture
        .publish_list(&mut chain, 1, vec![(user, 5_000)])
        .await;
    let payer = chain.payer().pubkey();
    let evidence = list_evidence(&tree, 1, &user);
    let ix = instructions::allocate(&payer, &fixture.pool, &user, evidence);
    chain.send_ok(&[ix], &[]).await;
    let watched = [fixture.vault, fixture.user_token(&user)];
    let older = AllotError::EvidenceOlderThanAllocation;
    clawback_refused(&mut chain, &fixture, &user, older, &watched).await;
}

#[tokio::test]
async fn clawback_leaves_escrowed_units_alone_and_recovers_them_once_returned() {
    let (mut m, id) = Market::with_pending_request().await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
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
    m.send_ok(&[gift], &[&friend]).await;
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

/// User `from` of the market sends `amount` of its units to user `to` (which must land).
async fn send_units(m: &mut Market, from: usize, to: usize, amount: u64) {
    let sender = m.users[from].insecure_clone();
    let send = spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &m.user_token(from),
        &m.fixture.mint,
        &m.user_token(to),
        &sender.pubkey(),
        &[],
        amount,
        0,
    )
    .unwrap();
    m.send_ok(&[send], &[&sender]).await;
}

#[tokio::test]
async fn units_moved_away_before_a_clawback_are_owed_and_a_request_repays_them_first() {
    // Audit finding: a clawback took `min(clawable, balance)` and forgot the rest, so a holder
    // who moved its units away before a revocation kept them for good.
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let record_address = pdas::allocation_record(&pool, &user.pubkey());
    send_units(&mut m, 0, 1, 70).await;
    m.revoke(0).await;
    let events = m.clawback(0).await.expect("the clawback lands");
    let AllotEvent::ClawedBack(clawed) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!((clawed.amount, clawed.debt), (30, 70));
    let record: AllocationRecord = m.chain.fetch(record_address).await;
    assert_eq!((record.clawed_back, record.debt), (30, 70));

    // Units back in the account: a request no larger than the debt only repays it, refused.
    send_units(&mut m, 1, 0, 90).await;
    let id = m
        .fixture
        .state(&mut m.chain)
        .await
        .exchange_state
        .requests_opened;
    let watched = [pool, record_address, m.user_token(0), m.fixture.vault];
    let too_small = m.request_ix(0, id, 70);
    m.expect_refused(
        &[too_small],
        &[&user],
        AllotError::ClawbackDebtOutstanding,
        &watched,
    )
    .await;
    // A request of 80 repays the 70 owed to the vault first and escrows the other 10.
    let vault = m.chain.token_balance(m.fixture.vault).await;
    let (id, events) = m.request(0, 80).await.expect("the request lands");
    let Some(AllotEvent::ExchangeRequested(requested)) = events.first() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (requested.amount, requested.debt_repaid, requested.quoted),
        (10, 70, 20)
    );
    assert_eq!(m.chain.token_balance(m.fixture.vault).await, vault + 70);
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 10);
    assert_eq!(m.request_state(id).await.amount, 10);
    let record: AllocationRecord = m.chain.fetch(record_address).await;
    assert_eq!((record.debt, record.clawed_back), (0, 100));
    assert_eq!(m.fixture.state(&mut m.chain).await.totals.clawed_back, 100);
}

#[tokio::test]
async fn a_holder_who_moved_everything_away_owes_it_and_its_next_allocation_repays_it() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let record_address = pdas::allocation_record(&pool, &user);
    send_units(&mut m, 0, 1, 100).await;
    m.revoke(0).await;
    // Nothing held: the clawback takes nothing and records the whole allocation as owed.
    let events = m.clawback(0).await.expect("the clawback records the debt");
    assert!(matches!(
        events[..],
        [AllotEvent::ClawedBack(ClawedBack {
            amount: 0,
            debt: 100,
            ..
        })]
    ));
    // Once recorded, the same clawback changes nothing and is refused.
    let again = m.clawback_ix(0);
    m.expect_refused(
        &[again],
        &[],
        AllotError::NothingToClawBack,
        &[pool, record_address],
    )
    .await;

    // Eligible again in the next period: the allocation repays the debt first, so the user
    // receives none of it, the vault keeps it, and it counts as clawed back.
    m.chain.advance_time(PERIOD).await;
    m.fixture.issue_credential(&mut m.chain, &user, 1_000).await;
    let vault = m.chain.token_balance(m.fixture.vault).await;
    let payer = m.chain.payer().pubkey();
    let allocate = instructions::allocate(&payer, &pool, &user, Evidence::Credential);
    let events = m.send_ok(&[allocate], &[]).await;
    assert!(matches!(
        events[..],
        [AllotEvent::Allocated(allot::events::Allocated {
            amount: 100,
            debt_repaid: 100,
            ..
        })]
    ));
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 0);
    assert_eq!(m.chain.token_balance(m.fixture.vault).await, vault);
    let record: AllocationRecord = m.chain.fetch(record_address).await;
    assert_eq!(
        (record.allocated, record.clawed_back, record.debt),
        (200, 100, 0)
    );

    // A debtor is not allocated from a shard (the repayment goes back to the pool's vault).
    m.chain.advance_time(PERIOD).await;
    m.revoke(0).await;
    send_units(&mut m, 1, 0, 1).await;
    m.clawback(0).await.expect("the clawback lands");
    let record: AllocationRecord = m.chain.fetch(record_address).await;
    assert_eq!(record.debt, 99);
    m.fixture.create_shards(&mut m.chain, 1, 500).await;
    m.fixture.issue_credential(&mut m.chain, &user, 1_000).await;
    let sharded = instructions::allocate_sharded(&payer, &pool, &user, 0, Evidence::Credential);
    m.expect_refused(
        &[sharded],
        &[],
        AllotError::ClawbackDebtOutstanding,
        &[pool, record_address, pdas::shard(&pool, 0)],
    )
    .await;
}
