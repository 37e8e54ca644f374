//! The decision of `allocate` and `allocate_sharded` on a credential or a SAS attestation,
//! pure: may this user be
//! allocated now, and how many units. The handlers check the same rules in the same order (the
//! pool's pause, then `PresentedEvidence`, `AllocationRecord::record_allocation` and their
//! source's balance); the page's status asks this function, and the property test checks that
//! the program agrees with it.

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::state::{AllocationRecord, AttestationView, Credential, Pool};

/// Where an allocation's units come from, with the units it holds for allocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationSource {
    /// The pool's vault (`allocate`), holding this many base units. Ignored for a
    /// non-transferable pool, which mints under its supply cap instead.
    Vault(u64),
    /// An allocation shard (`allocate_sharded`), holding this many base units by its own books
    /// (`AllocationShard::expected_balance`).
    Shard(u64),
}

/// The evidence a client read for an allocation, in the form the program's rules take.
#[derive(Clone, Copy, Debug)]
pub enum HeldEvidence<'a> {
    /// The user's credential in the pool.
    Credential(&'a Credential),
    /// The user's SAS attestation, read with its issuer ([`crate::state::AttestationEvidence::view`]).
    Attestation(&'a AttestationView),
}

/// Whether the holder of `evidence` (and of `record`, once allocated before) may be allocated
/// from `source` of `pool` at `now`, checked in the program's order (the first failing rule is the
/// refusal): pool not retired nor paused; the evidence supports the rule for the period now; no allocation
/// yet in that period; the source holds the rule's amount (or, for a pool that mints, the
/// supply cap allows it). Returns the units the allocation moves.
pub fn check_can_allocate_on(
    pool: &Pool,
    evidence: HeldEvidence,
    record: Option<&AllocationRecord>,
    source: AllocationSource,
    now: i64,
) -> Result<u64> {
    pool.check_not_retired()?;
    require!(!pool.paused, AllotError::PoolPaused);
    let period = pool.period_at(now)?;
    match evidence {
        HeldEvidence::Credential(credential) => {
            credential.check_supports_allocation(&pool.rule, period, now)?
        }
        HeldEvidence::Attestation(attestation) => {
            attestation.check_supports_allocation(&pool.rule, now)?
        }
    }
    if let Some(record) = record {
        record.check_can_allocate(period)?;
        // Repaying a debt moves units to the pool, which a sharded allocation does not write.
        if matches!(source, AllocationSource::Shard(_)) {
            require!(record.debt == 0, AllotError::ClawbackDebtOutstanding);
        }
    }
    let amount = pool.rule.amount;
    match source {
        AllocationSource::Shard(held) => require!(held >= amount, AllotError::ShardInsufficient),
        AllocationSource::Vault(held) if pool.transferable => {
            require!(held >= amount, AllotError::VaultInsufficient)
        }
        AllocationSource::Vault(_) => {
            pool.minted_after(amount)?;
        }
    }
    Ok(amount)
}

/// [`check_can_allocate_on`] a credential.
pub fn check_can_allocate_on_credential(
    pool: &Pool,
    credential: &Credential,
    record: Option<&AllocationRecord>,
    source: AllocationSource,
    now: i64,
) -> Result<u64> {
    check_can_allocate_on(
        pool,
        HeldEvidence::Credential(credential),
        record,
        source,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::allocation_record::tests::fresh;
    use crate::state::pool::tests::pool;

    /// Period 3 of the test pool.
    const NOW: i64 = 1_310;

    /// A credential of period 3 issued 10 s ago whose indicator 0 meets the test pool's rule.
    fn credential() -> Credential {
        Credential {
            indicators: [5, 0, 0, 0],
            issued_at: 1_300,
            expires_at: 5_000,
            ..crate::state::credential::tests::credential()
        }
    }

    fn allocated_in(period: u64) -> AllocationRecord {
        let mut record = fresh();
        record.record_allocation(period, 10, 1_000).unwrap();
        record
    }

    fn refusal(result: Result<u64>) -> AllotError {
        match result.unwrap_err() {
            anchor_lang::error::Error::AnchorError(e) => {
                AllotError::from_code(e.error_code_number).expect("an allot error")
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn a_supported_user_gets_the_rule_amount_from_a_source_that_holds_it() {
        let (p, c) = (pool(), credential());
        for source in [AllocationSource::Vault(10), AllocationSource::Shard(10)] {
            assert_eq!(
                check_can_allocate_on_credential(&p, &c, None, source, NOW).unwrap(),
                10
            );
        }
        let last_period = allocated_in(2);
        let again = check_can_allocate_on_credential(
            &p,
            &c,
            Some(&last_period),
            AllocationSource::Vault(10),
            NOW,
        );
        assert_eq!(again.unwrap(), 10);
    }

    #[test]
    fn each_rule_refuses_with_its_own_error() {
        let p = pool();
        let c = credential();
        let vault = AllocationSource::Vault(10);
        let check = |p: &Pool, c: &Credential, r: Option<&AllocationRecord>, s| {
            refusal(check_can_allocate_on_credential(p, c, r, s, NOW))
        };
        let paused = Pool {
            paused: true,
            ..pool()
        };
        assert_eq!(check(&paused, &c, None, vault), AllotError::PoolPaused);
        let retired = Pool {
            retired_at: 5,
            paused: true,
            ..pool()
        };
        assert_eq!(check(&retired, &c, None, vault), AllotError::PoolRetired);
        let revoked = Credential {
            revoked: true,
            ..credential()
        };
        assert_eq!(
            check(&p, &revoked, None, vault),
            AllotError::CredentialRevoked
        );
        let old_period = Credential {
            period: 2,
            ..credential()
        };
        assert_eq!(
            check(&p, &old_period, None, vault),
            AllotError::CredentialWrongPeriod
        );
        let failing = Credential {
            indicators: [0; 4],
            ..credential()
        };
        assert_eq!(check(&p, &failing, None, vault), AllotError::RuleNotMet);
        let this_period = allocated_in(3);
        assert_eq!(
            check(&p, &c, Some(&this_period), vault),
            AllotError::AlreadyAllocatedThisPeriod
        );
        assert_eq!(
            check(&p, &c, None, AllocationSource::Vault(9)),
            AllotError::VaultInsufficient
        );
        assert_eq!(
            check(&p, &c, None, AllocationSource::Shard(9)),
            AllotError::ShardInsufficient
        );
    }

    #[test]
    fn a_pool_that_mints_is_bounded_by_its_supply_cap_not_its_vault() {
        let mut p = Pool {
            transferable: false,
            ..pool()
        };
        p.totals.minted = 90;
        let empty_vault = AllocationSource::Vault(0);
        let c = credential();
        assert_eq!(
            check_can_allocate_on_credential(&p, &c, None, empty_vault, NOW).unwrap(),
            10
        );
        p.totals.minted = 91;
        let over = check_can_allocate_on_credential(&p, &c, None, empty_vault, NOW);
        assert_eq!(refusal(over), AllotError::SupplyCapExceeded);
    }

    #[test]
    fn the_first_failing_rule_in_the_programs_order_is_the_refusal() {
        let everything_wrong = Pool {
            paused: true,
            ..pool()
        };
        let revoked = Credential {
            revoked: true,
            ..credential()
        };
        let this_period = allocated_in(3);
        let empty = AllocationSource::Vault(0);
        let check = |p: &Pool, c: &Credential, r: Option<&AllocationRecord>| {
            refusal(check_can_allocate_on_credential(p, c, r, empty, NOW))
        };
        assert_eq!(
            check(&everything_wrong, &revoked, Some(&this_period)),
            AllotError::PoolPaused
        );
        assert_eq!(
            check(&pool(), &revoked, Some(&this_period)),
            AllotError::CredentialRevoked
        );
        assert_eq!(
            check(&pool(), &credential(), Some(&this_period)),
            AllotError::AlreadyAllocatedThisPeriod
        );
        assert_eq!(
            check(&pool(), &credential(), None),
            AllotError::VaultInsufficient
        );
    }

    #[test]
    fn an_attestation_is_checked_in_the_credentials_place() {
        let live = AttestationView {
            value: 5,
            expiry: 0,
            signer_authorised: true,
            accepted_at: NOW - 1,
        };
        let vault = AllocationSource::Vault(10);
        let on = |p: &Pool, a: &AttestationView, r: Option<&AllocationRecord>, s| {
            check_can_allocate_on(p, HeldEvidence::Attestation(a), r, s, NOW)
        };
        assert_eq!(on(&pool(), &live, None, vault).unwrap(), 10);
        let expired = AttestationView {
            expiry: NOW,
            ..live
        };
        let this_period = allocated_in(3);
        let paused = Pool {
            paused: true,
            ..pool()
        };
        let empty = AllocationSource::Vault(0);
        assert_eq!(
            refusal(on(&paused, &expired, Some(&this_period), empty)),
            AllotError::PoolPaused
        );
        assert_eq!(
            refusal(on(&pool(), &expired, Some(&this_period), empty)),
            AllotError::AttestationExpired
        );
        assert_eq!(
            refusal(on(&pool(), &live, Some(&this_period), empty)),
            AllotError::AlreadyAllocatedThisPeriod
        );
        assert_eq!(
            refusal(on(&pool(), &live, None, empty)),
            AllotError::VaultInsufficient
        );
    }
}
