//! Accounts of the Solana Attestation Service (SAS), built with the types of SAS's published
//! client (`solana-attestation-service-client`) and written into the test chain: allot only reads
//! them, so the SAS program itself need not run. Addresses follow SAS's seeds: an issuer
//! (a SAS "credential") `["credential", authority, name]`, a schema `["schema", issuer, name,
//! version]`, an attestation `["attestation", issuer, schema, nonce]` with the user as nonce.

use allot::constants::SAS_PROGRAM_ID;
use allot::state::{
    SAS_ATTESTATION_DISCRIMINATOR, SAS_ISSUER_DISCRIMINATOR, SAS_SCHEMA_DISCRIMINATOR,
};
use allot_client::instructions::Evidence;
use allot_client::pdas;
use anchor_lang::AnchorSerialize;
use anchor_lang::prelude::Pubkey;
use solana_attestation_service_client::accounts::{
    Attestation as SasAttestation, Credential as SasIssuer, Schema as SasSchema,
};
use solana_sdk::account::Account;
use solana_sdk::signature::{Keypair, Signer};

use allot_embedded::Embedded;

use crate::TestChain;

/// SAS's layout codes used here (`SchemaDataTypes` in SAS's `state/schema.rs`).
pub const SAS_U8: u8 = 0;
/// A `u64` field.
pub const SAS_U64: u8 = 3;
/// A string field (variable size).
pub const SAS_STRING: u8 = 12;

/// The layout of the test schema: a region code (`u8`), then the payment volume (`u64`), the
/// field (number 1) a pool's rule reads.
pub const PAYMENTS_LAYOUT: [u8; 2] = [SAS_U8, SAS_U64];
/// The field of [`PAYMENTS_LAYOUT`] holding the volume.
pub const VOLUME_FIELD: u8 = 1;

/// Where a test writes accounts: the program tests' chain, or the embedded chain the CLI tests
/// run against.
pub trait AccountWriter {
    /// Writes `account` at `address`.
    fn write_account(&mut self, address: Pubkey, account: Account);
}

impl AccountWriter for TestChain {
    fn write_account(&mut self, address: Pubkey, account: Account) {
        self.set_account(address, account);
    }
}

impl AccountWriter for Embedded {
    fn write_account(&mut self, address: Pubkey, account: Account) {
        self.set_account(&address, account);
    }
}

/// A SAS issuer with one authorised signer and one schema version, as SAS would have stored them.
pub struct SasFixture {
    /// The issuer's SAS credential account.
    pub issuer: Pubkey,
    /// The schema account (of one version).
    pub schema: Pubkey,
    /// The issuer's authority, which names its signers.
    pub authority: Pubkey,
    /// The issuer's authorised signer, who signs attestations.
    pub signer: Keypair,
}

impl SasFixture {
    /// Writes issuer `name` (its signer authorised) and its schema "payments" version `version`
    /// of [`PAYMENTS_LAYOUT`].
    pub fn install(chain: &mut impl AccountWriter, name: &str, version: u8) -> Self {
        Self::install_with_layout(chain, name, version, &PAYMENTS_LAYOUT)
    }

    /// As [`Self::install`], with the schema's `layout`.
    pub fn install_with_layout(
        chain: &mut impl AccountWriter,
        name: &str,
        version: u8,
        layout: &[u8],
    ) -> Self {
        let authority = Pubkey::new_unique();
        let signer = Keypair::new();
        let issuer = sas_address(&[b"credential", authority.as_ref(), name.as_bytes()]);
        let fixture = Self {
            issuer,
            schema: sas_address(&[b"schema", issuer.as_ref(), b"payments", &[version]]),
            authority,
            signer,
        };
        fixture.set_signers(chain, name, &[fixture.signer.pubkey()]);
        let schema = SasSchema {
            discriminator: SAS_SCHEMA_DISCRIMINATOR,
            credential: to_sas(&issuer),
            name: b"payments".to_vec(),
            description: b"payment volume in the period".to_vec(),
            layout: layout.to_vec(),
            field_names: field_names(layout.len()),
            is_paused: false,
            version,
        };
        chain.write_account(fixture.schema, sas_account(bytes(&schema)));
        fixture
    }

