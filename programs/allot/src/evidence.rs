//! The evidence `allocate`, `allocate_sharded` and `clawback` accept — a credential, a
//! user-list entry with its proof, or a SAS attestation — and how each instruction checks
//! it. The pure rules applied
//! live with the accounts they read (`Credential::check_supports_allocation`, `Rule::is_met_by`)
//! and in `state/clawback_decision.rs`, which the crank calls too.

use anchor_lang::prelude::*;

use crate::constants::MAX_PROOF_LEN;
use crate::error::AllotError;
use crate::merkle;
use crate::state::{
    AllocationRecord, AllocationRule, AttestationView, ClawbackReason, Credential, EvidenceKind,
    Pool, UserList, attestation_clawback_reason, check_list_is_current,
    closed_credential_clawback_reason, credential_clawback_reason, list_clawback_reason,
};

/// A user's leaf in a published user list, with the proof that links it to the root.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct ListProof {
    /// The user's indicator value stated in the list.
    pub value: u64,
    /// Sibling hashes from the leaf up to the root (at most `MAX_PROOF_LEN`).
    pub proof: Vec<[u8; 32]>,
}

impl ListProof {
    /// Checks that the proof shows `(user, self.value)` in `list`, a list of `pool`.
    pub fn verify(&self, pool: &Pubkey, list: &UserList, user: &Pubkey) -> Result<()> {
        require!(self.proof.len() <= MAX_PROOF_LEN, AllotError::ProofTooLong);
        let leaf = merkle::leaf_hash(pool, list.period, user, self.value);
        require!(
            merkle::verify(&self.proof, &list.root, leaf),
            AllotError::InvalidProof
        );
        Ok(())
    }
}

/// The evidence an allocation or a clawback presents: exactly one of a credential, a user list
/// with a proof, or a SAS attestation.
pub struct PresentedEvidence<'a> {
    /// The user's credential in the pool, if passed: `Some(None)` when its address holds no
    /// account (closed by a verifier; only `clawback` reads such an address, [`read_credential`]).
    pub credential: Option<Option<&'a Credential>>,
    /// The pool's user list, if passed.
    pub user_list: Option<&'a UserList>,
    /// The user's leaf and proof in `user_list`, if passed.
    pub proof: Option<&'a ListProof>,
    /// The user's SAS attestation as read ([`read_attestation`]), if passed: `Some(None)` when
    /// its address holds no attestation (none issued, or closed).
    pub attestation: Option<Option<AttestationView>>,
}

/// Reads the credential account `clawback` was given (its address already checked by the seeds):
/// `None` when none was passed, `Some(None)` when its address holds no account (closed by a
/// verifier; a system-owned, empty address), else the credential, owner- and
/// discriminator-checked.
pub fn read_credential(info: Option<&AccountInfo>) -> Result<Option<Option<Credential>>> {
    let Some(info) = info else {
        return Ok(None);
    };
    if info.data_is_empty() && *info.owner == anchor_lang::system_program::ID {
        return Ok(Some(None));
    }
    require_keys_eq!(
        *info.owner,
        crate::ID,
        anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram
    );
    let credential = Credential::try_deserialize(&mut &info.try_borrow_data()?[..])?;
    Ok(Some(Some(credential)))
}

/// Reads the SAS attestation and issuer accounts an instruction was given for `user` of `pool`:
/// `None` when neither was passed; refused when only one was, or when the pool names no SAS
/// schema.
pub fn read_attestation(
    pool: &Pool,
    user: &Pubkey,
    attestation: Option<&AccountInfo>,
    issuer: Option<&AccountInfo>,
) -> Result<Option<Option<AttestationView>>> {
    match (attestation, issuer) {
        (None, None) => Ok(None),
        (Some(attestation), Some(issuer)) => {
            let config = pool
                .attestation
                .as_ref()
                .ok_or(AllotError::AttestationNotConfigured)?;
            config.read(user, attestation, issuer).map(Some)
        }
        _ => err!(AllotError::AttestationAccountsMismatch),
    }
}

impl PresentedEvidence<'_> {
    /// Checks that the evidence supports allocating `rule` to `user` of `pool` in `period` at
    /// `now`; returns which kind it is.
    pub fn check_supports_allocation(
        &self,
        pool: &Pubkey,
        user: &Pubkey,
        rule: &AllocationRule,
        period: u64,
        now: i64,
    ) -> Result<EvidenceKind> {
        match (
            self.credential,
            self.user_list,
            self.proof,
            &self.attestation,
        ) {
            (Some(Some(credential)), None, None, None) => {
                credential.check_supports_allocation(rule, period, now)?;
                Ok(EvidenceKind::Credential)
            }
            (None, None, None, Some(attestation)) => {
                attestation
                    .as_ref()
                    .ok_or(AllotError::AttestationMissing)?
                    .check_supports_allocation(rule, now)?;
                Ok(EvidenceKind::Attestation)
            }
            (None, Some(list), Some(proof), None) => {
                require!(list.period == period, AllotError::UserListWrongPeriod);
                proof.verify(pool, list, user)?;
                require!(rule.is_met_by(proof.value), AllotError::RuleNotMet);
                Ok(EvidenceKind::UserList)
            }
            _ => err!(AllotError::EvidenceMismatch),
        }
    }

    /// Why the evidence lets `pool` recover `user`'s allocated units at `now` (the rule no longer
    /// holds, by evidence no older than the last allocation; a list only once its period has
    /// begun; an attestation, closed or not, only when one supported the last allocation), and
    /// which kind of evidence it is.
    pub fn check_fails(
        &self,
        pool_key: &Pubkey,
        pool: &Pool,
        user: &Pubkey,
        record: &AllocationRecord,
        now: i64,
    ) -> Result<(ClawbackReason, EvidenceKind)> {
        match (
            self.credential,
            self.user_list,
            self.proof,
            &self.attestation,
        ) {
            (Some(Some(credential)), None, None, None) => Ok((
                credential_clawback_reason(credential, record, &pool.rule, now)?,
                EvidenceKind::Credential,
            )),
            (Some(None), None, None, None) => Ok((
                closed_credential_clawback_reason(record)?,
                EvidenceKind::Credential,
            )),
            (None, None, None, Some(attestation)) => {
                // `read_attestation` refused the accounts unless the pool names SAS settings.
                let accepted = pool
                    .attestation
                    .as_ref()
                    .ok_or(AllotError::AttestationNotConfigured)?;
                Ok((
                    attestation_clawback_reason(
                        accepted,
                        attestation.as_ref(),
                        record,
                        &pool.rule,
                        now,
                    )?,
                    EvidenceKind::Attestation,
                ))
            }
            (None, Some(list), Some(proof), None) => {
                check_list_is_current(list.period, pool.period_at(now)?, record)?;
                proof.verify(pool_key, list, user)?;
                Ok((
                    list_clawback_reason(proof.value, &pool.rule)?,
                    EvidenceKind::UserList,
                ))
            }
            _ => err!(AllotError::EvidenceMismatch),
        }
    }
}
