//! Sending many independent instructions: packed several to a transaction while they fit, sent in
//! parallel, with a progress bar and a summary. When a packed transaction fails, its instructions
//! are retried one per transaction so one bad user cannot hold back the others.

use std::time::{Duration, Instant};

use allot_client::chain::{Chain, ChainError};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::signature::Keypair;

use crate::context::Context;
use crate::sender::{build_transaction, fits, largest_budget};

/// One unit of work: an instruction and what it does (for the summary).
#[derive(Clone, Debug)]
pub struct Job {
    /// Who or what it is about (e.g. the user's key).
    pub label: String,
    /// The instruction.
    pub instruction: Instruction,
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// Transactions that landed.
    pub transactions: usize,
    /// Jobs that landed.
    pub done: usize,
    /// Jobs that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl BatchReport {
    /// Adds `other`'s transactions, jobs, failures and time to this report.
    pub fn absorb(&mut self, other: BatchReport) {
        self.transactions += other.transactions;
        self.done += other.done;
        self.failed.extend(other.failed);
        self.elapsed += other.elapsed;
    }
}

/// Packs `jobs` greedily into groups that fit one transaction (size, account locks) and hold at
/// most `max_per_transaction` jobs.
pub fn pack(
    payer: &Keypair,
    jobs: Vec<Job>,
    max_per_transaction: usize,
    tables: &[AddressLookupTableAccount],
) -> Vec<Vec<Job>> {
    let mut groups: Vec<Vec<Job>> = Vec::new();
    let mut current: Vec<Job> = Vec::new();
    for job in jobs {
        current.push(job);
        let instructions: Vec<Instruction> =
            current.iter().map(|j| j.instruction.clone()).collect();
        let fits_one = build_transaction(
            payer,
            &[],
            &instructions,
            tables,
            Hash::default(),
            largest_budget(),
        )
        .is_ok_and(|tx| fits(&tx));
        if current.len() > 1 && (!fits_one || current.len() > max_per_transaction) {
            let last = current.pop().expect("just pushed");
            groups.push(std::mem::take(&mut current));
            current.push(last);
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// A progress bar on stderr for `len` jobs (hidden when stderr is not a terminal or `quiet`).
pub fn progress(len: usize, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Sends `groups` with up to `parallel` transactions in flight, signed and paid by the
/// command's signer at its priority fee, loading accounts from `tables`.
pub async fn send_all<C: Chain>(
    ctx: &Context<'_, C>,
    tables: &[AddressLookupTableAccount],
    groups: Vec<Vec<Job>>,
    parallel: usize,
    bar: &ProgressBar,
) -> BatchReport {
    let started = Instant::now();
    let results: Vec<BatchReport> = futures::stream::iter(groups)
        .map(|group| send_group(ctx, tables, group, bar))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut report = BatchReport::default();
    for part in results {
        report.absorb(part);
    }
    report.elapsed = started.elapsed();
    report
}

async fn send_group<C: Chain>(
    ctx: &Context<'_, C>,
    tables: &[AddressLookupTableAccount],
    group: Vec<Job>,
    bar: &ProgressBar,
) -> BatchReport {
    let mut report = BatchReport::default();
    let instructions: Vec<Instruction> = group.iter().map(|j| j.instruction.clone()).collect();
    match ctx.send_with_tables(&[], &instructions, tables).await {
        Ok(_) => {
            report.transactions = 1;
            report.done = group.len();
        }
        // Only a transaction the chain refused is known not to have landed; after a transport
        // error (timeout, lost confirmation) resending could repeat work, so report it instead.
        Err(error) if group.len() == 1 || !matches!(error, ChainError::Transaction { .. }) => {
            for job in &group {
                report.failed.push((job.label.clone(), error.to_string()));
            }
        }
        Err(_) => {
            for job in group {
                match ctx
                    .send_with_tables(&[], std::slice::from_ref(&job.instruction), tables)
                    .await
                {
                    Ok(_) => {
                        report.transactions += 1;
                        report.done += 1;
                    }
                    Err(error) => report.failed.push((job.label, error.to_string())),
                }
            }
        }
    }
    bar.inc((report.done + report.failed.len()) as u64);
    report
}
