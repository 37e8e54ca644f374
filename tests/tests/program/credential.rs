//! Credentials: issue, update for a new period, revoke — and the checks on what a verifier states.

use allot::error::AllotError;
use allot::events::*;
use allot::state::Credential;
use allot_client::events::AllotEvent;
use allot_client::{instructions, pdas};
use allot_tests::{PERIOD, PoolFixture, TestChain};
use solana_sdk::signature::{Keypair, Signer};

#[tokio::test]
async fn verifier_issues_updates_and_revokes_a_credential() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let verifier = fixture.verifier.insecure_clone();
    let user = Keypair::new().pubkey();
    let address = pdas::credential(&fixture.pool, &user);
    let now = chain.clock().await.unix_timestamp;

    let args = fixture.credential_args(&mut chain, 1_500).await;
    let ix = instructions::credential_issue(&verifier.pubkey(), &fixture.pool, &user, args.clone());
    let events = chain.send_ok(&[ix], &[&verifier]).await;
    assert_eq!(
        events,
        vec![AllotEvent::CredentialIssued(CredentialIssued {
            pool: fixture.pool,
            user,
            verifier: verifier.pubkey(),
            period: 0,
            indicators: [1_500, 0, 0, 0],
            issued_at: now,
            expires_at: args.expires_at,
            evidence_hash: [42; 32],
        })]
    );
    let stored: Credential = chain.fetch(address).await;
    assert_eq!(
        (
            stored.pool,
            stored.user,
            stored.period,
            stored.indicators[0]
        ),
        (fixture.pool, user, 0, 1_500)
    );
    assert!(!stored.revoked);

    // Next period: the verifier updates the same account.
    chain.advance_time(PERIOD).await;
    fixture.issue_credential(&mut chain, &user, 2_000).await;
    let stored: Credential = chain.fetch(address).await;
    assert_eq!(
        (stored.period, stored.indicators[0], stored.issued_at),
        (1, 2_000, now + PERIOD)
    );

    let revoke = instructions::credential_revoke(&verifier.pubkey(), &fixture.pool, &user);
    let events = chain
        .send_ok(std::slice::from_ref(&revoke), &[&verifier])
        .await;
    assert_eq!(
        events,
        vec![AllotEvent::CredentialRevoked(CredentialRevoked {
            pool: fixture.pool,
            user,
            verifier: verifier.pubkey(),
            period: 1,
            revoked_at: now + PERIOD,
        })]
    );
    assert!(chain.fetch::<Credential>(address).await.revoked);
    let again = AllotError::CredentialAlreadyRevoked;
    chain
        .expect_refused(&[revoke], &[&verifier], again, &[address])
        .await;
    // Reissuing reinstates the user.
    fixture.issue_credential(&mut chain, &user, 2_000).await;
    assert!(!chain.fetch::<Credential>(address).await.revoked);
}

#[tokio::test]
async fn credential_statements_are_checked() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let verifier = fixture.verifier.insecure_clone();
    let user = Keypair::new().pubkey();
    let address = pdas::credential(&fixture.pool, &user);
    chain.advance_time(2 * PERIOD).await;
    let now = chain.clock().await.unix_timestamp;

    let issue =
        |args| instructions::credential_issue(&verifier.pubkey(), &fixture.pool, &user, args);
    let mut future = fixture.credential_args(&mut chain, 1_500).await;
    future.period = 3;
    let mut expired = fixture.credential_args(&mut chain, 1_500).await;
    expired.expires_at = now;
    for (args, error) in [
        (future, AllotError::PeriodInFuture),
        (expired, AllotError::ExpiryInPast),
    ] {
        chain
            .expect_refused(&[issue(args)], &[&verifier], error, &[address])
            .await;
    }

    fixture.issue_credential(&mut chain, &user, 1_500).await;
    let mut earlier = fixture.credential_args(&mut chain, 1_500).await;
    earlier.period = 1;
    let regressed = AllotError::CredentialPeriodRegressed;
    chain
        .expect_refused(&[issue(earlier)], &[&verifier], regressed, &[address])
        .await;
}

#[tokio::test]
async fn only_a_verifier_of_the_pool_revokes() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 1_500).await;
    let address = pdas::credential(&fixture.pool, &user);
    // The operator is not a verifier: it has no authorisation account.
    let op = fixture.operator.insecure_clone();
    let ix = instructions::credential_revoke(&op.pubkey(), &fixture.pool, &user);
    let no_authorisation = anchor_lang::error::ErrorCode::AccountNotInitialized;
    chain
        .expect_refused(&[ix], &[&op], no_authorisation, &[address])
        .await;
    // A key passing the real verifier's authorisation without its signature: seeds bind the signer.
    let impostor = Keypair::new();
    let mut ix = instructions::credential_revoke(&impostor.pubkey(), &fixture.pool, &user);
    ix.accounts[2].pubkey = pdas::verifier(&fixture.pool, &fixture.verifier.pubkey());
    chain
        .expect_refused(
            &[ix],
            &[&impostor],
            anchor_lang::error::ErrorCode::ConstraintSeeds,
            &[address],
        )
        .await;
    assert!(!chain.fetch::<Credential>(address).await.revoked);
}
