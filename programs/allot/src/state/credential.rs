//! A credential: a verifier's on-chain statement of a user's service indicators for a period.

use anchor_lang::prelude::*;

use crate::constants::INDICATOR_COUNT;
use crate::error::AllotError;
use crate::state::{AllocationRule, ClawbackReason};

/// Evidence about one user in one pool. PDA: `[SEED_CREDENTIAL, pool, user]`.
/// Written only by an active verifier of the pool; updated in place for each new period.
#[account]
#[derive(InitSpace, Debug)]
pub struct Credential {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool this credential is evidence for.
    pub pool: Pubkey,
    /// The user (wallet) the indicators describe.
    pub user: Pubkey,
    /// Authority key of the verifier that last wrote it.
    pub verifier: Pubkey,
    /// The allocation period the indicators cover.
    pub period: u64,
    /// Indicator values (slot meanings are the operator's published convention).
    pub indicators: [u64; INDICATOR_COUNT],
    /// When it was last written (unix seconds).
    pub issued_at: i64,
    /// After this time (unix seconds) the credential no longer supports holdings.
    pub expires_at: i64,
    /// Hash of the verifier's off-chain verification report.
    pub evidence_hash: [u8; 32],
    /// Set by the verifier to withdraw the evidence; cleared by a new issue.
    pub revoked: bool,
    /// Who paid its rent (the verifier key that first issued it): `credential_close` returns the
    /// rent there.
    pub rent_payer: Pubkey,
}

impl Credential {
    /// Whether the credential has expired at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// The indicator value the rule reads.
    pub fn indicator(&self, rule: &AllocationRule) -> u64 {
        self.indicators
            .get(usize::from(rule.indicator))
            .copied()
            .unwrap_or_default()
    }

    /// Checks that this credential supports an allocation in `period` at `now`,
    /// naming the first condition that fails.
    pub fn check_supports_allocation(
        &self,
        rule: &AllocationRule,
        period: u64,
        now: i64,
    ) -> Result<()> {
        require!(!self.revoked, AllotError::CredentialRevoked);
        require!(!self.is_expired(now), AllotError::CredentialExpired);
        require!(self.period == period, AllotError::CredentialWrongPeriod);
        let age = now.saturating_sub(self.issued_at);
        require!(age <= rule.credential_max_age, AllotError::CredentialTooOld);
        require!(rule.is_met_by(self.indicator(rule)), AllotError::RuleNotMet);
        Ok(())
    }

    /// Why the pool may recover a holder's allocated units at `now`, or `None` while the
    /// credential still supports them.
    pub fn clawback_reason(&self, rule: &AllocationRule, now: i64) -> Option<ClawbackReason> {
        if self.revoked {
            Some(ClawbackReason::CredentialRevoked)
        } else if self.is_expired(now) {
            Some(ClawbackReason::CredentialExpired)
        } else if !rule.is_met_by(self.indicator(rule)) {
            Some(ClawbackReason::IndicatorFails)
        } else {
            None
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::Comparison;

    const RULE: AllocationRule = AllocationRule {
        indicator: 1,
        comparison: Comparison::AtLeast,
        threshold: 500,
        amount: 10,
        credential_max_age: 100,
    };

    /// A live credential of period 3 (issued at 1,000, expiring at 2,000), indicator 1 at 500.
    pub(crate) fn credential() -> Credential {
        Credential {
            bump: 255,
            pool: Pubkey::new_unique(),
            user: Pubkey::new_unique(),
            verifier: Pubkey::new_unique(),
            period: 3,
            indicators: [0, 500, 0, 0],
            issued_at: 1_000,
            expires_at: 2_000,
            evidence_hash: [7; 32],
            revoked: false,
            rent_payer: Pubkey::new_unique(),
        }
    }

    fn code(r: Result<()>) -> AllotError {
        match r.unwrap_err() {
            anchor_lang::error::Error::AnchorError(e) => {
                AllotError::from_code(e.error_code_number).expect("an allot error")
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn valid_credential_supports_allocation_in_its_period() {
        credential()
            .check_supports_allocation(&RULE, 3, 1_050)
            .unwrap();
    }

    #[test]
    fn each_failing_condition_is_named() {
        let c = credential();
        assert_eq!(
            code(c.check_supports_allocation(&RULE, 4, 1_050)),
            AllotError::CredentialWrongPeriod
        );
        assert_eq!(
            code(c.check_supports_allocation(&RULE, 3, 1_101)),
            AllotError::CredentialTooOld
        );
        assert_eq!(
            code(c.check_supports_allocation(&RULE, 3, 2_000)),
            AllotError::CredentialExpired
        );
        let mut low = credential();
        low.indicators[1] = 499;
        assert_eq!(
            code(low.check_supports_allocation(&RULE, 3, 1_050)),
            AllotError::RuleNotMet
        );
        let mut revoked = credential();
        revoked.revoked = true;
        assert_eq!(
            code(revoked.check_supports_allocation(&RULE, 3, 1_050)),
            AllotError::CredentialRevoked
        );
    }

    #[test]
    fn clawback_only_when_evidence_no_longer_holds() {
        let c = credential();
        assert_eq!(c.clawback_reason(&RULE, 1_999), None);
        // Staleness alone (older than max age, later period) is not a reason to claw back.
        assert_eq!(c.clawback_reason(&RULE, 1_500), None);
        assert_eq!(
            c.clawback_reason(&RULE, 2_000),
            Some(ClawbackReason::CredentialExpired)
        );
        let mut low = credential();
        low.indicators[1] = 0;
        assert_eq!(
            low.clawback_reason(&RULE, 1_050),
            Some(ClawbackReason::IndicatorFails)
        );
        let mut revoked = credential();
        revoked.revoked = true;
        assert_eq!(
            revoked.clawback_reason(&RULE, 1_050),
            Some(ClawbackReason::CredentialRevoked)
        );
    }
}
