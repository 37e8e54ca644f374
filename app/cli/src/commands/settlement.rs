//! `allot settlement …`: the settlement authority's manual path (the bridge automates it): list
//! open requests, lock one before paying it off chain, settle one paid off chain, or reject one.

use allot::instructions::ExchangeSettleArgs;
use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::chain::Chain;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};
use serde_json::json;

use crate::args::SettlementCommand;
use crate::commands::reference_hash;
use crate::context::Context;
use crate::outcome::Outcome;

/// Runs a settlement subcommand.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, command: SettlementCommand) -> Result<Outcome> {
    match command {
        SettlementCommand::Pending(pool) => {
            ctx.pool(&pool.pool).await?;
            let pending = accounts::open_requests(ctx.chain, &pool.pool).await?;
            let mut outcome = Outcome::new(json!({
                "pool": pool.pool.to_string(),
                "pending": pending.iter().map(|(address, r)| json!({
                    "address": address.to_string(), "id": r.id, "user": r.user.to_string(),
                    "amount": r.amount, "quoted": r.quoted, "created_at": r.created_at,
                })).collect::<Vec<_>>(),
            }));
            for (_, r) in &pending {
                outcome = outcome.line(format!(
                    "request {} of {}: {} units for {} minor units",
                    r.id, r.user, r.amount, r.quoted
                ));
            }
            Ok(outcome.line(format!(
                "{} open requests (pending or locked)",
                pending.len()
            )))
        }
        SettlementCommand::Lock { pool, request } => {
            let found = pending_request(ctx, &pool.pool, request).await?;
            ensure!(
                found.status == RequestStatus::Pending,
                "request {request} is already {:?}",
                found.status
            );
            ctx.ensure_can_pay(1, &[]).await?;
            let signature = ctx
                .send(
                    &[],
                    &[instructions::exchange_lock(
                        &ctx.me(),
                        &pool.pool,
                        request,
                        found.created_at,
                    )],
                )
                .await?;
            let locked: ExchangeRequest =
                accounts::fetch(ctx.chain, pdas::exchange_request(&pool.pool, request))
                    .await?
                    .with_context(|| format!("request {request} vanished after its lock"))?;
            let cancel_from = locked.cancel_from().ok().flatten().unwrap_or(i64::MAX);
            Ok(Outcome::new(json!({"pool": pool.pool.to_string(), "request": request, "cancel_after_lock": cancel_from, "signature": signature.to_string()}))
                .line(format!("locked request {request}: pay {} minor units to {}, then settle; its user may cancel from unix time {cancel_from} ({signature})", found.quoted, found.user)))
        }
        SettlementCommand::Settle {
            pool,
            request,
            reference,
        } => {
            ensure!(!reference.trim().is_empty(), "--reference is empty");
            let found = pending_request(ctx, &pool.pool, request).await?;
            if let Some(mint) = found.payout_mint {
                bail!(
                    "request {request} was made to be paid on chain in {mint} (its frozen terms): the bridge's on-chain payout settles it"
                );
            }
            // Pay only what is locked: a pending request's user could cancel after the payment.
            ensure!(
                found.status == RequestStatus::Locked,
                "request {request} is pending, not locked: lock it first (allot settlement lock), pay it, then settle"
            );
            ctx.ensure_can_pay(1, &[]).await?;
            let args = ExchangeSettleArgs {
                payout_reference: reference_hash(&reference),
                paid_amount: found.quoted,
                expected_created_at: found.created_at,
            };
            let signature = ctx
                .send(
                    &[],
                    &[instructions::exchange_settle(
                        &ctx.me(),
                        &pool.pool,
                        request,
                        args,
                        None,
                    )],
                )
                .await?;
            Ok(Outcome::new(json!({"pool": pool.pool.to_string(), "request": request, "paid": found.quoted, "signature": signature.to_string()}))
                .line(format!("settled request {request}: paid {} minor units to {} ({signature})", found.quoted, found.user)))
        }
        SettlementCommand::Reject {
            pool,
            request,
            reason,
        } => {
            let found = pending_request(ctx, &pool.pool, request).await?;
            ctx.ensure_can_pay(1, &[]).await?;
            let signature = ctx
                .send(
                    &[],
                    &[instructions::exchange_reject(
                        &ctx.me(),
                        &pool.pool,
                        request,
                        found.created_at,
                        &found.user,
                        reason,
                    )],
                )
                .await?;
            Ok(Outcome::new(json!({"pool": pool.pool.to_string(), "request": request, "rejected": reason, "signature": signature.to_string()}))
                .line(format!("rejected request {request} (reason {reason}); {} units are back with {} ({signature})", found.amount, found.user)))
        }
    }
}

/// The open request `id`, checking that the signer may act on it: the pool's settlement
/// authority, or the key that locked it (the program's own rule, `check_may_finish`).
async fn pending_request<C: Chain>(
    ctx: &Context<'_, C>,
    pool: &Pubkey,
    id: u64,
) -> Result<ExchangeRequest> {
    let state = ctx.pool(pool).await?;
    let found = accounts::fetch::<ExchangeRequest>(ctx.chain, pdas::exchange_request(pool, id))
        .await?
        .with_context(|| format!("pool {pool} has no exchange request {id}"))?;
    ensure!(
        !found.is_final(),
        "request {id} is {:?}, not open (pending or locked)",
        found.status
    );
    let authority = state.exchange.settlement_authority;
    ensure!(
        found.check_may_finish(&authority, &ctx.me()).is_ok(),
        "keypair {} is not the settlement authority of pool {pool} (it is {authority}), nor did it lock request {id}",
        ctx.me(),
    );
    Ok(found)
}
