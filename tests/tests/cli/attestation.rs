//! SAS attestations through the CLI: the operator names a schema (checked against the schema
//! account before sending), and a user allocates on its attestation (checked by the program's
//! own rules before sending).

use allot::state::{AttestationEvidence, EvidenceKind};
use allot_client::chain::Chain as _;
use allot_client::pdas;
use allot_tests::sas::{SAS_STRING, SAS_U64, SasFixture, VOLUME_FIELD, sas_account};
use anchor_lang::prelude::Pubkey;

use crate::{Cli, example_pool};

#[tokio::test]
async fn an_operator_accepts_attestations_and_a_user_allocates_on_one() {
    let mut cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let sas = SasFixture::install(&mut cli.embedded, "payments-verifier", 2);
    let schema = sas.schema.to_string();
    let op = &setup.operator.1;

    // A field the program could not read is refused before sending, naming why.
    let region = cli
        .err(
            op,
            &[
                "operator",
                "accept-attestations",
                "--pool",
                &pool,
                "--schema",
                &schema,
                "--field",
                "0",
            ],
        )
        .await;
    assert!(
        region.contains("the program would refuse field 0") && region.contains("is not a u64"),
        "{region}"
    );
    let named =
        SasFixture::install_with_layout(&mut cli.embedded, "named", 1, &[SAS_STRING, SAS_U64]);
    let after_string = cli
        .err(
            op,
            &[
                "operator",
                "accept-attestations",
                "--pool",
                &pool,
                "--schema",
                &named.schema.to_string(),
                "--field",
                "1",
            ],
        )
        .await;
    assert!(
        after_string.contains("u64 after fixed-size fields"),
        "{after_string}"
    );
    let not_sas = cli
        .err(
            op,
            &[
                "operator",
                "accept-attestations",
                "--pool",
                &pool,
                "--schema",
                &setup.mint.to_string(),
                "--field",
                "1",
            ],
        )
        .await;
    assert!(not_sas.contains("is not a SAS schema"), "{not_sas}");
    assert_eq!(
        cli.fetch::<allot::state::Pool>(setup.pool)
            .await
            .attestation,
        None
    );

    let field = VOLUME_FIELD.to_string();
    let accepted = cli
        .ok(
            op,
            &[
                "operator",
                "accept-attestations",
                "--pool",
                &pool,
                "--schema",
                &schema,
                "--field",
                &field,
            ],
        )
        .await;
    assert_eq!(accepted["issuer"], sas.issuer.to_string());
    assert_eq!(accepted["schema_version"], 2);
    let stored = cli
        .fetch::<allot::state::Pool>(setup.pool)
        .await
        .attestation
        .unwrap();
    let now = cli.chain.unix_timestamp().await.unwrap();
    assert_eq!(
        stored,
        AttestationEvidence {
            issuer: sas.issuer,
            schema: sas.schema,
            schema_version: 2,
            value_offset: 1,
            accepted_at: stored.accepted_at,
        }
    );
    assert!(
        (now - 5..=now).contains(&stored.accepted_at),
        "{stored:?} at {now}"
    );

    // Another schema replaces it only when asked to.
    let version_3 = sas.new_version(&mut cli.embedded, 3);
    let other = version_3.schema.to_string();
    let accept_3 = [
        "operator",
        "accept-attestations",
        "--pool",
        &pool,
        "--schema",
        &other,
        "--field",
        &field,
    ];
    let unasked = cli.err(op, &accept_3).await;
    assert!(unasked.contains("pass --replace"), "{unasked}");
    let kept = cli
        .fetch::<allot::state::Pool>(setup.pool)
        .await
        .attestation;
    assert_eq!(kept, Some(stored));

    // A user without an attestation is told so; one below the rule is told the program's reason;
    // neither pays anything.
    let (user, user_file) = cli.keypair("user", 1_000_000_000).await;
    let lamports = cli.chain.account(user).await.unwrap().unwrap().lamports;
    let allocate = ["user", "allocate", "--pool", &pool, "--attestation"];
    let none = cli.err(&user_file, &allocate).await;
    assert!(
        none.contains("has no attestation from SAS issuer"),
        "{none}"
    );
    sas.attest(&mut cli.embedded, &user, 999, 0);
    let low = cli.err(&user_file, &allocate).await;
    assert!(
        low.contains("the program would refuse this allocation") && low.contains("rule"),
        "{low}"
    );
    let record = pdas::allocation_record(&setup.pool, &user);
    assert!(cli.chain.account(record).await.unwrap().is_none());
    let unchanged = cli.chain.account(user).await.unwrap().unwrap().lamports;
    assert_eq!(unchanged, lamports, "nothing was sent, no fee paid");

    sas.attest(&mut cli.embedded, &user, 5_000, 0);
    // Not in the second the pool accepted the schema (`AttestationJustAccepted`).
    cli.embedded_advance(1).await;
    let allocated = cli.ok(&user_file, &allocate).await;
    assert_eq!(allocated["amount"], 10);
    assert_eq!(cli.balance(&user, &setup.mint).await, 10);
    let record: allot::state::AllocationRecord =
        cli.fetch(pdas::allocation_record(&setup.pool, &user)).await;
    assert_eq!(record.evidence, EvidenceKind::Attestation);
    let again = cli.err(&user_file, &allocate).await;
    assert!(again.contains("was already allocated in period"), "{again}");

    // The operator stops accepting them.
    cli.ok(op, &["operator", "refuse-attestations", "--pool", &pool])
        .await;
    let refused = cli.err(&user_file, &allocate).await;
    assert!(refused.contains("accepts no SAS attestations"), "{refused}");
}

