//! Evidence from the Solana Attestation Service: a pool that names a SAS schema allocates on its
//! attestations and claws back when one is closed, expires, loses its signer or fails the rule;
//! attestations of another issuer, schema, version, owner or address are refused. The SAS
//! accounts are built with SAS's published client types (`allot_tests::sas`).

use allot::error::AllotError;
use allot::events::{Allocated, ClawedBack, PoolAttestationSet};
use allot::state::{AllocationRecord, AttestationEvidence, ClawbackReason, EvidenceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::sas::{SAS_STRING, SAS_U64, SasFixture, VOLUME_FIELD, sas_account};
use allot_tests::{PoolFixture, TestChain};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

/// A transferable pool (rule: at least 1,000, 100 units) that accepts the attestations of a SAS
/// issuer's "payments" schema, version 1, reading its volume field, since a second ago (an
/// allocation in the second the pool accepted a schema is out of reach of an empty address).
async fn attesting_pool() -> (TestChain, PoolFixture, SasFixture) {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let sas = SasFixture::install(&mut chain, "payments-verifier", 1);
    accept(&mut chain, &fixture, &sas).await;
    chain.advance_time(1).await;
    (chain, fixture, sas)
}

/// The operator names `sas`'s schema (volume field) as the pool's attestation evidence.
async fn accept(chain: &mut TestChain, fixture: &PoolFixture, sas: &SasFixture) -> Vec<AllotEvent> {
    let op = &fixture.operator;
    let ix = instructions::pool_set_attestation(
        &op.pubkey(),
        &fixture.pool,
        Some((sas.schema, VOLUME_FIELD)),
    );
    chain.send_ok(&[ix], &[op]).await
}

/// The fee payer's allocation to `user` on `evidence`.
fn allocate_ix(
    chain: &TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    evidence: Evidence,
) -> Instruction {
    instructions::allocate(&chain.payer().pubkey(), &fixture.pool, user, evidence)
}

/// A new user with an attestation of `volume` that never expires, allocated on it.
async fn attested_holder(chain: &mut TestChain, fixture: &PoolFixture, sas: &SasFixture) -> Pubkey {
    let user = Keypair::new().pubkey();
    sas.attest(chain, &user, 5_000, 0);
    let ix = allocate_ix(chain, fixture, &user, sas.evidence());
    chain.send_ok(&[ix], &[]).await;
    user
}

/// `user`'s clawback on `sas`'s attestation lands with one event naming `reason`, the units back
/// in the vault, the books whole.
async fn claws_back(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    sas: &SasFixture,
    user: Pubkey,
    reason: ClawbackReason,
) {
    let ix = instructions::clawback(&fixture.pool, &user, sas.evidence());
    let events = chain.send_ok(&[ix], &[]).await;
    assert_eq!(
        events,
        vec![AllotEvent::ClawedBack(ClawedBack {
            pool: fixture.pool,
            user,
            amount: 100,
            reason,
            evidence: EvidenceKind::Attestation,
            burned: false,
            pool_outstanding: 0,
            debt: 0,
        })]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    assert_eq!(chain.token_balance(fixture.vault).await, 10_000);
    fixture.assert_conserved(chain, &[user]).await;
}

/// The clawback of `user` on `sas`'s attestation is refused with `code`, changing nothing.
async fn clawback_refused(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    evidence: Evidence,
    code: impl Into<u32>,
) {
    let ix = instructions::clawback(&fixture.pool, user, evidence);
    let watched = [fixture.pool, fixture.vault, fixture.user_token(user)];
    chain.expect_refused(&[ix], &[], code, &watched).await;
}

/// The allocation to `user` on `evidence` is refused with `code`, changing nothing.
async fn allocation_refused(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    user: &Pubkey,
    evidence: Evidence,
    code: impl Into<u32>,
) {
    let ix = allocate_ix(chain, fixture, user, evidence);
    let record = pdas::allocation_record(&fixture.pool, user);
    let watched = [
        fixture.pool,
        fixture.vault,
        fixture.user_token(user),
        record,
    ];
    chain.expect_refused(&[ix], &[], code, &watched).await;
}

#[tokio::test]
async fn the_operator_names_a_sas_schema_read_from_its_account() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let sas = SasFixture::install(&mut chain, "payments-verifier", 3);
    let events = accept(&mut chain, &fixture, &sas).await;
    let evidence = AttestationEvidence {
        issuer: sas.issuer,
        schema: sas.schema,
        schema_version: 3,
        value_offset: 1,
        accepted_at: chain.clock().await.unix_timestamp,
    };
    assert_eq!(
        events,
        vec![AllotEvent::PoolAttestationSet(PoolAttestationSet {
            pool: fixture.pool,
            evidence: Some(evidence),
        })]
    );
    assert_eq!(fixture.state(&mut chain).await.attestation, Some(evidence));

    // Only the operator; only a u64 field after fixed-size ones; only a SAS schema.
    let op = fixture.operator.pubkey();
    let stranger = chain.funded_keypair(1_000_000_000).await;
    let by_stranger = instructions::pool_set_attestation(
        &stranger.pubkey(),
        &fixture.pool,
        Some((sas.schema, 1)),
    );
    let watched = [fixture.pool];
    chain
        .expect_refused(
            &[by_stranger],
            &[&stranger],
            AllotError::NotOperator,
            &watched,
        )
        .await;
    let region = instructions::pool_set_attestation(&op, &fixture.pool, Some((sas.schema, 0)));
    let unreadable = AllotError::AttestationFieldUnreadable;
    chain
        .expect_refused(&[region], &[&fixture.operator], unreadable, &watched)
        .await;
    let past_the_end =
        instructions::pool_set_attestation(&op, &fixture.pool, Some((sas.schema, 2)));
    chain
        .expect_refused(&[past_the_end], &[&fixture.operator], unreadable, &watched)
        .await;
    let after_a_string =
        SasFixture::install_with_layout(&mut chain, "named", 1, &[SAS_STRING, SAS_U64]);
    let ix =
        instructions::pool_set_attestation(&op, &fixture.pool, Some((after_a_string.schema, 1)));
    chain
        .expect_refused(&[ix], &[&fixture.operator], unreadable, &watched)
        .await;
    let mut forged = chain.account(sas.schema).await.unwrap();
    forged.owner = Pubkey::new_unique();
    let forged_schema = Pubkey::new_unique();
    chain.set_account(forged_schema, forged);
    let ix = instructions::pool_set_attestation(&op, &fixture.pool, Some((forged_schema, 1)));
    let wrong_owner = AllotError::AttestationWrongOwner;
    chain
        .expect_refused(&[ix], &[&fixture.operator], wrong_owner, &watched)
        .await;

    // And the operator can stop accepting attestations.
    let stop = instructions::pool_set_attestation(&op, &fixture.pool, None);
    chain.send_ok(&[stop], &[&fixture.operator]).await;
    assert_eq!(fixture.state(&mut chain).await.attestation, None);
    let user = Keypair::new().pubkey();
    sas.attest(&mut chain, &user, 5_000, 0);
    let not_configured = AllotError::AttestationNotConfigured;
    allocation_refused(&mut chain, &fixture, &user, sas.evidence(), not_configured).await;
}

#[tokio::test]
async fn an_attestation_allocates_and_its_closing_claws_back() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let user = Keypair::new().pubkey();
    sas.attest(&mut chain, &user, 5_000, 0);
    let ix = allocate_ix(&chain, &fixture, &user, sas.evidence());
    let events = chain.send_ok(&[ix], &[]).await;
    let period = fixture.period(&mut chain).await;
    assert_eq!(
        events,
        vec![AllotEvent::Allocated(Allocated {
            pool: fixture.pool,
            user,
            period,
            amount: 100,
            evidence: EvidenceKind::Attestation,
            user_allocated: 100,
            pool_outstanding: 100,
            shard: None,
            debt_repaid: 0,
        })]
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    let record: AllocationRecord = chain
        .fetch(pdas::allocation_record(&fixture.pool, &user))
        .await;
    assert_eq!(record.evidence, EvidenceKind::Attestation);

    // Once a period, as on any evidence.
    let again = AllotError::AlreadyAllocatedThisPeriod;
    allocation_refused(&mut chain, &fixture, &user, sas.evidence(), again).await;
    // While the attestation stands, nothing comes back.
    let holds = AllotError::ConditionsStillHold;
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), holds).await;

    // SAS revokes by closing the attestation: the units come back.
    sas.close(&mut chain, &user);
    claws_back(
        &mut chain,
        &fixture,
        &sas,
        user,
        ClawbackReason::AttestationClosed,
    )
    .await;
}

