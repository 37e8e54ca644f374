//! The allocation rule a pool applies to a user's indicators, and the decisions derived from it.

use anchor_lang::prelude::*;

use crate::constants::INDICATOR_COUNT;
use crate::error::AllotError;

/// How an indicator value is compared with the rule's threshold.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// The value must be greater than or equal to the threshold (e.g. payment volume ≥ 1,000).
    AtLeast,
    /// The value must be less than or equal to the threshold (e.g. chargebacks ≤ 2).
    AtMost,
}

/// What a user must show to be allocated, and what an allocation gives.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationRule {
    /// Which indicator slot of the credential (or list leaf value) the rule reads, `< INDICATOR_COUNT`.
    pub indicator: u8,
    /// How the indicator is compared with `threshold`.
    pub comparison: Comparison,
    /// The threshold the indicator is compared with.
    pub threshold: u64,
    /// Units (in the mint's base units) given by one allocation.
    pub amount: u64,
    /// Oldest a credential may be (seconds since it was issued) to support an allocation.
    pub credential_max_age: i64,
}

impl AllocationRule {
    /// Checks that the rule can be applied: a real indicator slot, a positive amount, a usable age.
    pub fn validate(&self) -> Result<()> {
        require!(
            usize::from(self.indicator) < INDICATOR_COUNT,
            AllotError::InvalidRule
        );
        require!(self.amount > 0, AllotError::InvalidRule);
        require!(self.credential_max_age > 0, AllotError::InvalidRule);
        Ok(())
    }

    /// Whether an indicator value satisfies the rule.
    pub fn is_met_by(&self, value: u64) -> bool {
        match self.comparison {
            Comparison::AtLeast => value >= self.threshold,
            Comparison::AtMost => value <= self.threshold,
        }
    }
}

/// Which kind of evidence supported an allocation or a clawback.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceKind {
    /// A credential account written by an authorised verifier.
    Credential,
    /// A Merkle proof against the operator's published user list.
    UserList,
    /// An attestation of the Solana Attestation Service, from the pool's SAS issuer and schema.
    Attestation,
}

/// Why units were clawed back.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClawbackReason {
    /// The verifier revoked the user's credential.
    CredentialRevoked,
    /// The user's credential expired.
    CredentialExpired,
    /// The user's latest indicator (credential or user list) no longer meets the rule.
    IndicatorFails,
    /// The user's SAS attestation was closed (SAS revokes by closing).
    AttestationClosed,
    /// The user's SAS attestation expired.
    AttestationExpired,
    /// The attestation's signer is no longer an authorised signer of its SAS issuer.
    AttestationSignerRemoved,
    /// A verifier closed the user's credential (its rent went back to its payer).
    CredentialClosed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(comparison: Comparison) -> AllocationRule {
        AllocationRule {
            indicator: 0,
            comparison,
            threshold: 1_000,
            amount: 10,
            credential_max_age: 3_600,
        }
    }

    #[test]
    fn at_least_includes_the_threshold() {
        let r = rule(Comparison::AtLeast);
        assert!(r.is_met_by(1_000));
        assert!(r.is_met_by(u64::MAX));
        assert!(!r.is_met_by(999));
    }

    #[test]
    fn at_most_includes_the_threshold() {
        let r = rule(Comparison::AtMost);
        assert!(r.is_met_by(1_000));
        assert!(r.is_met_by(0));
        assert!(!r.is_met_by(1_001));
    }

    #[test]
    fn rule_with_unknown_indicator_or_zero_amount_is_invalid() {
        let mut r = rule(Comparison::AtLeast);
        assert!(r.validate().is_ok());
        r.indicator = INDICATOR_COUNT as u8;
        assert!(r.validate().is_err());
        r = rule(Comparison::AtLeast);
        r.amount = 0;
        assert!(r.validate().is_err());
        r = rule(Comparison::AtLeast);
        r.credential_max_age = 0;
        assert!(r.validate().is_err());
    }
}
