//! `allot crank`: allocate to every eligible user and claw back from every ineligible holder.
//!
//! Users are found by scanning the pool's credential accounts (`getProgramAccounts` with memcmp
//! filters) and, with `--proofs`, the operator's user list. Each user is decided with the
//! program's own decision functions, so the crank sends only what the program will accept; a
//! second run finds nothing to do and sends nothing.

use std::collections::{BTreeMap, BTreeSet};

use allot::ListProof;
use allot::state::{
    AllocationRecord, ClawbackReason, Credential, Pool, UserList, check_list_is_current,
    clawback_amount, credential_clawback_reason, list_clawback_reason,
};
use allot_client::chain::Chain;
use allot_client::instructions::Evidence;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::Space;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use serde_json::json;

use crate::args::CrankArgs;
use crate::batch::{self, Job};
use crate::commands::operator_shards;
use crate::commands::user::USER_TOKEN_ACCOUNT_BYTES;
use crate::context::Context;
use crate::lookup_table;
use crate::outcome::Outcome;
use crate::records::ProofsFile;
use crate::shard_plan::{self, Source, Supply};

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
    /// The user's allocation record, if any.
    pub record: Option<AllocationRecord>,
    /// Units the user holds.
    pub holding: u64,
    /// Whether the user's token account exists (else the allocation pays for it).
    pub has_token_account: bool,
}