#[tokio::test]
async fn an_expired_attestation_neither_allocates_nor_keeps_its_units() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let now = chain.clock().await.unix_timestamp;
    let user = Keypair::new().pubkey();
    sas.attest(&mut chain, &user, 5_000, now + 1_000);
    let ix = allocate_ix(&chain, &fixture, &user, sas.evidence());
    chain.send_ok(&[ix], &[]).await;
    chain.advance_time(999).await;
    let holds = AllotError::ConditionsStillHold;
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), holds).await;
    chain.advance_time(1).await;
    claws_back(
        &mut chain,
        &fixture,
        &sas,
        user,
        ClawbackReason::AttestationExpired,
    )
    .await;

    let late = Keypair::new().pubkey();
    sas.attest(&mut chain, &late, 5_000, now + 1_000);
    let expired = AllotError::AttestationExpired;
    allocation_refused(&mut chain, &fixture, &late, sas.evidence(), expired).await;
}

#[tokio::test]
async fn a_value_below_the_rule_or_a_signer_the_issuer_removed_is_not_evidence() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let small = Keypair::new().pubkey();
    sas.attest(&mut chain, &small, 999, 0);
    allocation_refused(
        &mut chain,
        &fixture,
        &small,
        sas.evidence(),
        AllotError::RuleNotMet,
    )
    .await;

    let user = attested_holder(&mut chain, &fixture, &sas).await;
    // The issuer replaces its signer: what the old one signed no longer counts.
    sas.set_signers(&mut chain, "payments-verifier", &[Pubkey::new_unique()]);
    let newcomer = Keypair::new().pubkey();
    sas.attest(&mut chain, &newcomer, 5_000, 0);
    let unauthorised = AllotError::AttestationSignerNotAuthorised;
    allocation_refused(
        &mut chain,
        &fixture,
        &newcomer,
        sas.evidence(),
        unauthorised,
    )
    .await;
    claws_back(
        &mut chain,
        &fixture,
        &sas,
        user,
        ClawbackReason::AttestationSignerRemoved,
    )
    .await;

    // A new attestation under a signer still authorised, whose value has fallen, claws back too.
    sas.set_signers(&mut chain, "payments-verifier", &[sas.signer.pubkey()]);
    sas.attest(&mut chain, &newcomer, 5_000, 0);
    let ix = allocate_ix(&chain, &fixture, &newcomer, sas.evidence());
    chain.send_ok(&[ix], &[]).await;
    sas.attest(&mut chain, &newcomer, 10, 0);
    claws_back(
        &mut chain,
        &fixture,
        &sas,
        newcomer,
        ClawbackReason::IndicatorFails,
    )
    .await;
}