#[tokio::test]
async fn the_crank_allocates_on_attestations_and_claws_back_when_they_lapse() {
    let mut cli = Cli::start().await;
    let setup = example_pool(&cli).await;
    let pool = setup.pool.to_string();
    let sas = SasFixture::install(&mut cli.embedded, "payments-verifier", 1);
    let (schema, field) = (sas.schema.to_string(), VOLUME_FIELD.to_string());
    let accept = [
        "operator",
        "accept-attestations",
        "--pool",
        &pool,
        "--schema",
        &schema,
        "--field",
        &field,
    ];
    cli.ok(&setup.operator.1, &accept).await;
    cli.embedded_advance(1).await;
    let now = cli.chain.unix_timestamp().await.unwrap();
    // Three attested users: one for good, one below the rule, one expiring in 100 s; and an
    // attestation-shaped account at an address SAS would not give it, which is left out.
    let (steady, low, expiring) = (
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
    );
    sas.attest(&mut cli.embedded, &steady, 5_000, 0);
    sas.attest(&mut cli.embedded, &low, 999, 0);
    sas.attest(&mut cli.embedded, &expiring, 5_000, now + 100);
    let stray = Pubkey::new_unique();
    let forged = sas_account(sas.attestation_data(&Pubkey::new_unique(), 5_000, 0));
    cli.embedded.set_account(&stray, forged);
    let crank = cli.keypair("crank", 10_000_000_000).await;
    let run = ["crank", "--pool", &pool];

    let first = cli.ok(&crank.1, &run).await;
    assert_eq!(
        (&first["allocations"], &first["clawbacks"]),
        (&2.into(), &0.into()),
        "{first}"
    );
    assert_eq!(
        first["skipped_attestations"][0]["address"],
        stray.to_string(),
        "{first}"
    );
    for user in [steady, expiring] {
        assert_eq!(cli.balance(&user, &setup.mint).await, 10);
        let record: allot::state::AllocationRecord =
            cli.fetch(pdas::allocation_record(&setup.pool, &user)).await;
        assert_eq!(record.evidence, EvidenceKind::Attestation);
    }
    assert_eq!(cli.balance(&low, &setup.mint).await, 0);
    let second = cli.ok(&crank.1, &run).await;
    assert_eq!(second["transactions"], 0, "{second}");

    // One attestation expires, another now states a volume below the rule: both holders are
    // clawed back on them.
    cli.embedded_advance(200).await;
    sas.attest(&mut cli.embedded, &steady, 10, 0);
    let third = cli.ok(&crank.1, &run).await;
    assert_eq!(
        (&third["allocations"], &third["clawbacks"]),
        (&0.into(), &2.into()),
        "{third}"
    );
    assert_eq!(third["clawed_back_units"], 20);
    for user in [steady, expiring] {
        assert_eq!(cli.balance(&user, &setup.mint).await, 0);
    }
    let fourth = cli.ok(&crank.1, &run).await;
    assert_eq!(fourth["transactions"], 0, "{fourth}");

    // A holder whose attestation its issuer closes is found by its record and clawed back.
    let (revoked, _) = cli.keypair("revoked", 0).await;
    sas.attest(&mut cli.embedded, &revoked, 5_000, 0);
    cli.embedded_advance(86_400).await;
    let fifth = cli.ok(&crank.1, &run).await;
    assert_eq!(cli.balance(&revoked, &setup.mint).await, 10, "{fifth}");
    sas.close(&mut cli.embedded, &revoked);
    let sixth = cli.ok(&crank.1, &run).await;
    assert_eq!(
        (&sixth["allocations"], &sixth["clawbacks"]),
        (&0.into(), &1.into()),
        "{sixth}"
    );
    assert_eq!(cli.balance(&revoked, &setup.mint).await, 0);
}
