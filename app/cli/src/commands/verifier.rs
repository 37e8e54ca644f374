//! `allot verifier …`: issue, update and revoke credentials, one by one or in bulk.

use allot::instructions::CredentialIssueArgs;
use allot::state::{
    AllocationRecord, Credential, Pool, Verifier, clawback_amount,
    closed_credential_clawback_reason,
};
use allot_client::chain::Chain;
use allot_client::instructions::Evidence;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::Space;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use serde_json::json;

use crate::args::VerifierCommand;
use crate::batch::{self, Job};
use crate::commands::reference_hash;
use crate::context::Context;
use crate::outcome::Outcome;
use crate::records::{self, CredentialRow, indicator_slots};

/// Default parallelism of bulk commands.
const PARALLEL: usize = 8;

/// Runs a verifier subcommand.
pub async fn run<C: Chain>(
    ctx: &Context<'_, C>,
    command: VerifierCommand,
    quiet: bool,
) -> Result<Outcome> {
    match command {
        VerifierCommand::Issue {
            pool,
            user,
            indicators,
            evidence,
            period,
            valid_for,
        } => {
            ensure!(!evidence.trim().is_empty(), "--evidence is empty");
            let row = CredentialRow {
                user,
                indicators: indicator_slots(&indicators)?,
                evidence,
            };
            issue(ctx, &pool.pool, vec![row], period, valid_for, quiet).await
        }
        VerifierCommand::IssueBulk {
            pool,
            file,
            period,
            valid_for,
        } => {
            let rows = records::read_credentials(&file)?;
            issue(ctx, &pool.pool, rows, period, valid_for, quiet).await
        }
        VerifierCommand::Revoke { pool, user } => revoke(ctx, &pool.pool, vec![user], quiet).await,
        VerifierCommand::Close { pool, user } => close(ctx, &pool.pool, &user).await,
        VerifierCommand::RevokeBulk { pool, file } => {
            let users = records::read_users(&file)?;
            revoke(ctx, &pool.pool, users, quiet).await
        }
    }
}

/// The pool, checking that the signer is one of its active verifiers.
async fn verified_pool<C: Chain>(ctx: &Context<'_, C>, pool: &Pubkey) -> Result<Pool> {
    let state = ctx.pool(pool).await?;
    let verifier = accounts::fetch::<Verifier>(ctx.chain, pdas::verifier(pool, &ctx.me())).await?;
    ensure!(
        verifier.is_some_and(|v| v.active),
        "keypair {} is not an active verifier of pool {pool}; the operator adds verifiers with \
         `allot operator add-verifier`",
        ctx.me()
    );
    Ok(state)
}

async fn issue<C: Chain>(
    ctx: &Context<'_, C>,
    pool: &Pubkey,
    rows: Vec<CredentialRow>,
    period: Option<u64>,
    valid_for: Option<i64>,
    quiet: bool,
) -> Result<Outcome> {
    let state = verified_pool(ctx, pool).await?;
    let (now, current) = ctx.now_and_period(&state).await?;
    let period = period.unwrap_or(current);
    ensure!(
        period <= current,
        "--period {period} is in the future: pool {pool} is in period {current}"
    );
    let valid_for = valid_for.unwrap_or(state.period_seconds.saturating_mul(2));
    ensure!(valid_for > 0, "--valid-for must be positive");
    let expires_at = now
        .checked_add(valid_for)
        .context("--valid-for is too large")?;

    // Skip what is already on chain as asked (re-running a bulk file sends nothing new).
    let mut jobs = Vec::new();
    let mut unchanged = 0usize;
    let mut new_accounts = 0usize;
    let addresses: Vec<Pubkey> = rows
        .iter()
        .map(|r| pdas::credential(pool, &r.user))
        .collect();
    let existing_credentials = accounts::fetch_many::<Credential>(ctx.chain, &addresses).await?;
    for (row, existing) in rows.into_iter().zip(existing_credentials) {
        let evidence_hash = reference_hash(&row.evidence);
        if let Some(c) = &existing
            && c.period > period
        {
            anyhow::bail!(
                "{} already has a credential for period {}, later than {period}; nothing was sent",
                row.user,
                c.period
            );
        }
        if let Some(c) = &existing
            && !c.revoked
            && c.period == period
            && c.indicators == row.indicators
            && c.evidence_hash == evidence_hash
            && c.expires_at > now
            && now.saturating_sub(c.issued_at) <= state.rule.credential_max_age
        {
            unchanged += 1;
            continue;
        }
        new_accounts += usize::from(existing.is_none());
        let args = CredentialIssueArgs {
            period,
            indicators: row.indicators,
            expires_at,
            evidence_hash,
        };
        jobs.push(Job {
            label: row.user.to_string(),
            instruction: instructions::credential_issue(&ctx.me(), pool, &row.user, args),
        });
    }
    let total = jobs.len();
    ctx.ensure_can_pay(
        total as u64,
        &vec![8 + Credential::INIT_SPACE; new_accounts],
    )
    .await?;
    let groups = batch::pack(&ctx.signer, jobs, 8, &[]);
    let bar = batch::progress(total, "credentials", quiet);
    let report = batch::send_all(ctx, &[], groups, PARALLEL, &bar).await;
    summary("issued", pool, period, &report, unchanged)
}