#[tokio::test]
async fn attestations_of_another_issuer_schema_version_owner_or_address_are_refused() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let user = Keypair::new().pubkey();
    sas.attest(&mut chain, &user, 5_000, 0);

    // Another issuer's attestation of the same schema name, at its own address.
    let other_issuer = SasFixture::install(&mut chain, "someone-else", 1);
    other_issuer.attest(&mut chain, &user, 5_000, 0);
    let wrong_address = AllotError::AttestationWrongAddress;
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        other_issuer.evidence(),
        wrong_address,
    )
    .await;
    // The same issuer's version 2 of the schema (its own account).
    let version_2 = SasFixture {
        schema: pdas::sas_schema(&sas.issuer, "payments", 2),
        issuer: sas.issuer,
        authority: sas.authority,
        signer: sas.signer.insecure_clone(),
    };
    version_2.attest(&mut chain, &user, 5_000, 0);
    allocation_refused(
        &mut chain,
        &fixture,
        &user,
        version_2.evidence(),
        wrong_address,
    )
    .await;
    // Another user's attestation passed for this user.
    let someone = Keypair::new().pubkey();
    sas.attest(&mut chain, &someone, 5_000, 0);
    let mut ix = allocate_ix(&chain, &fixture, &user, sas.evidence());
    replace_account(&mut ix, sas.attestation(&user), sas.attestation(&someone));
    let watched = [fixture.vault, fixture.user_token(&user)];
    chain
        .expect_refused(&[ix], &[], wrong_address, &watched)
        .await;

    // The right attestation with another issuer account.
    let mut ix = allocate_ix(&chain, &fixture, &user, sas.evidence());
    replace_account(&mut ix, sas.issuer, other_issuer.issuer);
    let wrong_issuer = AllotError::AttestationWrongIssuer;
    chain
        .expect_refused(&[ix], &[], wrong_issuer, &watched)
        .await;

    // Bytes SAS never wrote: a copy owned by another program, at the right address.
    let genuine = chain.account(sas.attestation(&user)).await.unwrap();
    let mut forged = genuine.clone();
    forged.owner = Pubkey::new_unique();
    chain.set_account(sas.attestation(&user), forged);
    let wrong_owner = AllotError::AttestationWrongOwner;
    allocation_refused(&mut chain, &fixture, &user, sas.evidence(), wrong_owner).await;
    // A SAS-owned account at the right address naming another schema.
    let mut data = other_issuer.attestation_data(&user, 5_000, 0);
    data[33..65].copy_from_slice(sas.issuer.as_ref());
    chain.set_account(sas.attestation(&user), sas_account(data));
    let wrong_schema = AllotError::AttestationWrongSchema;
    allocation_refused(&mut chain, &fixture, &user, sas.evidence(), wrong_schema).await;
    // An attestation missing, and one passed without its issuer.
    chain.set_account(sas.attestation(&user), genuine);
    let nobody = Keypair::new().pubkey();
    let missing = AllotError::AttestationMissing;
    allocation_refused(&mut chain, &fixture, &nobody, sas.evidence(), missing).await;
    let mut ix = allocate_ix(&chain, &fixture, &user, sas.evidence());
    replace_account(&mut ix, sas.issuer, allot::ID);
    let mismatch = AllotError::AttestationAccountsMismatch;
    chain.expect_refused(&[ix], &[], mismatch, &watched).await;

    // With all of that refused, the genuine one still allocates.
    let ix = allocate_ix(&chain, &fixture, &user, sas.evidence());
    chain.send_ok(&[ix], &[]).await;
}