/// Decides what to do for one user at `now` in `period`, by the rules the program applies.
pub fn decide(pool: &Pool, period: u64, now: i64, user: &UserView) -> Decision {
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

    // One source of evidence decides per user: the newer of the credential and the list entry
    // (the credential on a tie). Using one source keeps runs idempotent when the two disagree.
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
        return Decision::Skip("no evidence for this period".into());
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

/// Runs the crank.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, args: CrankArgs, quiet: bool) -> Result<Outcome> {
    let address = args.pool.pool;
    let pool = ctx.pool(&address).await?;
    let (now, period) = ctx.now_and_period(&pool).await?;

    let mut views: BTreeMap<Pubkey, UserView> = BTreeMap::new();
    // Whether the user list was already used by an allocation (which seals its root); only then
    // may list allocations draw on shards.
    let mut list_sealed = false;
    for (_, credential) in accounts::credentials_of_pool(ctx.chain, &address).await? {
        let user = credential.user;
        views.entry(user).or_default().credential = Some(credential);
    }
    if let Some(path) = &args.proofs {
        let file = ProofsFile::read(path, &address)?;
        let list = accounts::fetch::<UserList>(ctx.chain, pdas::user_list(&address, file.period))
            .await?
            .with_context(|| {
                format!(
                    "the list of period {} in {} is not published",
                    file.period,
                    path.display()
                )
            })?;
        list_sealed = list.is_sealed();
        ensure!(
            hex::encode(list.root) == file.root,
            "{} does not match the root published for period {}",
            path.display(),
            file.period
        );
        for user in file.users()? {
            let proof = file.proof_of(&user)?.expect("listed users have proofs");
            views.entry(user).or_default().listed = Some((file.period, proof));
        }
    }
    let partition = args.partition;
    views.retain(|user, _| partition.has_user(user));
    let users: Vec<Pubkey> = views.keys().copied().collect();
    let record_addresses: Vec<Pubkey> = users
        .iter()
        .map(|u| pdas::allocation_record(&address, u))
        .collect();
    let records = accounts::fetch_many::<AllocationRecord>(ctx.chain, &record_addresses).await?;
    let tokens = ctx
        .chain
        .accounts(
            users
                .iter()
                .map(|u| pdas::token_account(u, &pool.mint))
                .collect(),
        )
        .await?;
    for ((user, record), token) in users.iter().zip(records).zip(tokens) {
        let view = views.get_mut(user).expect("user from the map");
        view.record = record;
        let token = token.filter(|a| !accounts::is_prefunded(a));
        view.has_token_account = token.is_some();
        view.holding = token.map_or(0, |a| {
            allot_client::token::amount_base_units(&a.data).unwrap_or(0)
        });
    }

    // Decide, keeping allocations within what the vault and the shards can still give.
    let vault = if pool.transferable {
        ctx.chain.account(pool.vault).await?.map_or(0, |a| {
            allot_client::token::amount_base_units(&a.data).unwrap_or(0)
        })
    } else {
        pool.supply_cap.saturating_sub(pool.totals.minted)
    };
    let shards = if args.no_shards {
        Vec::new()
    } else {
        let mut budgets = shard_plan::load_budgets(ctx.chain, &address, &pool).await?;
        budgets.retain(|b| partition.has_shard(b.index));
        budgets
    };
    // Cranks in N partitions share the vault: each plans with its share of it.
    let vault = vault / u64::from(partition.count);
    let mut supply = Supply { vault, shards };
    let mut jobs = Vec::new();
    let mut shard_lanes: BTreeMap<u16, Vec<Job>> = BTreeMap::new();
    let mut sealing: Option<Job> = None;
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let (mut allocations, mut clawbacks, mut clawed_units, mut new_records) =
        (0usize, 0usize, 0u64, 0usize);
    let mut new_token_accounts = BTreeSet::new();
    for (user, view) in &views {
        match decide(&pool, period, now, view) {
            Decision::Allocate(evidence) => {
                // The list's first allocation comes from the vault: it seals the root, which a
                // sharded allocation (not writing the list) cannot do.
                let seals = matches!(evidence, Evidence::UserList { .. })
                    && !list_sealed
                    && sealing.is_none();
                let Some(source) = supply.take(pool.rule.amount, seals) else {
                    let reason = if seals {
                        "the user list's first allocation must come from the pool's vault (it seals the root): fund the vault"
                    } else {
                        "pool supply exhausted"
                    };
                    *skipped.entry(reason.into()).or_default() += 1;
                    continue;
                };
                allocations += 1;
                new_records += usize::from(view.record.is_none());
                if !view.has_token_account {
                    new_token_accounts.insert(*user);
                }
                let label = format!("allocate {user}");
                match source {
                    Source::Vault => {
                        let job = Job {
                            label,
                            instruction: instructions::allocate(
                                &ctx.me(),
                                &address,
                                user,
                                evidence,
                            ),
                        };
                        if seals {
                            sealing = Some(job);
                        } else {
                            jobs.push(job);
                        }
                    }
                    Source::Shard(index) => shard_lanes.entry(index).or_default().push(Job {
                        label,
                        instruction: instructions::allocate_sharded(
                            &ctx.me(),
                            &address,
                            user,
                            index,
                            evidence,
                        ),
                    }),
                }
            }
            Decision::Clawback(evidence) => {
                clawbacks += 1;
                clawed_units += view
                    .record
                    .as_ref()
                    .map_or(0, |r| clawback_amount(r, view.holding).unwrap_or(0));
                jobs.push(Job {
                    label: format!("claw back {user}"),
                    instruction: instructions::clawback(&address, user, evidence),
                });
            }
            Decision::Skip(reason) => *skipped.entry(reason).or_default() += 1,
        }
    }

    let tables = match &args.lookup_table {
        Some(table) => vec![lookup_table::load(ctx.chain, table).await?],
        None => Vec::new(),
    };
    let mut outcome = Outcome::default();
    let missing_shards = tables.first().is_some_and(|table| {
        shard_lanes
            .keys()
            .any(|index| !table.addresses.contains(&pdas::shard(&address, *index)))
    });
    if missing_shards {
        outcome = outcome.line(format!(
            "  note: lookup table {} does not hold the pool's shards (made before `operator shards`?): sharded transactions carry their keys in full; `allot lookup-table create --pool {address}` makes one that does",
            tables[0].key
        ));
    }
    let per_transaction = usize::from(args.max_per_transaction);
    let sharded_allocations: usize = shard_lanes.values().map(Vec::len).sum();
    let used_shards: Vec<u16> = shard_lanes.keys().copied().collect();
    let mut lanes = vec![batch::pack(&ctx.signer, jobs, per_transaction, &tables)];
    for lane in shard_lanes.into_values() {
        lanes.push(batch::pack(&ctx.signer, lane, per_transaction, &tables));
    }
    let groups = shard_plan::interleave(lanes);
    // After the allocations, the shards used are swept so the pool's totals count them.
    let sweeps = batch::pack(
        &ctx.signer,
        operator_shards::sweep_jobs(&address, used_shards.iter().copied()),
        per_transaction,
        &tables,
    );
    let sealing = sealing.map(|job| vec![vec![job]]).unwrap_or_default();
    let largest_transaction = groups
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(usize::from(!sealing.is_empty()));
    let planned_transactions = sealing.len() + groups.len() + sweeps.len();
    let report = if args.dry_run || planned_transactions == 0 {
        batch::BatchReport::default()
    } else {
        let mut sizes = vec![8 + AllocationRecord::INIT_SPACE; new_records];
        sizes.extend(std::iter::repeat_n(
            USER_TOKEN_ACCOUNT_BYTES,
            new_token_accounts.len(),
        ));
        ctx.ensure_can_pay(planned_transactions as u64, &sizes)
            .await?;
        let parallel = usize::from(args.parallel);
        let mut report = batch::BatchReport::default();
        // In order: the sealing allocation, the allocations and clawbacks, the sweeps.
        for (stage, what) in [(sealing, "seal list"), (groups, "crank"), (sweeps, "sweep")] {
            let jobs = stage.iter().map(Vec::len).sum();
            let bar = batch::progress(jobs, what, quiet || jobs == 0);
            report.absorb(batch::send_all(ctx, &tables, stage, parallel, &bar).await);
        }
        report
    };
    for (job, error) in &report.failed {
        outcome = outcome.line(format!("  {job}: {error}"));
    }
    for (reason, count) in &skipped {
        outcome = outcome.line(format!("  skipped {count}: {reason}"));
    }
    let verb = if args.dry_run { "would send" } else { "sent" };
    outcome = outcome.line(format!(
        "crank of pool {address}, period {period}: {} users scanned; {allocations} allocations of {} units and {clawbacks} clawbacks ({clawed_units} units); {verb} {} transactions, {} failed, in {:.1?}",
        views.len(),
        pool.rule.amount,
        if args.dry_run { planned_transactions } else { report.transactions },
        report.failed.len(),
        report.elapsed
    ));
    outcome.json = json!({
        "pool": address.to_string(),
        "period": period,
        "scanned": views.len(),
        "allocations": allocations,
        "clawbacks": clawbacks,
        "clawed_back_units": clawed_units,
        "sharded_allocations": sharded_allocations,
        "partition": partition.to_string(),
        "shards_used": used_shards,
        "skipped": skipped,
        "dry_run": args.dry_run,
        "planned_transactions": planned_transactions,
        "largest_transaction": largest_transaction,
        "lookup_table": args.lookup_table.map(|t| t.to_string()),
        "transactions": report.transactions,
        "failed": report.failed.iter().map(|(job, error)| json!({"job": job, "error": error})).collect::<Vec<_>>(),
        "elapsed_ms": report.elapsed.as_millis() as u64,
    });
    ensure!(report.failed.is_empty(), "{}", outcome.lines.join("\n"));
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot::state::{
        AllocationRule, Comparison, ExchangeConfig, ExchangeState, PoolTotals, ResourceKind,
    };

    const PERIOD: i64 = 86_400;

    fn pool() -> Pool {
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
        }
    }

    fn credential(period: u64, volume: u64, revoked: bool) -> Credential {
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
        }
    }

    fn record(last_period: u64, allocated: u64) -> AllocationRecord {
        AllocationRecord {
            bump: 255,
            allocations: 1,
            last_period,
            last_allocated_at: 0,
            allocated,
            clawed_back: 0,
            exchanged: 0,
            exchange_period: 0,
            period_requested: 0,
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
        user.holding = 0;
        assert!(matches!(decide(&pool, 2, now, &user), Decision::Skip(_)));
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

    fn listed(period: u64, value: u64) -> Option<(u64, ListProof)> {
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
