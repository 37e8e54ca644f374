//! Accounts of the Solana Attestation Service (SAS) written into the test chain, as SAS would
//! have stored them: built by `allot_client::sas_accounts` with the types of SAS's published
//! client (`solana-attestation-service-client`). allot only reads them, so the SAS program itself
//! need not run.

use allot_client::instructions::Evidence;
use allot_client::pdas;
use allot_client::sas_accounts::{self, PAYMENTS_SCHEMA};
pub use allot_client::sas_accounts::{
    PAYMENTS_LAYOUT, SAS_STRING, SAS_U8, SAS_U64, VOLUME_FIELD, sas_account,
};
use anchor_lang::prelude::Pubkey;
use solana_sdk::account::Account;
use solana_sdk::signature::{Keypair, Signer};

use allot_embedded::Embedded;

use crate::TestChain;

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
        let issuer = pdas::sas_issuer(&authority, name);
        let fixture = Self {
            issuer,
            schema: pdas::sas_schema(&issuer, PAYMENTS_SCHEMA, version),
            authority,
            signer: Keypair::new(),
        };
        fixture.set_signers(chain, name, &[fixture.signer.pubkey()]);
        chain.write_account(
            fixture.schema,
            sas_accounts::schema_account(&issuer, PAYMENTS_SCHEMA, version, layout),
        );
        fixture
    }

    /// The same issuer's schema "payments" at `version` (its own account, as SAS gives each
    /// version), written with [`PAYMENTS_LAYOUT`].
    pub fn new_version(&self, chain: &mut impl AccountWriter, version: u8) -> Self {
        let schema = pdas::sas_schema(&self.issuer, PAYMENTS_SCHEMA, version);
        chain.write_account(
            schema,
            sas_accounts::schema_account(&self.issuer, PAYMENTS_SCHEMA, version, &PAYMENTS_LAYOUT),
        );
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
        chain.write_account(
            self.issuer,
            sas_accounts::issuer_account(&self.authority, name, signers),
        );
    }

    /// The address of `user`'s attestation under this issuer and schema.
    pub fn attestation(&self, user: &Pubkey) -> Pubkey {
        pdas::attestation(&self.issuer, &self.schema, user)
    }

    /// The attestation SAS would store for `user`: region 7, payment volume `volume`, signed by
    /// the issuer's signer, expiring at `expiry` (0: never).
    pub fn attestation_data(&self, user: &Pubkey, volume: u64, expiry: i64) -> Vec<u8> {
        sas_accounts::attestation_account(
            &self.issuer,
            &self.schema,
            user,
            sas_accounts::payments_data(volume),
            &self.signer.pubkey(),
            expiry,
        )
        .data
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