#[tokio::test]
async fn an_empty_attestation_address_proves_nothing_about_a_credential_holder() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let user = Keypair::new().pubkey();
    fixture.issue_and_allocate(&mut chain, &user, 5_000).await;
    let not_last = AllotError::EvidenceNotOfLastAllocation;
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), not_last).await;
    // Not even with a failing attestation: only the evidence of the last allocation can undo it.
    sas.attest(&mut chain, &user, 10, 0);
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), not_last).await;
}

#[tokio::test]
async fn a_shard_allocates_on_an_attestation() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    fixture.create_shards(&mut chain, 1, 500).await;
    let user = Keypair::new().pubkey();
    sas.attest(&mut chain, &user, 5_000, 0);
    let payer = chain.payer().pubkey();
    let ix = instructions::allocate_sharded(&payer, &fixture.pool, &user, 0, sas.evidence());
    let events = chain.send_ok(&[ix], &[]).await;
    assert!(matches!(
        events.as_slice(),
        [AllotEvent::Allocated(Allocated {
            evidence: EvidenceKind::Attestation,
            amount: 100,
            shard: Some(0),
            ..
        })]
    ));
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    assert_eq!(
        chain
            .token_balance(pdas::shard_vault(&fixture.pool, 0))
            .await,
        400
    );
}

