//! The crank's third stage: send the planned transactions, stage after stage.

use std::iter;

use allot::state::AllocationRecord;
use allot_client::chain::Chain;
use anchor_lang::Space;
use anyhow::Result;
use solana_sdk::message::AddressLookupTableAccount;

use super::plan::{Tally, Transactions};
use crate::batch::{self, BatchReport};
use crate::commands::user::USER_TOKEN_ACCOUNT_BYTES;
use crate::context::Context;

/// Sends `transactions` (nothing when there are none), `parallel` in flight, after checking that
/// the signer can pay their fees and the rent of the accounts they create; `quiet` hides the
/// progress bars.
pub async fn execute<C: Chain>(
    ctx: &Context<'_, C>,
    tables: &[AddressLookupTableAccount],
    transactions: Transactions,
    tally: &Tally,
    parallel: usize,
    quiet: bool,
) -> Result<BatchReport> {
    if tally.planned_transactions == 0 {
        return Ok(BatchReport::default());
    }
    let mut sizes = vec![8 + AllocationRecord::INIT_SPACE; tally.new_records];
    sizes.extend(iter::repeat_n(
        USER_TOKEN_ACCOUNT_BYTES,
        tally.new_token_accounts,
    ));
    ctx.ensure_can_pay(tally.planned_transactions as u64, &sizes)
        .await?;
    let mut report = BatchReport::default();
    // In order: the sealing allocation, the allocations and clawbacks, the sweeps.
    for (stage, what) in transactions.stages() {
        let jobs = stage.iter().map(Vec::len).sum();
        let bar = batch::progress(jobs, what, quiet || jobs == 0);
        report.absorb(batch::send_all(ctx, tables, stage, parallel, &bar).await);
    }
    Ok(report)
}