    /// The same issuer's schema "payments" at `version` (its own account, as SAS gives each
    /// version), written with [`PAYMENTS_LAYOUT`].
    pub fn new_version(&self, chain: &mut impl AccountWriter, version: u8) -> Self {
        let schema = sas_address(&[b"schema", self.issuer.as_ref(), b"payments", &[version]]);
        let account = SasSchema {
            discriminator: SAS_SCHEMA_DISCRIMINATOR,
            credential: to_sas(&self.issuer),
            name: b"payments".to_vec(),
            description: b"payment volume in the period".to_vec(),
            layout: PAYMENTS_LAYOUT.to_vec(),
            field_names: field_names(PAYMENTS_LAYOUT.len()),
            is_paused: false,
            version,
        };
        chain.write_account(schema, sas_account(bytes(&account)));
        Self {
            issuer: self.issuer,
            schema,
            authority: self.authority,
            signer: self.signer.insecure_clone(),
        }
    }

    /// Rewrites the issuer (named `name`) with `signers` as its authorised signers, as SAS's
    /// `change_authorized_signers` would.
    pub fn set_signers(&self, chain: &mut impl AccountWriter, name: &str, signers: &[Pubkey]) {
        let issuer = SasIssuer {
            discriminator: SAS_ISSUER_DISCRIMINATOR,
            authority: to_sas(&self.authority),
            name: name.as_bytes().to_vec(),
            authorized_signers: signers.iter().map(to_sas).collect(),
        };
        chain.write_account(self.issuer, sas_account(bytes(&issuer)));
    }

    /// The address of `user`'s attestation under this issuer and schema.
    pub fn attestation(&self, user: &Pubkey) -> Pubkey {
        pdas::attestation(&self.issuer, &self.schema, user)
    }

    /// The attestation SAS would store for `user`: region 7, payment volume `volume`, signed by
    /// the issuer's signer, expiring at `expiry` (0: never).
    pub fn attestation_data(&self, user: &Pubkey, volume: u64, expiry: i64) -> Vec<u8> {
        let mut data = vec![7u8];
        data.extend_from_slice(&volume.to_le_bytes());
        let attestation = SasAttestation {
            discriminator: SAS_ATTESTATION_DISCRIMINATOR,
            nonce: to_sas(user),
            credential: to_sas(&self.issuer),
            schema: to_sas(&self.schema),
            data,
            signer: to_sas(&self.signer.pubkey()),
            expiry,
            token_account: to_sas(&Pubkey::default()),
        };
        bytes(&attestation)
    }

    /// Writes `user`'s attestation of payment volume `volume`, expiring at `expiry` (0: never).
    pub fn attest(&self, chain: &mut impl AccountWriter, user: &Pubkey, volume: u64, expiry: i64) {
        let data = self.attestation_data(user, volume, expiry);
        chain.write_account(self.attestation(user), sas_account(data));
    }

    /// Closes `user`'s attestation, as SAS's `close_attestation` does (its issuer's revocation).
    pub fn close(&self, chain: &mut impl AccountWriter, user: &Pubkey) {
        chain.write_account(self.attestation(user), Account::default());
    }

    /// The evidence an allocation or clawback passes for this issuer and schema.
    pub fn evidence(&self) -> Evidence {
        Evidence::Attestation {
            issuer: self.issuer,
            schema: self.schema,
        }
    }
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

/// The SAS program's address for `seeds`.
fn sas_address(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &SAS_PROGRAM_ID).0
}

/// `key` as SAS's client types spell a public key (their `solana-program` 2 `Pubkey`).
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
    let names: Vec<String> = (0..count).map(|i| format!("field{i}")).collect();
    let mut out = Vec::new();
    names.serialize(&mut out).unwrap();
    out
}