async fn revoke<C: Chain>(
    ctx: &Context<'_, C>,
    pool: &Pubkey,
    users: Vec<Pubkey>,
    quiet: bool,
) -> Result<Outcome> {
    verified_pool(ctx, pool).await?;
    let mut jobs = Vec::new();
    let mut unchanged = 0usize;
    let addresses: Vec<Pubkey> = users.iter().map(|u| pdas::credential(pool, u)).collect();
    let credentials = accounts::fetch_many::<Credential>(ctx.chain, &addresses).await?;
    for (user, credential) in users.into_iter().zip(credentials) {
        match credential {
            None => {
                anyhow::bail!("user {user} has no credential in pool {pool}; nothing was revoked")
            }
            Some(c) if c.revoked => unchanged += 1,
            Some(_) => jobs.push(Job {
                label: user.to_string(),
                instruction: instructions::credential_revoke(&ctx.me(), pool, &user),
            }),
        }
    }
    let total = jobs.len();
    ctx.ensure_can_pay(total as u64, &[]).await?;
    let groups = batch::pack(&ctx.signer, jobs, 12, &[]);
    let bar = batch::progress(total, "revocations", quiet);
    let report = batch::send_all(ctx, &[], groups, PARALLEL, &bar).await;
    summary("revoked", pool, 0, &report, unchanged)
}

/// Closes `user`'s credential in `pool`; its rent goes to the key that paid it. A closed
/// credential counts as revoked: when the user's last allocation was on it and they still hold
/// clawable units, the clawback is sent in the same transaction (cranks find clawbacks among
/// existing credentials, so nobody else would see this one).
async fn close<C: Chain>(ctx: &Context<'_, C>, pool: &Pubkey, user: &Pubkey) -> Result<Outcome> {
    let pool_state = verified_pool(ctx, pool).await?;
    let address = pdas::credential(pool, user);
    let credential = accounts::fetch::<Credential>(ctx.chain, address)
        .await?
        .with_context(|| {
            format!("user {user} has no credential in pool {pool}; nothing to close")
        })?;
    let lamports = ctx
        .chain
        .account(address)
        .await?
        .map_or(0, |account| account.lamports);
    let clawback = due_clawback(ctx, pool, &pool_state, user).await?;
    ctx.ensure_can_pay(1, &[]).await?;
    let mut ixs = vec![instructions::credential_close(
        &ctx.me(),
        pool,
        user,
        &credential.rent_payer,
    )];
    if clawback > 0 {
        ixs.push(instructions::clawback(pool, user, Evidence::Credential));
    }
    let signature = ctx.send(&[], &ixs).await?;
    let mut outcome = Outcome::new(json!({
        "pool": pool.to_string(),
        "user": user.to_string(),
        "rent_payer": credential.rent_payer.to_string(),
        "lamports": lamports,
        "clawed_back": clawback,
        "signature": signature.to_string(),
    }))
    .line(format!(
        "closed the credential of {user} in pool {pool}; {lamports} lamports back to {} ({signature})",
        credential.rent_payer
    ));
    if clawback > 0 {
        outcome = outcome.line(format!(
            "  and clawed back {clawback} base units its last allocation gave (a closed credential counts as revoked)"
        ));
    }
    Ok(outcome)
}

/// The base units a clawback would take from `user` once their credential is closed: those
/// still clawable of an allocation a credential supported last, at most what they hold; 0 when
/// none (no allocation, one on a list or an attestation, nothing left to take, or a retired pool,
/// which claws back no more).
async fn due_clawback<C: Chain>(
    ctx: &Context<'_, C>,
    pool: &Pubkey,
    pool_state: &Pool,
    user: &Pubkey,
) -> Result<u64> {
    if pool_state.is_retired() {
        return Ok(0);
    }
    let Some(record) =
        accounts::fetch::<AllocationRecord>(ctx.chain, pdas::allocation_record(pool, user)).await?
    else {
        return Ok(0);
    };
    if closed_credential_clawback_reason(&record).is_err() {
        return Ok(0);
    }
    let held = allot_client::token::balance_base_units(
        ctx.chain,
        pdas::token_account(user, &pool_state.mint),
    )
    .await?;
    Ok(clawback_amount(&record, held).unwrap_or(0))
}

fn summary(
    verb: &str,
    pool: &Pubkey,
    period: u64,
    report: &batch::BatchReport,
    unchanged: usize,
) -> Result<Outcome> {
    let mut outcome = Outcome::new(json!({
        "pool": pool.to_string(),
        verb: report.done,
        "unchanged": unchanged,
        "failed": report.failed.iter().map(|(user, error)| json!({"user": user, "error": error})).collect::<Vec<_>>(),
        "transactions": report.transactions,
        "period": period,
    }));
    for (user, error) in &report.failed {
        outcome = outcome.line(format!("  {user}: {error}"));
    }
    outcome = outcome.line(format!(
        "{verb} {} credentials in {} transactions ({} already so, {} failed) in {:.1?}",
        report.done,
        report.transactions,
        unchanged,
        report.failed.len(),
        report.elapsed
    ));
    ensure!(report.failed.is_empty(), "{}", outcome.lines.join("\n"));
    Ok(outcome)
}
