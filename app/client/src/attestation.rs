//! Reading a user's SAS attestation as a pool would: the attestation at the address SAS gives the
//! pool's issuer, schema and the user, and the issuer's authorised signers, decoded by the
//! program's own `AttestationEvidence::view` (SAS's published layouts).

use allot::constants::SAS_PROGRAM_ID;
use allot::state::{AttestationEvidence, AttestationView};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};

use crate::chain::Chain;
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
