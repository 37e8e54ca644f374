//! Reading a user's SAS attestation as a pool would: the attestation at the address SAS gives the
//! pool's issuer, schema and the user, and the issuer's authorised signers, decoded by the
//! program's own `AttestationEvidence::view` (SAS's published layouts).

use allot::constants::SAS_PROGRAM_ID;
use allot::state::{AttestationEvidence, AttestationView};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};

use crate::chain::{AccountFilter, Chain};
use crate::errors::refusal;
use crate::pdas;

/// `user`'s attestation under `evidence` (a pool's SAS settings), read with its issuer in one
/// call: `None` when no attestation is at its address (never issued, or closed by its issuer;
/// an empty, system-owned account there, as lamports sent to it leave, counts as none too).
/// Accounts SAS does not own, or that do not decode, are errors naming the address.
pub async fn read<C: Chain>(
    chain: &C,
    evidence: &AttestationEvidence,
    user: &Pubkey,
) -> Result<Option<AttestationView>> {
    let address = pdas::attestation(&evidence.issuer, &evidence.schema, user);
    let mut found = chain
        .accounts(vec![address, evidence.issuer])
        .await
        .context("reading the attestation and its SAS issuer")?;
    let issuer = found.pop().flatten();
    let attestation = found.pop().flatten();
    let Some(issuer) = issuer else {
        bail!(
            "the pool's SAS issuer {} does not exist: the operator names another schema, or stops accepting attestations",
            evidence.issuer
        );
    };
    ensure!(
        issuer.owner == SAS_PROGRAM_ID,
        "{} is not a SAS issuer (owned by {})",
        evidence.issuer,
        issuer.owner
    );
    let Some(attestation) = attestation.filter(|a| {
        a.lamports > 0 && !(a.data.is_empty() && a.owner == anchor_lang::system_program::ID)
    }) else {
        return Ok(None);
    };
    ensure!(
        attestation.owner == SAS_PROGRAM_ID,
        "{address} is not a SAS attestation (owned by {})",
        attestation.owner
    );
    evidence
        .view(user, &attestation.data, &issuer.data)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("the attestation at {address}: {}", refusal(&e)))
}

/// Where SAS's attestation account keeps its credential (the issuer) and schema: after its
/// one-byte discriminator and its 32-byte nonce (SAS's `state/attestation.rs`).
const SAS_ATTESTATION_ISSUER_OFFSET: usize = 33;
/// Where it keeps its schema.
const SAS_ATTESTATION_SCHEMA_OFFSET: usize = 65;

/// Every attestation under `evidence` (a pool's SAS settings) at the address SAS gives its
/// nonce, as `(user, view)`: one `getProgramAccounts` over SAS's accounts filtered by issuer and
/// schema, and one read of the issuer. Accounts that do not decode under the pool's settings
/// are left out, each named in `skipped` with the reason.
pub async fn of_schema<C: Chain>(
    chain: &C,
    evidence: &AttestationEvidence,
) -> Result<SchemaAttestations> {
    use allot::state::SAS_ATTESTATION_DISCRIMINATOR;
    let issuer = chain
        .account(evidence.issuer)
        .await
        .context("reading the pool's SAS issuer")?
        .filter(|issuer| issuer.owner == SAS_PROGRAM_ID)
        .with_context(|| {
            format!(
                "the pool's SAS issuer {} is not a SAS account: the operator names another schema, or stops accepting attestations",
                evidence.issuer
            )
        })?;
    let filters = vec![
        AccountFilter::Memcmp {
            offset: 0,
            bytes: vec![SAS_ATTESTATION_DISCRIMINATOR],
        },
        AccountFilter::Memcmp {
            offset: SAS_ATTESTATION_ISSUER_OFFSET,
            bytes: evidence.issuer.to_bytes().to_vec(),
        },
        AccountFilter::Memcmp {
            offset: SAS_ATTESTATION_SCHEMA_OFFSET,
            bytes: evidence.schema.to_bytes().to_vec(),
        },
    ];
    let mut found = SchemaAttestations::default();
    for (address, account) in chain
        .program_accounts(SAS_PROGRAM_ID, filters)
        .await
        .context("listing the schema's SAS attestations")?
    {
        let Some(nonce) = account.data.get(1..33) else {
            continue;
        };
        let user = Pubkey::try_from(nonce).expect("32 bytes");
        if address != pdas::attestation(&evidence.issuer, &evidence.schema, &user) {
            found
                .skipped
                .push((address, "not at the address SAS gives its nonce".into()));
            continue;
        }
        match evidence.view(&user, &account.data, &issuer.data) {
            Ok(view) => found.attestations.push((user, view)),
            Err(e) => found.skipped.push((address, refusal(&e))),
        }
    }
    Ok(found)
}

/// What [`of_schema`] found.
#[derive(Clone, Debug, Default)]
pub struct SchemaAttestations {
    /// Each attested user and what the attestation states.
    pub attestations: Vec<(Pubkey, AttestationView)>,
    /// Attestation accounts left out, with why.
    pub skipped: Vec<(Pubkey, String)>,
}
