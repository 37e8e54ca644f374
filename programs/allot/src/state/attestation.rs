//! Evidence from the Solana Attestation Service (SAS): which attestations a pool accepts, how an
//! attestation is read (with the layouts of SAS's published client,
//! `solana-attestation-service-client`, never retyped), and the pure rules that decide an
//! allocation or a clawback on what was read. Clients read the accounts themselves and ask the
//! same rules.

use anchor_lang::prelude::*;
use solana_attestation_service_client::accounts::{
    Attestation as SasAttestation, Credential as SasIssuer, Schema as SasSchema,
};

use crate::constants::{SAS_ATTESTATION_SEED, SAS_PROGRAM_ID};
use crate::error::AllotError;
use crate::state::AllocationRule;

/// First byte of a SAS credential (issuer) account. SAS's discriminators are in its program's
/// `state/discriminator.rs`; its client does not export them.
pub const SAS_ISSUER_DISCRIMINATOR: u8 = 0;
/// First byte of a SAS schema account.
pub const SAS_SCHEMA_DISCRIMINATOR: u8 = 1;
/// First byte of a SAS attestation account.
pub const SAS_ATTESTATION_DISCRIMINATOR: u8 = 2;
/// SAS's layout code of a `u64` field (`SchemaDataTypes::U64` in SAS's `state/schema.rs`).
pub const SAS_TYPE_U64: u8 = 3;

/// Where a pool finds SAS evidence: the issuer it trusts, the schema (one account per version)
/// and where in an attestation's data the value the rule reads sits. Set by `pool_set_attestation`
/// from the schema account itself.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestationEvidence {
    /// The SAS credential account (the issuer) whose authorised signers the pool trusts.
    pub issuer: Pubkey,
    /// The SAS schema account; SAS gives each version of a schema its own account.
    pub schema: Pubkey,
    /// The schema's version, as the schema account stated when the pool named it.
    pub schema_version: u8,
    /// Byte offset, in an attestation's data, of the little-endian `u64` the pool's rule reads.
    pub value_offset: u16,
    /// When the pool began accepting this issuer, schema and field (unix seconds). Holders
    /// allocated before it were allocated on another schema (or field): their attestation is
    /// not at this schema's address, so an empty address there proves nothing about them.
    pub accepted_at: i64,
}

/// What an attestation states about a user, read together with its issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestationView {
    /// The indicator value at the pool's offset.
    pub value: u64,
    /// When it expires (unix seconds; 0: never). SAS checks expiry only when it creates an
    /// attestation, so readers must.
    pub expiry: i64,
    /// Whether its signer is still among the issuer's authorised signers.
    pub signer_authorised: bool,
    /// When the pool accepted the schema it was read under (`AttestationEvidence::accepted_at`).
    pub accepted_at: i64,
}

impl AttestationView {
    /// Whether the attestation has expired at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expiry != 0 && now >= self.expiry
    }

    /// Checks that this attestation supports an allocation by `rule` at `now` (and not in the
    /// second its schema was accepted), naming the first condition that fails.
    pub fn check_supports_allocation(&self, rule: &AllocationRule, now: i64) -> Result<()> {
        require!(
            self.signer_authorised,
            AllotError::AttestationSignerNotAuthorised
        );
        require!(!self.is_expired(now), AllotError::AttestationExpired);
        require!(rule.is_met_by(self.value), AllotError::RuleNotMet);
        // Clawback tells holders of this schema from holders of the one before by
        // `last_allocated_at > accepted_at` (unix seconds): an allocation in the second of the
        // change could not be told apart, so none is made then.
        require!(now > self.accepted_at, AllotError::AttestationJustAccepted);
        Ok(())
    }
}

