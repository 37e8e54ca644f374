//! Credentials: issue, update for a new period, revoke — and the checks on what a verifier states.

use allot::error::AllotError;
use allot::events::*;
use allot::state::Credential;
use allot_client::events::AllotEvent;
use allot_client::{instructions, pdas};
use allot_tests::{PERIOD, PoolFixture, TestChain};
use anchor_lang::Space;
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

#[tokio::test]
async fn closing_a_credential_returns_its_rent_to_the_verifier_that_paid_it() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let first = fixture.verifier.insecure_clone();
    let second = chain.funded_keypair(1_000_000_000).await;
    let op = fixture.operator.insecure_clone();
    let add = instructions::verifier_add(&op.pubkey(), &fixture.pool, &second.pubkey());
    chain.send_ok(&[add], &[&op]).await;
    let user = Keypair::new().pubkey();
    let address = pdas::credential(&fixture.pool, &user);
    // The first verifier pays; the second updates it later and closes it.
    fixture.issue_credential(&mut chain, &user, 1_500).await;
    let args = fixture.credential_args(&mut chain, 2_000).await;
    let update = instructions::credential_issue(&second.pubkey(), &fixture.pool, &user, args);
    chain.send_ok(&[update], &[&second]).await;
    let stored: Credential = chain.fetch(address).await;
    assert_eq!(
        (stored.verifier, stored.rent_payer),
        (second.pubkey(), first.pubkey())
    );

    // The rent cannot go elsewhere, and only an active verifier of the pool closes.
    let (pool, s) = (fixture.pool, second.pubkey());
    let to_second = instructions::credential_close(&s, &pool, &user, &s);
    let watched = [address, s, first.pubkey()];
    let wrong_payer = anchor_lang::error::ErrorCode::ConstraintHasOne;
    chain
        .expect_refused(&[to_second], &[&second], wrong_payer, &watched)
        .await;
    let stranger = chain.funded_keypair(1_000_000_000).await;
    let by_stranger =
        instructions::credential_close(&stranger.pubkey(), &pool, &user, &first.pubkey());
    let not_verifier = anchor_lang::error::ErrorCode::AccountNotInitialized;
    chain
        .expect_refused(&[by_stranger], &[&stranger], not_verifier, &watched)
        .await;

    let lamports = chain.account(address).await.unwrap().lamports;
    let before = chain.account(first.pubkey()).await.unwrap().lamports;
    let close = instructions::credential_close(&s, &pool, &user, &first.pubkey());
    let events = chain.send_ok(&[close], &[&second]).await;
    assert_eq!(
        events,
        vec![AllotEvent::CredentialClosed(CredentialClosed {
            pool,
            user,
            verifier: s,
            rent_payer: first.pubkey(),
            lamports,
        })]
    );
    assert!(chain.account(address).await.is_none());
    let after = chain.account(first.pubkey()).await.unwrap().lamports;
    assert_eq!(after - before, lamports);
    assert_eq!(8 + Credential::INIT_SPACE, 226);
    assert_eq!(lamports, chain.rent().await.minimum_balance(226));

    // Issued again, it is paid again, by whoever issues it now.
    let args = fixture.credential_args(&mut chain, 2_000).await;
    let reissue = instructions::credential_issue(&s, &pool, &user, args);
    chain.send_ok(&[reissue], &[&second]).await;
    let stored: Credential = chain.fetch(address).await;
    assert_eq!(stored.rent_payer, s);
}

#[tokio::test]
async fn a_closed_credential_claws_back_only_a_holder_last_allocated_on_a_credential() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let verifier = fixture.verifier.insecure_clone();
    let (pool, v) = (fixture.pool, verifier.pubkey());
    let holder = Keypair::new().pubkey();
    fixture.issue_and_allocate(&mut chain, &holder, 5_000).await;
    // A user allocated on the list, whose credential (issued, never used) is then closed.
    let listed = Keypair::new().pubkey();
    let period = fixture.period(&mut chain).await;
    let (tree, _) = fixture
        .publish_list(&mut chain, period, vec![(listed, 5_000)])
        .await;
    let evidence = allot_tests::list_evidence(&tree, period, &listed);
    let payer = chain.payer().pubkey();
    let ix = instructions::allocate(&payer, &pool, &listed, evidence);
    chain.send_ok(&[ix], &[]).await;
    fixture.issue_credential(&mut chain, &listed, 5_000).await;

    for user in [holder, listed] {
        let close = instructions::credential_close(&v, &pool, &user, &v);
        chain.send_ok(&[close], &[&verifier]).await;
    }
    let evidence = allot_client::instructions::Evidence::Credential;
    let clawback = instructions::clawback(&pool, &listed, evidence.clone());
    let watched = [fixture.vault, fixture.user_token(&listed)];
    let proves_nothing = AllotError::EvidenceNotOfLastAllocation;
    chain
        .expect_refused(&[clawback], &[], proves_nothing, &watched)
        .await;

    // Lamports anyone sends to the closed address leave it empty and system-owned: still
    // closed, so they do not shield the holder.
    let holder_credential = allot_client::pdas::credential(&pool, &holder);
    let gift = anchor_lang::solana_program::system_instruction::transfer(
        &payer,
        &holder_credential,
        1_000_000,
    );
    chain.send_ok(&[gift], &[]).await;
    let clawback = instructions::clawback(&pool, &holder, evidence);
    let events = chain.send_ok(&[clawback], &[]).await;
    assert!(matches!(
        events.as_slice(),
        [AllotEvent::ClawedBack(ClawedBack {
            reason: allot::state::ClawbackReason::CredentialClosed,
            amount: 100,
            ..
        })]
    ));
    assert_eq!(chain.token_balance(fixture.user_token(&holder)).await, 0);
    fixture
        .assert_conserved(&mut chain, &[holder, listed])
        .await;

    // Closing and issuing again opens no second allocation in the period.
    fixture.issue_credential(&mut chain, &holder, 5_000).await;
    let again = fixture.allocate_by_credential(&mut chain, &holder).await;
    let code = again
        .expect_err("a second allocation in the period")
        .custom_code();
    assert_eq!(
        code,
        Some(u32::from(AllotError::AlreadyAllocatedThisPeriod))
    );
}
