//! Accounts of the Solana Attestation Service (SAS) as SAS stores them, built with the types of
//! SAS's published client (`solana-attestation-service-client`), for tests and local validators
//! (feature `sas-accounts`): allot only reads these accounts, so a chain needs them written, not
//! the SAS program running. Their addresses are in [`crate::pdas`] (`sas_issuer`, `sas_schema`,
//! `attestation`).

use allot::constants::SAS_PROGRAM_ID;
use allot::state::{
    SAS_ATTESTATION_DISCRIMINATOR, SAS_ISSUER_DISCRIMINATOR, SAS_SCHEMA_DISCRIMINATOR,
};
use anchor_lang::AnchorSerialize;
use anchor_lang::prelude::Pubkey;
use solana_attestation_service_client::accounts::{
    Attestation as SasAttestation, Credential as SasIssuer, Schema as SasSchema,
};
use solana_sdk::account::Account;

/// SAS's layout code of a `u8` field (`SchemaDataTypes` in SAS's `state/schema.rs`).
pub const SAS_U8: u8 = 0;
/// A `u64` field.
pub const SAS_U64: u8 = 3;
/// A string field (variable size).
pub const SAS_STRING: u8 = 12;

/// The name of the example schema: a region code (`u8`), then the payment volume (`u64`).
pub const PAYMENTS_SCHEMA: &str = "payments";
/// The layout of [`PAYMENTS_SCHEMA`].
pub const PAYMENTS_LAYOUT: [u8; 2] = [SAS_U8, SAS_U64];
/// The field of [`PAYMENTS_LAYOUT`] holding the volume (what a pool's rule reads).
pub const VOLUME_FIELD: u8 = 1;

/// Issuer `name` of `authority` with `signers` authorised to sign its attestations.
pub fn issuer_account(authority: &Pubkey, name: &str, signers: &[Pubkey]) -> Account {
    sas_account(bytes(&SasIssuer {
        discriminator: SAS_ISSUER_DISCRIMINATOR,
        authority: to_sas(authority),
        name: name.as_bytes().to_vec(),
        authorized_signers: signers.iter().map(to_sas).collect(),
    }))
}

/// `issuer`'s schema `name` at `version` with fields of `layout` (SAS's codes), named `field0`,
/// `field1`, ….
pub fn schema_account(issuer: &Pubkey, name: &str, version: u8, layout: &[u8]) -> Account {
    sas_account(bytes(&SasSchema {
        discriminator: SAS_SCHEMA_DISCRIMINATOR,
        credential: to_sas(issuer),
        name: name.as_bytes().to_vec(),
        description: format!("{name}, for allot's tests").into_bytes(),
        layout: layout.to_vec(),
        field_names: field_names(layout.len()),
        is_paused: false,
        version,
    }))
}

/// What an attestation of [`PAYMENTS_LAYOUT`] holds: region 7, then `volume`.
pub fn payments_data(volume: u64) -> Vec<u8> {
    let mut data = vec![7u8];
    data.extend_from_slice(&volume.to_le_bytes());
    data
}

/// The attestation SAS stores at [`crate::pdas::attestation`] for `user`: `data` under `issuer` and
/// `schema`, signed by `signer`, expiring at `expiry` (Unix seconds; 0: never).
pub fn attestation_account(
    issuer: &Pubkey,
    schema: &Pubkey,
    user: &Pubkey,
    data: Vec<u8>,
    signer: &Pubkey,
    expiry: i64,
) -> Account {
    sas_account(bytes(&SasAttestation {
        discriminator: SAS_ATTESTATION_DISCRIMINATOR,
        nonce: to_sas(user),
        credential: to_sas(issuer),
        schema: to_sas(schema),
        data,
        signer: to_sas(signer),
        expiry,
        token_account: to_sas(&Pubkey::default()),
    }))
}

/// A SAS-owned, rent-exempt account holding `data`.
pub fn sas_account(data: Vec<u8>) -> Account {
    Account {
        lamports: 10_000_000,
        data,
        owner: SAS_PROGRAM_ID,
        executable: false,
        rent_epoch: 0,
    }
}

/// `key` as SAS's client spells a public key (its own `solana-program` copy's type).
fn to_sas<K: From<[u8; 32]>>(key: &Pubkey) -> K {
    key.to_bytes().into()
}

/// `value` in SAS's account encoding (Borsh, discriminator first).
fn bytes(value: &impl AnchorSerialize) -> Vec<u8> {
    let mut out = Vec::new();
    value.serialize(&mut out).expect("serializing to memory");
    out
}

/// SAS's serialized field names for `count` fields (`field0`, `field1`, …), a serialized
/// `Vec<String>` as SAS stores it.
fn field_names(count: usize) -> Vec<u8> {
    bytes(&(0..count).map(|i| format!("field{i}")).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use allot::state::AttestationEvidence;

    use super::*;
    use crate::pdas;

    /// The accounts built here are what the program's own reader accepts: the volume read from
    /// field 1, the signer found among the issuer's (and not among another issuer's).
    #[test]
    fn the_program_reads_the_accounts_built_here() {
        let authority = Pubkey::new_unique();
        let signer = Pubkey::new_unique();
        let user = Pubkey::new_unique();
        let issuer = pdas::sas_issuer(&authority, "verifier");
        let schema = pdas::sas_schema(&issuer, PAYMENTS_SCHEMA, 1);
        let evidence = AttestationEvidence {
            issuer,
            schema,
            schema_version: 1,
            // Field 1 of the payments layout sits after the one-byte region code.
            value_offset: 1,
            accepted_at: 0,
        };
        let attestation =
            attestation_account(&issuer, &schema, &user, payments_data(5_000), &signer, 0);
        let issuer_data = issuer_account(&authority, "verifier", &[signer]).data;
        let view = evidence
            .view(&user, &attestation.data, &issuer_data)
            .expect("the program reads it");
        assert_eq!((view.value, view.signer_authorised), (5_000, true));
        let stranger = issuer_account(&authority, "verifier", &[Pubkey::new_unique()]).data;
        let unsigned = evidence.view(&user, &attestation.data, &stranger).unwrap();
        assert!(!unsigned.signer_authorised);
    }
}