impl AttestationEvidence {
    /// The evidence a pool accepts from `accepted_at` on, from the SAS schema at `schema_key`
    /// (its account data `schema_data`), reading field number `field_index`: it must be a `u64`
    /// with only fixed-size fields before it, so its offset is the same in every attestation.
    pub fn from_schema(
        schema_key: Pubkey,
        schema_data: &[u8],
        field_index: u8,
        accepted_at: i64,
    ) -> Result<Self> {
        require!(
            schema_data.first() == Some(&SAS_SCHEMA_DISCRIMINATOR),
            AllotError::AttestationInvalid
        );
        let schema = SasSchema::from_bytes(schema_data)
            .map_err(|_| error!(AllotError::AttestationInvalid))?;
        let mut offset: u16 = 0;
        for (index, code) in schema
            .layout
            .iter()
            .take(usize::from(field_index) + 1)
            .enumerate()
        {
            if index == usize::from(field_index) {
                require!(
                    *code == SAS_TYPE_U64,
                    AllotError::AttestationFieldUnreadable
                );
                return Ok(Self {
                    issuer: Pubkey::new_from_array(schema.credential.to_bytes()),
                    schema: schema_key,
                    schema_version: schema.version,
                    value_offset: offset,
                    accepted_at,
                });
            }
            let size = fixed_size(*code).ok_or(AllotError::AttestationFieldUnreadable)?;
            offset = offset
                .checked_add(size)
                .ok_or(AllotError::AttestationFieldUnreadable)?;
        }
        err!(AllotError::AttestationFieldUnreadable)
    }

    /// Whether `other` reads the same attestations the same way (issuer, schema and field),
    /// whenever each was accepted.
    pub fn reads_as(&self, other: &Self) -> bool {
        (self.issuer, self.schema, self.value_offset)
            == (other.issuer, other.schema, other.value_offset)
    }

    /// The address SAS gives `user`'s attestation under this issuer and schema (the user's
    /// wallet as the nonce).
    pub fn attestation_address(&self, user: &Pubkey) -> Pubkey {
        sas_attestation_address(&self.issuer, &self.schema, user)
    }

    /// Reads `user`'s attestation and its issuer from their accounts: `None` when the
    /// attestation's address holds no data and belongs to the system program (never issued, or
    /// closed: SAS revokes by closing; lamports someone sent there since change nothing). Checks
    /// the address, the owners and the layouts, then [`Self::view`].
    pub fn read(
        &self,
        user: &Pubkey,
        attestation: &AccountInfo,
        issuer: &AccountInfo,
    ) -> Result<Option<AttestationView>> {
        require_keys_eq!(
            attestation.key(),
            self.attestation_address(user),
            AllotError::AttestationWrongAddress
        );
        require_keys_eq!(
            issuer.key(),
            self.issuer,
            AllotError::AttestationWrongIssuer
        );
        require_keys_eq!(
            *issuer.owner,
            SAS_PROGRAM_ID,
            AllotError::AttestationWrongOwner
        );
        if attestation.data_is_empty() && *attestation.owner == anchor_lang::system_program::ID {
            return Ok(None);
        }
        require_keys_eq!(
            *attestation.owner,
            SAS_PROGRAM_ID,
            AllotError::AttestationWrongOwner
        );
        let view = self.view(
            user,
            &attestation.try_borrow_data()?,
            &issuer.try_borrow_data()?,
        )?;
        Ok(Some(view))
    }

