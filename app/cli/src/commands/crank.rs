//! `allot crank`: allocate to every eligible user and claw back from every ineligible holder.
//!
//! Users are found by scanning the pool's credential accounts and allocation records
//! (`getProgramAccounts` with memcmp filters; the records find holders whose credential or
//! attestation was closed), the SAS attestations of the schema the pool accepts (the same, over
//! SAS's accounts) and, with `--proofs`, the operator's user list. Each user is decided with the
//! program's own decision functions, so the crank sends only what the program will accept; a
//! second run finds nothing to do and sends nothing.
//!
//! A run goes through four stages, one module each: [`scan`] reads the chain, [`plan`] decides
//! what to send (pure, over the scan), [`execute`] sends it and [`render`] reports.

use allot::ListProof;
use allot::state::{
    AllocationRecord, AttestationView, ClawbackReason, Credential, Pool,
    attestation_clawback_reason, check_list_is_current, clawback_amount,
    closed_credential_clawback_reason, credential_clawback_reason, list_clawback_reason,
};
use allot_client::chain::Chain;
use allot_client::instructions::Evidence;
use anyhow::{Result, ensure};

use crate::args::CrankArgs;
use crate::batch::BatchReport;
use crate::context::Context;
use crate::outcome::Outcome;
use plan::Plan;

pub mod close;
pub mod execute;
pub mod plan;
pub mod render;
pub mod scan;

/// What the crank does for one user.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Allocate this period's amount with this evidence.
    Allocate(Evidence),
    /// Claw back the user's clawable units with this evidence.
    Clawback(Evidence),
    /// Nothing, for this reason.
    Skip(String),
}

/// Everything known about one user of the pool.
#[derive(Clone, Debug, Default)]
pub struct UserView {
    /// The user's credential, if any.
    pub credential: Option<Credential>,
    /// The user's entry in the operator's list (its period and proof), if any.
    pub listed: Option<(u64, ListProof)>,
    /// The user's SAS attestation under the schema the pool accepts, as read, if any.
    pub attestation: Option<AttestationView>,
    /// An account sits at the user's attestation address but could not be read (the scan names
    /// it): not a closed attestation, so no clawback on an empty address.
    pub attestation_unreadable: bool,
    /// The user's allocation record, if any.
    pub record: Option<AllocationRecord>,
    /// Units the user holds.
    pub holding: u64,
    /// Whether the user's token account exists (else the allocation pays for it).
    pub has_token_account: bool,
}

