//! The decision of `clawback`, pure: whether a holder's allocated units may be recovered with a
//! piece of evidence, and how many. The handler calls these, and so does the crank's plan, so the
//! crank never sends a clawback the program would refuse.

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::state::{
    AllocationRecord, AllocationRule, AttestationEvidence, AttestationView, ClawbackReason,
    Credential, EvidenceKind,
};

/// Refuses evidence about a period before the user's last allocation: it cannot take back what
/// newer evidence granted.
pub fn check_evidence_is_current(evidence_period: u64, record: &AllocationRecord) -> Result<()> {
    require!(
        evidence_period >= record.last_period,
        AllotError::EvidenceOlderThanAllocation
    );
    Ok(())
}

/// Refuses a user list as clawback evidence unless its period has begun (`current_period` is the
/// pool's period now: a future list's root could still be replaced after it took units back)
/// and is not before the user's last allocation.
pub fn check_list_is_current(
    list_period: u64,
    current_period: u64,
    record: &AllocationRecord,
) -> Result<()> {
    require!(
        list_period <= current_period,
        AllotError::UserListFromFuturePeriod
    );
    check_evidence_is_current(list_period, record)
}

/// Why `credential` lets the pool recover the holder's units at `now` (revoked, expired, or an
/// indicator that no longer meets `rule`), or `ConditionsStillHold`. Checks the evidence's
/// period first.
pub fn credential_clawback_reason(
    credential: &Credential,
    record: &AllocationRecord,
    rule: &AllocationRule,
    now: i64,
) -> Result<ClawbackReason> {
    check_evidence_is_current(credential.period, record)?;
    credential
        .clawback_reason(rule, now)
        .ok_or_else(|| error!(AllotError::ConditionsStillHold))
}

/// Why a closed credential (its address empty) lets the pool recover the holder's units: it
/// counts as revoked, but only for a holder whose last allocation a credential supported
/// (`record.evidence`); for one allocated on a list or an attestation an empty credential
/// address proves nothing.
pub fn closed_credential_clawback_reason(record: &AllocationRecord) -> Result<ClawbackReason> {
    require!(
        record.evidence == EvidenceKind::Credential,
        AllotError::EvidenceNotOfLastAllocation
    );
    Ok(ClawbackReason::CredentialClosed)
}

/// Why the user's attestation (`None`: its address empty, closed by its issuer) under the pool's
/// current SAS settings `accepted` lets the pool recover the holder's units at `now`, or
/// `ConditionsStillHold`. Only for a holder whose last allocation an attestation supported
/// (`record.evidence`), under these settings (allocated after `accepted.accepted_at`): an empty
/// address says nothing about a holder allocated on a credential, a list, or another schema.
pub fn attestation_clawback_reason(
    accepted: &AttestationEvidence,
    view: Option<&AttestationView>,
    record: &AllocationRecord,
    rule: &AllocationRule,
    now: i64,
) -> Result<ClawbackReason> {
    require!(
        record.evidence == EvidenceKind::Attestation,
        AllotError::EvidenceNotOfLastAllocation
    );
    require!(
        record.last_allocated_at > accepted.accepted_at,
        AllotError::AttestationSchemaChanged
    );
    let Some(view) = view else {
        return Ok(ClawbackReason::AttestationClosed);
    };
    if !view.signer_authorised {
        Ok(ClawbackReason::AttestationSignerRemoved)
    } else if view.is_expired(now) {
        Ok(ClawbackReason::AttestationExpired)
    } else if !rule.is_met_by(view.value) {
        Ok(ClawbackReason::IndicatorFails)
    } else {
        err!(AllotError::ConditionsStillHold)
    }
}

/// Why a user-list entry of `value` lets the pool recover the holder's units (its proof checked
/// by the caller), or `ConditionsStillHold`.
pub fn list_clawback_reason(value: u64, rule: &AllocationRule) -> Result<ClawbackReason> {
    require!(!rule.is_met_by(value), AllotError::ConditionsStillHold);
    Ok(ClawbackReason::IndicatorFails)
}

/// The units a clawback takes from a holder of `held` units: what is still clawable of their
/// allocations, at most what they hold. It may take none and still land when it records a debt
/// (units moved away before it: [`AllocationRecord::debt`]); `NothingToClawBack` when it would
/// change nothing (nothing clawable, or all of it already owed and nothing held).
pub fn clawback_amount(record: &AllocationRecord, held: u64) -> Result<u64> {
    let clawable = record.clawable();
    let amount = clawable.min(held);
    require!(
        amount > 0 || record.debt < clawable,
        AllotError::NothingToClawBack
    );
    Ok(amount)
}
