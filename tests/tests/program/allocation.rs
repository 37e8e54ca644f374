//! Allocation by credential: once per period, into the user's own token account, paid by the
//! sender.

use allot::error::AllotError;
use allot::state::{AllocationRecord, AllocationRule, EvidenceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain, rule};
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::{allocated, first_allocation};

/// The fee payer's allocation to `user` on their credential is refused with `code`, and none of
/// the `watched` accounts changes.
async fn allocation_refused(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    code: impl Into<u32>,
    watched: &[Pubkey],
) {
    let payer = chain.payer().pubkey();
    let ix = instructions::allocate(&payer, &fixture.pool, user, Evidence::Credential);
    chain.expect_refused(&[ix], &[], code, watched).await;
}

/// The operator replaces the pool's rule (which must land).
async fn update_rule(chain: &mut TestChain, fixture: &PoolFixture, rule: AllocationRule) {
    let op = fixture.operator.insecure_clone();
    let ix = instructions::pool_update_rule(&op.pubkey(), &fixture.pool, rule);
    chain.send_ok(&[ix], &[&op]).await;
}

/// The operator pauses or unpauses the pool (which must land).
async fn set_paused(chain: &mut TestChain, fixture: &PoolFixture, paused: bool) {
    let op = fixture.operator.insecure_clone();
    let ix = instructions::pool_set_paused(&op.pubkey(), &fixture.pool, paused);
    chain.send_ok(&[ix], &[&op]).await;
}

#[tokio::test]
async fn allocation_by_credential_moves_the_preset_amount_to_a_user_without_sol() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 1_000).await;
    assert!(
        chain.account(user).await.is_none(),
        "the user has no SOL at all"
    );

    let events = fixture
        .allocate_by_credential(&mut chain, &user)
        .await
        .unwrap();

    let credential = EvidenceKind::Credential;
    assert_eq!(
        events,
        vec![first_allocation(fixture.pool, user, credential, 100, None)]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    assert_eq!(chain.token_balance(fixture.vault).await, 9_900);
    let record: AllocationRecord = chain
        .fetch(pdas::allocation_record(&fixture.pool, &user))
        .await;
    assert_eq!(
        (
            record.allocations,
            record.last_period,
            record.allocated,
            record.clawed_back
        ),
        (1, 0, 100, 0)
    );
    let pool = fixture.state(&mut chain).await;
    assert_eq!(
        (
            pool.totals.allocated,
            pool.totals.outstanding,
            pool.totals.allocations
        ),
        (100, 100, 1)
    );
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn second_allocation_in_the_same_period_is_refused() {
    let (mut chain, fixture, user) = allocated(true).await;
    chain.advance_time(PERIOD - 1).await; // still period 0

    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        AllotError::AlreadyAllocatedThisPeriod,
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
async fn allocation_in_the_next_period_is_accepted_on_an_updated_credential() {
    let (mut chain, fixture, user) = allocated(true).await;
    chain.advance_time(PERIOD).await;

    // Last period's credential does not support this period's allocation.
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        AllotError::CredentialWrongPeriod,
        &[fixture.vault, fixture.user_token(&user)],
    )
    .await;
    fixture.issue_credential(&mut chain, &user, 1_200).await;
    let events = fixture
        .allocate_by_credential(&mut chain, &user)
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::Allocated(a)] if a.period == 1 && a.user_allocated == 200)
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 200);
    let record: AllocationRecord = chain
        .fetch(pdas::allocation_record(&fixture.pool, &user))
        .await;
    assert_eq!(
        (record.allocations, record.last_period, record.allocated),
        (2, 1, 200)
    );
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn paused_pool_refuses_allocation_until_unpaused() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 1_000).await;
    set_paused(&mut chain, &fixture, true).await;
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        AllotError::PoolPaused,
        &[
            fixture.pool,
            fixture.vault,
            fixture.user_token(&user),
            pdas::allocation_record(&fixture.pool, &user),
        ],
    )
    .await;
    set_paused(&mut chain, &fixture, false).await;
    fixture
        .allocate_by_credential(&mut chain, &user)
        .await
        .unwrap();
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
}

#[tokio::test]
async fn credentials_that_fail_the_rule_are_refused() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let payer = chain.payer().pubkey();
    let low = Keypair::new().pubkey();
    let revoked = Keypair::new().pubkey();
    let stale = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &low, 999).await;
    fixture.issue_credential(&mut chain, &revoked, 5_000).await;
    fixture.revoke_credential(&mut chain, &revoked).await;
    fixture.issue_credential(&mut chain, &stale, 5_000).await;
    let refuse = |user: Pubkey| {
        (
            instructions::allocate(&payer, &fixture.pool, &user, Evidence::Credential),
            [
                fixture.vault,
                fixture.user_token(&user),
                pdas::allocation_record(&fixture.pool, &user),
            ],
        )
    };
    for (user, error) in [
        (low, AllotError::RuleNotMet),
        (revoked, AllotError::CredentialRevoked),
    ] {
        let (ix, watched) = refuse(user);
        chain.expect_refused(&[ix], &[], error, &watched).await;
    }
    // Shorten the credential max age below the stale credential's age.
    let mut strict = rule();
    strict.credential_max_age = 10;
    update_rule(&mut chain, &fixture, strict).await;
    chain.advance_time(11).await;
    let (ix, watched) = refuse(stale);
    chain
        .expect_refused(&[ix], &[], AllotError::CredentialTooOld, &watched)
        .await;
    let nobody = Keypair::new().pubkey();

    // No credential at all: Anchor refuses the missing account.
    allocation_refused(
        &mut chain,
        &fixture,
        &nobody,
        anchor_lang::error::ErrorCode::AccountNotInitialized,
        &[fixture.vault, fixture.user_token(&nobody)],
    )
    .await;
}

#[tokio::test]
async fn non_transferable_pool_mints_at_allocation_up_to_the_cap() {
    let (mut chain, fixture, user) = allocated(false).await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    assert_eq!(chain.mint_supply(fixture.mint).await, 100);
    assert_eq!(chain.token_balance(fixture.vault).await, 0);
    let pool = fixture.state(&mut chain).await;
    assert_eq!((pool.totals.minted, pool.totals.outstanding), (100, 100));
    fixture.assert_conserved(&mut chain, &[user]).await;

    // A rule whose amount exceeds what is left under the cap is refused at allocation.
    let mut big = rule();
    big.amount = 999_901;
    update_rule(&mut chain, &fixture, big).await;
    let other = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &other, 1_000).await;
    allocation_refused(
        &mut chain,
        &fixture,
        &other,
        AllotError::SupplyCapExceeded,
        &[fixture.pool, fixture.mint, fixture.user_token(&other)],
    )
    .await;
}

#[tokio::test]
async fn allocation_beyond_the_vault_is_refused_with_a_funding_hint() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let mut big = rule();
    big.amount = 10_001;
    update_rule(&mut chain, &fixture, big).await;
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 1_000).await;
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        AllotError::VaultInsufficient,
        &[fixture.pool, fixture.vault, fixture.user_token(&user)],
    )
    .await;
}