/// Decides what to do for one user at `now` in `period`, by the rules the program applies.
pub fn decide(pool: &Pool, period: u64, now: i64, user: &UserView) -> Decision {
    if pool.is_retired() {
        return Decision::Skip("pool retired".into());
    }
    let rule = &pool.rule;
    let allocated_this_period = user
        .record
        .as_ref()
        .is_some_and(|r| r.check_can_allocate(period).is_err());
    // The program's own clawback decisions: something to take, and evidence that allows it.
    let clawback_by =
        |reason: &dyn Fn(&AllocationRecord) -> anchor_lang::Result<ClawbackReason>| {
            user.record.as_ref().is_some_and(|record| {
                clawback_amount(record, user.holding).is_ok() && reason(record).is_ok()
            })
        };

    // A holder last allocated on an attestation is clawed back on it when it no longer holds
    // (the program takes the attestation only for such a holder).
    if let (Some(view), Some(accepted)) = (&user.attestation, &pool.attestation)
        && clawback_by(&|record| {
            attestation_clawback_reason(accepted, Some(view), record, rule, now)
        })
    {
        return Decision::Clawback(attestation_evidence(pool));
    }

    // Evidence that is gone — a credential its verifier closed, an attestation its issuer closed
    // — counts against a holder last allocated on that kind. Such holders are found by their
    // records (the scan lists the pool's records), not by the accounts that are gone.
    if user.credential.is_none() && clawback_by(&closed_credential_clawback_reason) {
        return Decision::Clawback(Evidence::Credential);
    }
    if let (None, Some(accepted)) = (&user.attestation, &pool.attestation)
        && !user.attestation_unreadable
        && clawback_by(&|record| attestation_clawback_reason(accepted, None, record, rule, now))
    {
        return Decision::Clawback(attestation_evidence(pool));
    }

    // One source of evidence decides per user: the newer of the credential and the list entry
    // (the credential on a tie), else the attestation. Using one source keeps runs idempotent
    // when they disagree.
    let credential_period = user.credential.as_ref().map(|c| c.period);
    let list_decides = match (&user.listed, credential_period) {
        (Some((list_period, _)), Some(credential_period)) => *list_period > credential_period,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if list_decides {
        let (list_period, proof) = user.listed.as_ref().expect("list decides only when listed");
        if clawback_by(&|record| {
            check_list_is_current(*list_period, period, record)?;
            list_clawback_reason(proof.value, rule)
        }) {
            return Decision::Clawback(Evidence::UserList {
                period: *list_period,
                proof: proof.clone(),
            });
        }
        if allocated_this_period {
            return Decision::Skip("already allocated this period".into());
        }
        if *list_period != period {
            return Decision::Skip("no evidence for this period".into());
        }
        if !rule.is_met_by(proof.value) {
            return Decision::Skip("list value does not meet the rule".into());
        }
        if pool.paused {
            return Decision::Skip("pool paused".into());
        }
        return Decision::Allocate(Evidence::UserList {
            period,
            proof: proof.clone(),
        });
    }
    let Some(credential) = &user.credential else {
        return decide_on_attestation(pool, now, user, allocated_this_period);
    };
    if clawback_by(&|record| credential_clawback_reason(credential, record, rule, now)) {
        return Decision::Clawback(Evidence::Credential);
    }
    if allocated_this_period {
        return Decision::Skip("already allocated this period".into());
    }
    if pool.paused {
        return Decision::Skip("pool paused".into());
    }
    match credential.check_supports_allocation(rule, period, now) {
        Ok(()) => Decision::Allocate(Evidence::Credential),
        Err(e) => Decision::Skip(allot_client::errors::refusal(&e)),
    }
}

/// Decides for a user with neither a credential nor a list entry deciding: allocates on a SAS
/// attestation that supports it (the pool accepting one).
fn decide_on_attestation(
    pool: &Pool,
    now: i64,
    user: &UserView,
    allocated_this_period: bool,
) -> Decision {
    let (Some(view), Some(_)) = (&user.attestation, &pool.attestation) else {
        return Decision::Skip("no evidence for this period".into());
    };
    if allocated_this_period {
        return Decision::Skip("already allocated this period".into());
    }
    if pool.paused {
        return Decision::Skip("pool paused".into());
    }
    match view.check_supports_allocation(&pool.rule, now) {
        Ok(()) => Decision::Allocate(attestation_evidence(pool)),
        Err(e) => Decision::Skip(allot_client::errors::refusal(&e)),
    }
}

/// The pool's SAS evidence as the instructions take it (called only when the pool accepts
/// attestations).
fn attestation_evidence(pool: &Pool) -> Evidence {
    let accepted = pool
        .attestation
        .expect("called only for a pool that accepts attestations");
    Evidence::from(&accepted)
}

/// Runs the crank: scans the chain, plans what to send, sends it (unless `--dry-run`) and reports.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, args: CrankArgs, quiet: bool) -> Result<Outcome> {
    if args.close {
        return close::run(ctx, &args, quiet).await;
    }
    let scan = scan::scan(ctx, &args).await?;
    let max_per_transaction = usize::from(args.max_per_transaction);
    let Plan {
        transactions,
        tally,
    } = plan::plan(&scan, &ctx.signer, max_per_transaction);
    let report = if args.dry_run {
        BatchReport::default()
    } else {
        let parallel = usize::from(args.parallel);
        execute::execute(ctx, &scan.tables, transactions, &tally, parallel, quiet).await?
    };
    let outcome = render::render(&scan, &args, &tally, &report);
    ensure!(report.failed.is_empty(), "{}", outcome.lines.join("\n"));
    Ok(outcome)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use allot::state::{
        AllocationRule, Comparison, ExchangeConfig, ExchangeState, PoolTotals, ResourceKind,
    };
    use anchor_lang::prelude::Pubkey;

    pub(super) const PERIOD: i64 = 86_400;

    pub(super) fn pool() -> Pool {
        Pool {
            bump: 255,
            mint_bump: 255,
            creator: Pubkey::new_unique(),
            pool_id: 1,
            operator: Pubkey::new_unique(),
            pending_operator: None,
            kind: ResourceKind::VirtualStock,
            mint: Pubkey::new_unique(),
            vault: Pubkey::new_unique(),
            decimals: 0,
            transferable: true,
            paused: false,
            rule: AllocationRule {
                indicator: 0,
                comparison: Comparison::AtLeast,
                threshold: 1_000,
                amount: 10,
                credential_max_age: PERIOD,
            },
            period_origin: 0,
            period_seconds: PERIOD,
            supply_cap: 1_000_000,
            totals: PoolTotals::default(),
            active_verifiers: 1,
            escrow: Pubkey::new_unique(),
            escrow_bump: 255,
            exchange: ExchangeConfig::closed(Pubkey::new_unique()),
            exchange_state: ExchangeState::default(),
            shard_count: 0,
            attestation: None,
            retired_at: 0,
        }
    }

    pub(super) fn credential(period: u64, volume: u64, revoked: bool) -> Credential {
        Credential {
            bump: 255,
            pool: Pubkey::new_unique(),
            user: Pubkey::new_unique(),
            verifier: Pubkey::new_unique(),
            period,
            indicators: [volume, 0, 0, 0],
            issued_at: period as i64 * PERIOD,
            expires_at: (period as i64 + 2) * PERIOD,
            evidence_hash: [0; 32],
            revoked,
            rent_payer: Pubkey::new_unique(),
        }
    }

    pub(super) fn record(last_period: u64, allocated: u64) -> AllocationRecord {
        AllocationRecord {
            bump: 255,
            pool: Pubkey::new_unique(),
            user: Pubkey::new_unique(),
            rent_payer: Pubkey::new_unique(),
            allocations: 1,
            last_period,
            allocated,
            ..AllocationRecord::empty()
        }
    }

    #[test]
    fn qualifying_credential_allocates_once_per_period() {
        let pool = pool();
        let now = 2 * PERIOD + 10;
        let mut user = UserView {
            credential: Some(credential(2, 5_000, false)),
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Allocate(Evidence::Credential)
        );
        user.record = Some(record(2, 10));
        user.holding = 10;
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Skip("already allocated this period".into())
        );
    }

    #[test]
    fn revoked_or_failing_credential_claws_back_only_what_is_held() {
        let pool = pool();
        let now = 2 * PERIOD + 10;
        let mut user = UserView {
            credential: Some(credential(2, 5_000, true)),
            record: Some(record(2, 10)),
            holding: 10,
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Clawback(Evidence::Credential)
        );
        user.credential = Some(credential(2, 10, false));
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Clawback(Evidence::Credential)
        );
        // Nothing held: the clawback still records the units as owed, once.
        user.holding = 0;
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Clawback(Evidence::Credential)
        );
        user.record.as_mut().unwrap().debt = 10;
        assert!(matches!(decide(&pool, 2, now, &user), Decision::Skip(_)));
    }

    #[test]
    fn a_closed_credential_claws_back_a_holder_last_allocated_on_one() {
        let pool = pool();
        let now = 2 * PERIOD + 10;
        // Known only by its record: the credential's address is empty.
        let mut user = UserView {
            record: Some(record(1, 10)),
            holding: 10,
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Clawback(Evidence::Credential)
        );
        // Not a holder last allocated on a list: an empty credential address says nothing.
        let mut listed = record(1, 10);
        listed.evidence = allot::state::EvidenceKind::UserList;
        user.record = Some(listed);
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Skip("no evidence for this period".into())
        );
        // Nothing held and all of it already owed: nothing left to do.
        let mut owed = record(1, 10);
        owed.debt = 10;
        user.record = Some(owed);
        user.holding = 0;
        assert!(matches!(decide(&pool, 2, now, &user), Decision::Skip(_)));
    }

    #[test]
    fn a_retired_pool_is_left_alone() {
        let pool = Pool {
            retired_at: 1,
            ..pool()
        };
        let user = UserView {
            credential: Some(credential(2, 5_000, true)),
            record: Some(record(1, 10)),
            holding: 10,
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, 2 * PERIOD + 10, &user),
            Decision::Skip("pool retired".into())
        );
    }

    #[test]
    fn evidence_older_than_the_allocation_claws_nothing_back() {
        let pool = pool();
        let now = 3 * PERIOD + 10;
        let user = UserView {
            credential: Some(credential(1, 10, false)),
            record: Some(record(2, 10)),
            holding: 10,
            ..Default::default()
        };
        assert!(matches!(decide(&pool, 3, now, &user), Decision::Skip(_)));
    }

    pub(super) fn listed(period: u64, value: u64) -> Option<(u64, ListProof)> {
        Some((
            period,
            ListProof {
                value,
                proof: vec![],
            },
        ))
    }

    #[test]
    fn newer_list_entry_claws_back_despite_an_old_credential() {
        let pool = pool();
        let now = 6 * PERIOD + 10;
        let user = UserView {
            credential: Some(credential(3, 5_000, false)),
            listed: listed(6, 10),
            record: Some(record(5, 10)),
            holding: 10,
            ..Default::default()
        };
        assert!(matches!(
            decide(&pool, 6, now, &user),
            Decision::Clawback(Evidence::UserList { period: 6, .. })
        ));
    }

    #[test]
    fn conflicting_evidence_of_one_period_settles_after_one_action() {
        let pool = pool();
        let now = 2 * PERIOD + 10;
        // Revoked credential and a passing list entry, both of period 2: the credential decides.
        let mut user = UserView {
            credential: Some(credential(2, 5_000, true)),
            listed: listed(2, 5_000),
            record: Some(record(2, 10)),
            holding: 10,
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Clawback(Evidence::Credential)
        );
        user.record.as_mut().unwrap().clawed_back = 10;
        user.holding = 0;
        assert!(
            matches!(decide(&pool, 2, now, &user), Decision::Skip(_)),
            "no allocation by list after the clawback"
        );
    }

    #[test]
    fn paused_pool_allocates_nothing_but_still_claws_back() {
        let mut pool = pool();
        pool.paused = true;
        let now = 2 * PERIOD + 10;
        let user = UserView {
            credential: Some(credential(2, 5_000, false)),
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Skip("pool paused".into())
        );
        let user = UserView {
            credential: Some(credential(2, 5_000, true)),
            record: Some(record(2, 10)),
            holding: 10,
            ..Default::default()
        };
        assert_eq!(
            decide(&pool, 2, now, &user),
            Decision::Clawback(Evidence::Credential)
        );
    }
}
