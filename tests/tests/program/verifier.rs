//! Verifier management: only the operator adds or deactivates verifiers; only active verifiers
//! of the pool write credentials.

use allot::error::AllotError;
use allot::events::*;
use allot::state::Verifier;
use allot_client::events::AllotEvent;
use allot_client::{instructions, pdas};
use allot_tests::{PoolFixture, TestChain};
use anchor_lang::error::ErrorCode as AnchorError;
use solana_sdk::signature::{Keypair, Signer};

#[tokio::test]
async fn operator_adds_a_verifier() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let second = Keypair::new();
    let ix = instructions::verifier_add(&op.pubkey(), &fixture.pool, &second.pubkey());
    let events = chain.send_ok(&[ix], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::VerifierAdded(VerifierAdded {
            pool: fixture.pool,
            verifier: second.pubkey()
        })]
    );
    let stored: Verifier = chain
        .fetch(pdas::verifier(&fixture.pool, &second.pubkey()))
        .await;
    assert_eq!(
        (stored.pool, stored.authority, stored.active),
        (fixture.pool, second.pubkey(), true)
    );
    assert_eq!(fixture.state(&mut chain).await.active_verifiers, 2);
}

#[tokio::test]
async fn only_the_operator_adds_verifiers() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let stranger = chain.funded_keypair(1_000_000_000).await;
    let verifier = pdas::verifier(&fixture.pool, &stranger.pubkey());
    let ix = instructions::verifier_add(&stranger.pubkey(), &fixture.pool, &stranger.pubkey());
    let watched = [fixture.pool, verifier];
    chain
        .expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &watched)
        .await;
    assert!(chain.account(verifier).await.is_none());
}

#[tokio::test]
async fn deactivated_verifier_can_no_longer_issue_and_can_be_reactivated() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let verifier = fixture.verifier.insecure_clone();
    let user = Keypair::new().pubkey();
    let set_active = |key: &Keypair, active: bool| {
        instructions::verifier_set_active(&key.pubkey(), &fixture.pool, &verifier.pubkey(), active)
    };
    let events = chain.send_ok(&[set_active(&op, false)], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::VerifierActiveChanged(VerifierActiveChanged {
            pool: fixture.pool,
            verifier: verifier.pubkey(),
            active: false,
        })]
    );
    assert_eq!(fixture.state(&mut chain).await.active_verifiers, 0);
    let args = fixture.credential_args(&mut chain, 5_000).await;
    let credential = pdas::credential(&fixture.pool, &user);
    let issue = instructions::credential_issue(&verifier.pubkey(), &fixture.pool, &user, args);
    chain
        .expect_refused(
            &[issue],
            &[&verifier],
            AllotError::VerifierInactive,
            &[credential],
        )
        .await;
    // Deactivating twice is refused (keeps the active count exact).
    let unchanged = AllotError::VerifierStateUnchanged;
    chain
        .expect_refused(
            &[set_active(&op, false)],
            &[&op],
            unchanged,
            &[fixture.pool],
        )
        .await;
    // A stranger cannot reactivate it.
    let stranger = Keypair::new();
    let watched = [
        fixture.pool,
        pdas::verifier(&fixture.pool, &verifier.pubkey()),
    ];
    let ix = set_active(&stranger, true);
    chain
        .expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &watched)
        .await;
    chain.send_ok(&[set_active(&op, true)], &[&op]).await;
    fixture.issue_credential(&mut chain, &user, 5_000).await;
}

#[tokio::test]
async fn verifier_of_another_pool_cannot_write_credentials() {
    let mut chain = TestChain::start().await;
    let pool_a = PoolFixture::create(&mut chain, 1, true).await;
    let pool_b = PoolFixture::create(&mut chain, 2, true).await;
    let verifier_a = pool_a.verifier.insecure_clone();
    let user = Keypair::new().pubkey();
    let args = pool_b.credential_args(&mut chain, 5_000).await;
    let credential_b = pdas::credential(&pool_b.pool, &user);

    // With its own (pool A) authorisation passed for pool B: the seeds do not match.
    let mut ix =
        instructions::credential_issue(&verifier_a.pubkey(), &pool_b.pool, &user, args.clone());
    ix.accounts[2].pubkey = pdas::verifier(&pool_a.pool, &verifier_a.pubkey());
    chain
        .expect_refused(
            &[ix],
            &[&verifier_a],
            AnchorError::ConstraintSeeds,
            &[credential_b],
        )
        .await;
    // With the address pool B's authorisation would have: it does not exist.
    let ix = instructions::credential_issue(&verifier_a.pubkey(), &pool_b.pool, &user, args);
    let missing = AnchorError::AccountNotInitialized;
    chain
        .expect_refused(&[ix], &[&verifier_a], missing, &[credential_b])
        .await;
    assert!(chain.account(credential_b).await.is_none());
}
