//! The crank's last stage: what it did (or, on a dry run, would do), as lines and JSON.

use serde_json::json;

use super::plan::Tally;
use super::scan::Scan;
use crate::args::CrankArgs;
use crate::batch::BatchReport;
use crate::outcome::Outcome;

/// The crank's outcome: a note on the lookup table, each failed job, each reason users were
/// skipped, the summary line; and the same as JSON.
pub fn render(scan: &Scan, args: &CrankArgs, tally: &Tally, report: &BatchReport) -> Outcome {
    let address = scan.address;
    let mut outcome = Outcome::default();
    if let Some(table) = tally.table_without_shards {
        outcome = outcome.line(format!(
            "  note: lookup table {table} does not hold the pool's shards (made before `operator shards`?): sharded transactions carry their keys in full; `allot lookup-table create --pool {address}` makes one that does"
        ));
    }
    for (job, error) in &report.failed {
        outcome = outcome.line(format!("  {job}: {error}"));
    }
    for (reason, count) in &tally.skipped {
        outcome = outcome.line(format!("  skipped {count}: {reason}"));
    }
    for (address, reason) in &scan.skipped_attestations {
        outcome = outcome.line(format!("  SAS attestation {address} left out: {reason}"));
    }
    let verb = if args.dry_run { "would send" } else { "sent" };
    outcome = outcome.line(format!(
        "crank of pool {address}, period {}: {} users scanned; {} allocations of {} units and {} clawbacks ({} units); {verb} {} transactions, {} failed, in {:.1?}",
        scan.period,
        scan.users.len(),
        tally.allocations,
        scan.pool.rule.amount,
        tally.clawbacks,
        tally.clawed_units,
        if args.dry_run { tally.planned_transactions } else { report.transactions },
        report.failed.len(),
        report.elapsed
    ));
    outcome.json = json!({
        "pool": address.to_string(),
        "period": scan.period,
        "scanned": scan.users.len(),
        "allocations": tally.allocations,
        "clawbacks": tally.clawbacks,
        "clawed_back_units": tally.clawed_units,
        "sharded_allocations": tally.sharded_allocations,
        "partition": args.partition.to_string(),
        "shards_used": tally.shards_used,
        "skipped": tally.skipped,
        "skipped_attestations": scan.skipped_attestations.iter().map(|(address, reason)| json!({"address": address.to_string(), "reason": reason})).collect::<Vec<_>>(),
        "dry_run": args.dry_run,
        "planned_transactions": tally.planned_transactions,
        "largest_transaction": tally.largest_transaction,
        "lookup_table": args.lookup_table.map(|t| t.to_string()),
        "transactions": report.transactions,
        "failed": report.failed.iter().map(|(job, error)| json!({"job": job, "error": error})).collect::<Vec<_>>(),
        "elapsed_ms": report.elapsed.as_millis() as u64,
    });
    outcome
}