    /// What the attestation data `attestation` says about `user`, with its issuer's data
    /// `issuer` (both already known to be SAS accounts at the right addresses): the issuer and
    /// schema it names must be the pool's, and the value must be there.
    pub fn view(
        &self,
        user: &Pubkey,
        attestation: &[u8],
        issuer: &[u8],
    ) -> Result<AttestationView> {
        require!(
            attestation.first() == Some(&SAS_ATTESTATION_DISCRIMINATOR),
            AllotError::AttestationInvalid
        );
        let attestation = SasAttestation::from_bytes(attestation)
            .map_err(|_| error!(AllotError::AttestationInvalid))?;
        require!(
            issuer.first() == Some(&SAS_ISSUER_DISCRIMINATOR),
            AllotError::AttestationInvalid
        );
        let issuer =
            SasIssuer::from_bytes(issuer).map_err(|_| error!(AllotError::AttestationInvalid))?;
        require!(
            attestation.credential.to_bytes() == self.issuer.to_bytes(),
            AllotError::AttestationWrongIssuer
        );
        require!(
            attestation.schema.to_bytes() == self.schema.to_bytes(),
            AllotError::AttestationWrongSchema
        );
        require!(
            attestation.nonce.to_bytes() == user.to_bytes(),
            AllotError::AttestationWrongAddress
        );
        let start = usize::from(self.value_offset);
        let bytes: [u8; 8] = start
            .checked_add(8)
            .and_then(|end| attestation.data.get(start..end))
            .and_then(|slice| slice.try_into().ok())
            .ok_or(AllotError::AttestationInvalid)?;
        Ok(AttestationView {
            value: u64::from_le_bytes(bytes),
            expiry: attestation.expiry,
            signer_authorised: issuer.authorized_signers.contains(&attestation.signer),
            accepted_at: self.accepted_at,
        })
    }
}

/// The address SAS gives the attestation of `issuer` (a SAS credential) under `schema` with
/// `user`'s wallet as the nonce.
pub fn sas_attestation_address(issuer: &Pubkey, schema: &Pubkey, user: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[
            SAS_ATTESTATION_SEED,
            issuer.as_ref(),
            schema.as_ref(),
            user.as_ref(),
        ],
        &SAS_PROGRAM_ID,
    )
    .0
}

