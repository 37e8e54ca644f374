//! `allot crank --close`: closes the allocation records of a retired pool that guard nothing any
//! more, each one's rent going back to whoever paid it. Anyone may run it (it signs nothing but
//! the fees).

use allot_client::accounts;
use allot_client::chain::Chain;
use allot_client::instructions;
use anyhow::{Result, ensure};
use serde_json::json;

use crate::args::CrankArgs;
use crate::batch::{self, Job};
use crate::context::Context;
use crate::outcome::Outcome;

/// Lists the pool's records (one `getProgramAccounts`), keeps those the program would close now
/// (`AllocationRecord::check_can_close`), and sends their closes packed several to a
/// transaction; reports how many closed, how many lamports went back, and how many wait.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, args: &CrankArgs, quiet: bool) -> Result<Outcome> {
    let address = args.pool.pool;
    let pool = ctx.pool(&address).await?;
    ensure!(
        pool.is_retired(),
        "pool {address} is not retired: its allocation records still guard allocations and clawbacks (the operator retires it with `allot operator retire`)"
    );
    let (now, period) = ctx.now_and_period(&pool).await?;
    let records = accounts::records_of_pool(ctx.chain, &address).await?;
    let found = records.len();
    let (closable, waiting): (Vec<_>, Vec<_>) = records
        .into_iter()
        .filter(|(_, record)| args.partition.has_user(&record.user))
        .partition(|(_, record)| {
            record
                .check_can_close(
                    period,
                    now,
                    pool.exchange.min_holding_seconds,
                    pool.transferable,
                )
                .is_ok()
        });
    let jobs: Vec<Job> = closable
        .iter()
        .map(|(_, record)| Job {
            label: record.user.to_string(),
            instruction: instructions::allocation_record_close(
                &address,
                &record.user,
                &record.rent_payer,
            ),
        })
        .collect();
    let mut report = batch::BatchReport::default();
    if !args.dry_run && !jobs.is_empty() {
        let groups = batch::pack(
            &ctx.signer,
            jobs,
            usize::from(args.max_per_transaction),
            &[],
        );
        ctx.ensure_can_pay(groups.len() as u64, &[]).await?;
        let bar = batch::progress(closable.len(), "closing", quiet);
        report = batch::send_all(ctx, &[], groups, usize::from(args.parallel), &bar).await;
    }
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|(user, why)| json!({ "user": user, "error": why }))
        .collect();
    let closed = report.done;
    let closable_count = closable.len();
    let mut outcome = Outcome::new(json!({
        "pool": address.to_string(),
        "records": found,
        "closable": closable_count,
        "closed": closed,
        "still_in_use": waiting.len(),
        "transactions": report.transactions,
        "failed": failed,
        "dry_run": args.dry_run,
    }))
    .line(format!(
        "pool {address}: {found} allocation records, {closable_count} closable, {closed} closed in {} transactions, {} still in use (this period's exchange requests, holding time, or a debt its user owes; close them in a later period)",
        report.transactions,
        waiting.len()
    ));
    for (user, why) in &report.failed {
        outcome = outcome.line(format!("  failed for {user}: {why}"));
    }
    ensure!(report.failed.is_empty(), "{}", outcome.lines.join("\n"));
    Ok(outcome)
}