#[tokio::test]
async fn naming_another_schema_leaves_earlier_holders_out_of_reach_of_an_empty_address() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let user = attested_holder(&mut chain, &fixture, &sas).await;
    chain.advance_time(10).await;
    // Naming the same schema and field again keeps its acceptance: the holder stays reachable.
    let accepted = fixture.state(&mut chain).await.attestation.unwrap();
    accept(&mut chain, &fixture, &sas).await;
    assert_eq!(fixture.state(&mut chain).await.attestation, Some(accepted));

    // Version 2: the holder's attestation is at version 1's address, so version 2's empty
    // address says nothing about it.
    let version_2 = sas.new_version(&mut chain, 2);
    chain.advance_time(10).await;
    accept(&mut chain, &fixture, &version_2).await;
    let changed = AllotError::AttestationSchemaChanged;
    clawback_refused(&mut chain, &fixture, &user, version_2.evidence(), changed).await;
    sas.close(&mut chain, &user);
    clawback_refused(&mut chain, &fixture, &user, version_2.evidence(), changed).await;
    // Version 1's address is not the pool's any more.
    let wrong_address = AllotError::AttestationWrongAddress;
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), wrong_address).await;

    // No allocation in the very second the pool named version 2: a clawback could not tell it
    // from a holder of version 1 (`last_allocated_at > accepted_at`).
    let newcomer = Keypair::new().pubkey();
    version_2.attest(&mut chain, &newcomer, 5_000, 0);
    let same_second = AllotError::AttestationJustAccepted;
    allocation_refused(
        &mut chain,
        &fixture,
        &newcomer,
        version_2.evidence(),
        same_second,
    )
    .await;

    // From the next second on, a holder allocated on version 2 is reachable as before.
    chain.advance_time(1).await;
    let ix = allocate_ix(&chain, &fixture, &newcomer, version_2.evidence());
    chain.send_ok(&[ix], &[]).await;
    version_2.close(&mut chain, &newcomer);
    let ix = instructions::clawback(&fixture.pool, &newcomer, version_2.evidence());
    chain.send_ok(&[ix], &[]).await;
    assert_eq!(chain.token_balance(fixture.user_token(&newcomer)).await, 0);
}

#[tokio::test]
async fn lamports_sent_to_a_closed_attestation_do_not_shield_its_holder() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let user = attested_holder(&mut chain, &fixture, &sas).await;
    sas.close(&mut chain, &user);
    // What anyone can leave at the address after SAS closed it: a system account with lamports.
    let funded = solana_sdk::account::Account {
        lamports: 1_000_000,
        ..Default::default()
    };
    chain.set_account(sas.attestation(&user), funded);
    claws_back(
        &mut chain,
        &fixture,
        &sas,
        user,
        ClawbackReason::AttestationClosed,
    )
    .await;
}

#[tokio::test]
async fn only_the_evidence_of_the_last_allocation_claws_back_on_an_empty_address() {
    let (mut chain, fixture, sas) = attesting_pool().await;
    let user = attested_holder(&mut chain, &fixture, &sas).await;
    // The next period's allocation is on a credential.
    chain.advance_time(allot_tests::PERIOD).await;
    fixture.issue_credential(&mut chain, &user, 5_000).await;
    fixture
        .allocate_by_credential(&mut chain, &user)
        .await
        .expect("allocated on the credential");
    sas.close(&mut chain, &user);
    let not_last = AllotError::EvidenceNotOfLastAllocation;
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), not_last).await;

    // Without the issuer's account, or once the pool accepts no attestations, nothing either.
    let mut ix = instructions::clawback(&fixture.pool, &user, sas.evidence());
    replace_account(&mut ix, sas.issuer, allot::ID);
    let mismatch = AllotError::AttestationAccountsMismatch;
    let watched = [fixture.vault, fixture.user_token(&user)];
    chain.expect_refused(&[ix], &[], mismatch, &watched).await;
    let op = &fixture.operator;
    let stop = instructions::pool_set_attestation(&op.pubkey(), &fixture.pool, None);
    chain.send_ok(&[stop], &[op]).await;
    let not_configured = AllotError::AttestationNotConfigured;
    clawback_refused(&mut chain, &fixture, &user, sas.evidence(), not_configured).await;
}

/// Replaces every occurrence of account `from` in `ix` by `to`.
fn replace_account(ix: &mut Instruction, from: Pubkey, to: Pubkey) {
    let mut replaced = false;
    for meta in ix.accounts.iter_mut().filter(|m| m.pubkey == from) {
        meta.pubkey = to;
        replaced = true;
    }
    assert!(replaced, "{from} is not an account of the instruction");
}