/// The size in bytes of a fixed-size SAS layout code (`SchemaDataTypes` in SAS's
/// `state/schema.rs`: u8…i128, bool, char); `None` for strings and vectors.
fn fixed_size(code: u8) -> Option<u16> {
    match code {
        0 | 5 | 10 => Some(1),
        1 | 6 => Some(2),
        2 | 7 | 11 => Some(4),
        3 | 8 => Some(8),
        4 | 9 => Some(16),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use anchor_lang::AnchorSerialize;

    use super::*;
    use crate::state::allocation_record::tests::fresh;
    use crate::state::{
        AllocationRecord, ClawbackReason, Comparison, EvidenceKind, attestation_clawback_reason,
    };

    /// Indicator at least 1,000.
    fn rule() -> AllocationRule {
        AllocationRule {
            indicator: 0,
            comparison: Comparison::AtLeast,
            threshold: 1_000,
            amount: 10,
            credential_max_age: 60,
        }
    }

    fn bytes(value: &impl AnchorSerialize) -> Vec<u8> {
        let mut out = Vec::new();
        value.serialize(&mut out).unwrap();
        out
    }

    fn sas<K: From<[u8; 32]>>(key: &Pubkey) -> K {
        key.to_bytes().into()
    }

    fn schema(layout: &[u8]) -> Vec<u8> {
        bytes(&SasSchema {
            discriminator: SAS_SCHEMA_DISCRIMINATOR,
            credential: sas(&Pubkey::new_from_array([1; 32])),
            name: b"s".to_vec(),
            description: Vec::new(),
            layout: layout.to_vec(),
            field_names: Vec::new(),
            is_paused: false,
            version: 4,
        })
    }

    fn config() -> AttestationEvidence {
        AttestationEvidence {
            issuer: Pubkey::new_from_array([1; 32]),
            schema: Pubkey::new_from_array([2; 32]),
            schema_version: 1,
            value_offset: 1,
            accepted_at: 5,
        }
    }

    fn attestation(config: &AttestationEvidence, user: &Pubkey, data: Vec<u8>) -> Vec<u8> {
        bytes(&SasAttestation {
            discriminator: SAS_ATTESTATION_DISCRIMINATOR,
            nonce: sas(user),
            credential: sas(&config.issuer),
            schema: sas(&config.schema),
            data,
            signer: sas(&Pubkey::new_from_array([3; 32])),
            expiry: 500,
            token_account: sas(&Pubkey::default()),
        })
    }

    fn issuer(signers: &[Pubkey]) -> Vec<u8> {
        bytes(&SasIssuer {
            discriminator: SAS_ISSUER_DISCRIMINATOR,
            authority: sas(&Pubkey::default()),
            name: b"i".to_vec(),
            authorized_signers: signers.iter().map(sas).collect(),
        })
    }

    fn error_of<T: std::fmt::Debug>(result: Result<T>) -> AllotError {
        match result.unwrap_err() {
            Error::AnchorError(e) => AllotError::from_code(e.error_code_number).unwrap(),
            other => panic!("not an allot error: {other:?}"),
        }
    }

    #[test]
    fn the_value_offset_adds_the_fixed_fields_before_it() {
        let key = Pubkey::new_unique();
        let evidence = AttestationEvidence::from_schema(key, &schema(&[0, 3]), 1, 7).unwrap();
        assert_eq!(evidence.accepted_at, 7);
        assert_eq!(evidence.value_offset, 1);
        assert_eq!(evidence.schema_version, 4);
        assert_eq!(evidence.issuer, Pubkey::new_from_array([1; 32]));
        // u16, i128, bool, char, then the u64: 2 + 16 + 1 + 4.
        let evidence = AttestationEvidence::from_schema(key, &schema(&[1, 9, 10, 11, 3]), 4, 0);
        assert_eq!(evidence.unwrap().value_offset, 23);
        assert_eq!(
            AttestationEvidence::from_schema(key, &schema(&[3]), 0, 0)
                .unwrap()
                .value_offset,
            0
        );
    }

    #[test]
    fn a_field_that_cannot_be_read_the_same_way_in_every_attestation_is_refused() {
        let key = Pubkey::new_unique();
        let unreadable = AllotError::AttestationFieldUnreadable;
        for (layout, field) in [
            (&[12u8, 3][..], 1), // after a string
            (&[16, 3][..], 1),   // after a vector
            (&[0, 8][..], 1),    // an i64, not a u64
            (&[0, 3][..], 2),    // past the end
        ] {
            let result = AttestationEvidence::from_schema(key, &schema(layout), field, 0);
            assert_eq!(error_of(result), unreadable, "{layout:?} field {field}");
        }
        let mut not_a_schema = schema(&[3]);
        not_a_schema[0] = SAS_ATTESTATION_DISCRIMINATOR;
        let result = AttestationEvidence::from_schema(key, &not_a_schema, 0, 0);
        assert_eq!(error_of(result), AllotError::AttestationInvalid);
    }

    #[test]
    fn a_view_reads_the_value_expiry_and_whether_the_signer_still_counts() {
        let config = config();
        let user = Pubkey::new_unique();
        let mut data = vec![9u8];
        data.extend_from_slice(&4_321u64.to_le_bytes());
        let attested = attestation(&config, &user, data);
        let signer = Pubkey::new_from_array([3; 32]);
        let view = config.view(&user, &attested, &issuer(&[signer])).unwrap();
        assert_eq!(
            view,
            AttestationView {
                value: 4_321,
                expiry: 500,
                signer_authorised: true,
                accepted_at: config.accepted_at,
            }
        );
        let view = config.view(&user, &attested, &issuer(&[])).unwrap();
        assert!(!view.signer_authorised);
        // Another user's, a short value, another schema, another issuer.
        let other = Pubkey::new_unique();
        let wrong = config.view(&other, &attested, &issuer(&[signer]));
        assert_eq!(error_of(wrong), AllotError::AttestationWrongAddress);
        let short = attestation(&config, &user, vec![9, 1, 2, 3]);
        let short = config.view(&user, &short, &issuer(&[signer]));
        assert_eq!(error_of(short), AllotError::AttestationInvalid);
        let mut other_schema = config;
        other_schema.schema = Pubkey::new_unique();
        let wrong = other_schema.view(&user, &attested, &issuer(&[signer]));
        assert_eq!(error_of(wrong), AllotError::AttestationWrongSchema);
        let mut other_issuer = config;
        other_issuer.issuer = Pubkey::new_unique();
        let wrong = other_issuer.view(&user, &attested, &issuer(&[signer]));
        assert_eq!(error_of(wrong), AllotError::AttestationWrongIssuer);
    }

    #[test]
    fn allocation_needs_an_authorised_signer_no_expiry_and_the_rule_met() {
        let view = |value, expiry, signer_authorised| AttestationView {
            value,
            expiry,
            signer_authorised,
            accepted_at: 9,
        };
        let rule = rule();
        assert!(
            view(1_000, 0, true)
                .check_supports_allocation(&rule, 10)
                .is_ok()
        );
        assert!(
            view(1_000, 11, true)
                .check_supports_allocation(&rule, 10)
                .is_ok()
        );
        let cases = [
            (
                view(1_000, 0, false),
                AllotError::AttestationSignerNotAuthorised,
            ),
            (view(1_000, 10, true), AllotError::AttestationExpired),
            (view(999, 0, true), AllotError::RuleNotMet),
            // Accepted this very second: a clawback could not tell it from the schema before.
            (
                AttestationView {
                    accepted_at: 10,
                    ..view(1_000, 0, true)
                },
                AllotError::AttestationJustAccepted,
            ),
            (
                view(0, 1, false),
                AllotError::AttestationSignerNotAuthorised,
            ),
        ];
        for (view, expected) in cases {
            let result = view.check_supports_allocation(&rule, 10);
            assert_eq!(error_of(result), expected, "{view:?}");
        }
    }

    #[test]
    fn clawback_reasons_in_order_and_only_after_an_attested_allocation() {
        let rule = rule();
        let accepted = config();
        let mut record = fresh();
        record.allocations = 1;
        record.last_allocated_at = 6;
        let live = AttestationView {
            value: 1_000,
            expiry: 0,
            signer_authorised: true,
            accepted_at: accepted.accepted_at,
        };
        let not_last = attestation_clawback_reason(&accepted, None, &record, &rule, 10);
        assert_eq!(error_of(not_last), AllotError::EvidenceNotOfLastAllocation);
        record.evidence = EvidenceKind::Attestation;
        // Allocated no later than the pool accepted its current schema: not on that schema.
        let before = AllocationRecord {
            last_allocated_at: accepted.accepted_at,
            ..record.clone()
        };
        let changed = attestation_clawback_reason(&accepted, None, &before, &rule, 10);
        assert_eq!(error_of(changed), AllotError::AttestationSchemaChanged);
        let reason = |view: Option<&AttestationView>| {
            attestation_clawback_reason(&accepted, view, &record, &rule, 10)
        };
        assert_eq!(reason(None).unwrap(), ClawbackReason::AttestationClosed);
        let removed = AttestationView {
            signer_authorised: false,
            expiry: 5,
            value: 0,
            ..live
        };
        assert_eq!(
            reason(Some(&removed)).unwrap(),
            ClawbackReason::AttestationSignerRemoved
        );
        let expired = AttestationView {
            expiry: 10,
            value: 0,
            ..live
        };
        assert_eq!(
            reason(Some(&expired)).unwrap(),
            ClawbackReason::AttestationExpired
        );
        let fallen = AttestationView { value: 999, ..live };
        assert_eq!(
            reason(Some(&fallen)).unwrap(),
            ClawbackReason::IndicatorFails
        );
        assert_eq!(
            error_of(reason(Some(&live))),
            AllotError::ConditionsStillHold
        );
    }
}
