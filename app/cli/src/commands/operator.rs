//! `allot operator …`: create pools from files, reconcile them, pause, fund, manage verifiers,
//! publish user lists and record profit reports.

use std::path::PathBuf;

use allot::instructions::{ProfitReportArgs, UserListPublishArgs};
use allot::state::{Pool, ProfitReport, UserList, Verifier};
use allot_client::chain::Chain;
use allot_client::merkle_tree::UserListTree;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::Space;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};
use serde_json::json;
use solana_sdk::signature::Signature;

use crate::args::OperatorCommand;
use crate::commands::{operator_attestations, operator_shards, reference_hash};
use crate::context::Context;
use crate::decimal::TokenAmount;
use crate::outcome::Outcome;
use crate::pool_file::PoolFile;
use crate::records::{self, ProofEntry, ProofsFile};
use crate::report;

/// Runs an operator subcommand.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, command: OperatorCommand) -> Result<Outcome> {
    match command {
        OperatorCommand::CreatePool { file } => process_create_pool(ctx, file).await,
        OperatorCommand::Update { pool, file } => process_update(ctx, pool.pool, file).await,
        OperatorCommand::Retire(pool) => retire(ctx, pool.pool).await,
        OperatorCommand::Pause(pool) => set_paused(ctx, pool.pool, true).await,
        OperatorCommand::Unpause(pool) => set_paused(ctx, pool.pool, false).await,
        OperatorCommand::PauseTransfers(pool) => set_transfers_paused(ctx, pool.pool, true).await,
        OperatorCommand::ResumeTransfers(pool) => set_transfers_paused(ctx, pool.pool, false).await,
        OperatorCommand::Fund { pool, amount } => process_fund(ctx, pool.pool, amount).await,
        OperatorCommand::AddVerifier { pool, verifier } => {
            process_add_verifier(ctx, pool.pool, verifier).await
        }
        OperatorCommand::RemoveVerifier { pool, verifier } => {
            process_remove_verifier(ctx, pool.pool, verifier).await
        }
        OperatorCommand::PublishList {
            pool,
            csv,
            proofs_out,
            period,
        } => process_publish_list(ctx, pool.pool, csv, proofs_out, period).await,
        OperatorCommand::RecordProfit {
            pool,
            period,
            amount,
            currency,
            evidence,
        } => process_record_profit(ctx, pool.pool, period, amount, currency, evidence).await,
        OperatorCommand::Shards {
            pool,
            count,
            fund_each,
        } => operator_shards::shards(ctx, pool.pool, count, fund_each).await,
        OperatorCommand::DrainShards(pool) => operator_shards::drain_shards(ctx, pool.pool).await,
        OperatorCommand::AcceptAttestations {
            pool,
            schema,
            field,
            replace,
        } => operator_attestations::accept(ctx, pool.pool, schema, field, replace).await,
        OperatorCommand::RefuseAttestations(pool) => {
            operator_attestations::refuse(ctx, pool.pool).await
        }
        OperatorCommand::Show(pool) => process_show(ctx, pool.pool).await,
    }
}

/// Creates the signer's pool of the pool file `file`, refusing one that already exists.
async fn process_create_pool<C: Chain>(ctx: &Context<'_, C>, file: PathBuf) -> Result<Outcome> {
    let file = PoolFile::read(&file)?;
    let address = pdas::pool(&ctx.me(), file.pool_id);
    ensure!(
        ctx.chain.account(address).await?.is_none(),
        "pool {} of {} already exists at {address}; use `operator update` to change it",
        file.pool_id,
        ctx.me()
    );
    apply(ctx, &file).await
}

/// Brings pool `pool` to what the pool file `file` says (the file must name this pool).
async fn process_update<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    file: PathBuf,
) -> Result<Outcome> {
    let file = PoolFile::read(&file)?;
    let state = ctx.operated_pool(&pool).await?;
    ensure!(
        state.pool_id == file.pool_id && state.creator == ctx.me(),
        "pool file has pool_id {} but pool {pool} is pool {} of {}",
        file.pool_id,
        state.pool_id,
        state.creator
    );
    apply(ctx, &file).await
}

/// Mints `amount` units into the pool's vault, within the supply cap.
async fn process_fund<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    amount: TokenAmount,
) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    let amount = amount.base_units(state.decimals).context("--amount")?;
    let room = state.supply_cap.saturating_sub(state.totals.minted);
    ensure!(
        amount <= room,
        "funding {amount} would pass the supply cap: {room} units left of {}",
        state.supply_cap
    );
    ctx.ensure_can_pay(1, &[]).await?;
    let signature = ctx
        .send(&[], &[instructions::pool_fund(&ctx.me(), &pool, amount)])
        .await?;
    Ok(Outcome::new(
        json!({"pool": pool.to_string(), "funded": amount, "signature": signature.to_string()}),
    )
    .line(format!(
        "funded pool {pool} with {amount} units ({signature})"
    )))
}

/// Authorises `verifier` in the pool, or re-activates it.
async fn process_add_verifier<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    verifier: Pubkey,
) -> Result<Outcome> {
    ctx.operated_pool(&pool).await?;
    let existing = accounts::fetch::<Verifier>(ctx.chain, pdas::verifier(&pool, &verifier)).await?;
    let instruction = match existing {
        Some(v) if v.active => bail!("{verifier} is already an active verifier of pool {pool}"),
        Some(_) => instructions::verifier_set_active(&ctx.me(), &pool, &verifier, true),
        None => instructions::verifier_add(&ctx.me(), &pool, &verifier),
    };
    ctx.ensure_can_pay(1, &[8 + Verifier::INIT_SPACE]).await?;
    let signature = ctx.send(&[], &[instruction]).await?;
    Ok(verifier_outcome(pool, verifier, true, signature))
}

/// Deactivates `verifier` in the pool.
async fn process_remove_verifier<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    verifier: Pubkey,
) -> Result<Outcome> {
    ctx.operated_pool(&pool).await?;
    let existing = accounts::fetch::<Verifier>(ctx.chain, pdas::verifier(&pool, &verifier)).await?;
    match existing {
        None => bail!("{verifier} is not a verifier of pool {pool}"),
        Some(v) if !v.active => bail!("verifier {verifier} of pool {pool} is already inactive"),
        Some(_) => {}
    }
    ctx.ensure_can_pay(1, &[]).await?;
    let instruction = instructions::verifier_set_active(&ctx.me(), &pool, &verifier, false);
    let signature = ctx.send(&[], &[instruction]).await?;
    Ok(verifier_outcome(pool, verifier, false, signature))
}

/// What adding or removing a verifier reports: its new state and the transaction.
fn verifier_outcome(pool: Pubkey, verifier: Pubkey, active: bool, signature: Signature) -> Outcome {
    let line = if active {
        format!("verifier {verifier} is active in pool {pool} ({signature})")
    } else {
        format!("verifier {verifier} deactivated in pool {pool} ({signature})")
    };
    Outcome::new(json!({"pool": pool.to_string(), "verifier": verifier.to_string(), "active": active, "signature": signature.to_string()}))
        .line(line)
}

/// Publishes the user list in `csv` for `period` and writes every user's proof to `proofs_out`.
async fn process_publish_list<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    csv: PathBuf,
    proofs_out: PathBuf,
    period: Option<u64>,
) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    let entries = records::read_user_list(&csv)?;
    let period = match period {
        Some(period) => period,
        None => ctx.now_and_period(&state).await?.1,
    };
    let tree = UserListTree::build(&pool, period, entries.clone())
        .with_context(|| format!("user list {}", csv.display()))?;
    let proofs = entries
        .iter()
        .map(|(user, value)| {
            let proof = tree.proof(user).expect("every listed user has a proof");
            (
                user.to_string(),
                ProofEntry {
                    value: *value,
                    proof: proof.proof.iter().map(hex::encode).collect(),
                },
            )
        })
        .collect();
    let file = ProofsFile {
        pool: pool.to_string(),
        period,
        root: hex::encode(tree.root()),
        proofs,
    };
    if let Some(existing) =
        accounts::fetch::<UserList>(ctx.chain, pdas::user_list(&pool, period)).await?
        && existing.root == tree.root()
    {
        write_proofs(&proofs_out, &file)?;
        return Ok(Outcome::new(json!({"pool": pool.to_string(), "period": period, "root": file.root, "users": entries.len(), "published": false}))
            .line(format!("the list of period {period} is already published with this root; proofs written to {}", proofs_out.display())));
    }
    ctx.ensure_can_pay(1, &[8 + UserList::INIT_SPACE]).await?;
    let args = UserListPublishArgs {
        period,
        root: tree.root(),
        user_count: u32::try_from(entries.len()).context("too many users")?,
    };
    let signature = ctx
        .send(
            &[],
            &[instructions::user_list_publish(&ctx.me(), &pool, args)],
        )
        .await?;
    write_proofs(&proofs_out, &file)?;
    Ok(Outcome::new(json!({"pool": pool.to_string(), "period": period, "root": file.root, "users": entries.len(), "published": true, "signature": signature.to_string()}))
        .line(format!("published the list of period {period}: {} users, root {} ({signature})", entries.len(), file.root))
        .line(format!("proofs written to {}", proofs_out.display())))
}

/// Records the profit report of `period`, sent with the sweeps of the pool's shards.
async fn process_record_profit<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    period: u64,
    amount: u64,
    currency: String,
    evidence: String,
) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    let currency: [u8; 3] = currency
        .as_bytes()
        .try_into()
        .ok()
        .filter(|c: &[u8; 3]| c.iter().all(u8::is_ascii_uppercase))
        .with_context(|| format!("--currency {currency:?} is not a 3-letter ISO 4217 code"))?;
    let sweep_transactions =
        usize::from(state.shard_count).div_ceil(operator_shards::PER_TRANSACTION) as u64;
    ctx.ensure_can_pay(1 + sweep_transactions, &[8 + ProfitReport::INIT_SPACE])
        .await?;
    let args = ProfitReportArgs {
        period,
        amount,
        currency,
        evidence_hash: reference_hash(&evidence),
    };
    // Profit-share rates divide by the units users hold on the pool's books, which count
    // sharded allocations once swept: the report goes with the sweeps.
    let signature = operator_shards::send_after_sweeps(
        ctx,
        &pool,
        &state,
        instructions::profit_report_record(&ctx.me(), &pool, args),
    )
    .await?;
    let state = ctx.pool(&pool).await?;
    Ok(Outcome::new(json!({"pool": pool.to_string(), "period": period, "amount": amount, "rate": state.exchange_state.rate, "signature": signature.to_string()}))
        .line(format!("recorded profit {amount} for period {period}; rate in force {} ({signature})", report::rate(state.exchange_state.rate))))
}

/// Shows the pool: rule, exchange conditions, rate, totals, vault and token.
async fn process_show<C: Chain>(ctx: &Context<'_, C>, pool: Pubkey) -> Result<Outcome> {
    let state = ctx.pool(&pool).await?;
    let vault = ctx.chain.account(state.vault).await?.map_or(0, |a| {
        allot_client::token::amount_base_units(&a.data).unwrap_or(0)
    });
    let mint = ctx.chain.account(state.mint).await?;
    let token = mint
        .as_ref()
        .and_then(|mint| allot_client::token::metadata(&mint.data));
    let transfers_paused = mint
        .as_ref()
        .and_then(|mint| allot_client::token::transfers_paused(&mint.data));
    Ok(report::pool(
        &pool,
        &state,
        vault,
        token.as_ref(),
        transfers_paused,
    ))
}

fn write_proofs(path: &std::path::Path, file: &ProofsFile) -> Result<()> {
    let text = serde_json::to_string_pretty(file).expect("proofs serialize");
    std::fs::write(path, text).with_context(|| format!("cannot write proofs to {}", path.display()))
}

async fn set_paused<C: Chain>(ctx: &Context<'_, C>, pool: Pubkey, paused: bool) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    ensure!(
        state.paused != paused,
        "pool {pool} is already {}",
        if paused { "paused" } else { "running" }
    );
    ctx.ensure_can_pay(1, &[]).await?;
    let signature = ctx
        .send(
            &[],
            &[instructions::pool_set_paused(&ctx.me(), &pool, paused)],
        )
        .await?;
    Ok(Outcome::new(
        json!({"pool": pool.to_string(), "paused": paused, "signature": signature.to_string()}),
    )
    .line(format!(
        "pool {pool} {} ({signature})",
        if paused { "paused" } else { "unpaused" }
    )))
}

/// Retires the pool for good (no allocation or clawback from then on); refuses one already
/// retired, sending nothing.
async fn retire<C: Chain>(ctx: &Context<'_, C>, pool: Pubkey) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    ensure!(
        !state.is_retired(),
        "pool {pool} was already retired (at unix time {})",
        state.retired_at
    );
    ctx.ensure_can_pay(1, &[]).await?;
    let signature = ctx
        .send(&[], &[instructions::pool_retire(&ctx.me(), &pool)])
        .await?;
    Ok(Outcome::new(json!({
        "pool": pool.to_string(),
        "retired": true,
        "signature": signature.to_string(),
    }))
    .line(format!(
        "pool {pool}: retired, no allocation or clawback from now on; `allot crank --close` returns its records' rent ({signature})"
    )))
}

/// Pauses (`paused`) or resumes every movement of a pausable pool's units; refuses a pool
/// created without `pausable` and one already in that state, sending nothing.
async fn set_transfers_paused<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    paused: bool,
) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    let now = allot_client::token::transfers_paused_at(ctx.chain, state.mint).await?;
    let Some(now) = now else {
        bail!(
            "pool {pool} was created without `pausable = true`: its mint has no Pausable extension, so its transfers cannot be paused (`operator pause` stops allocations)"
        );
    };
    ensure!(
        now != paused,
        "the units of pool {pool} are already {}",
        if paused { "paused" } else { "moving" }
    );
    ctx.ensure_can_pay(1, &[]).await?;
    let signature = ctx
        .send(
            &[],
            &[instructions::pool_set_transfers_paused(
                &ctx.me(),
                &pool,
                paused,
            )],
        )
        .await?;
    Ok(Outcome::new(json!({
        "pool": pool.to_string(),
        "transfers_paused": paused,
        "signature": signature.to_string(),
    }))
    .line(format!(
        "pool {pool}: {} ({signature})",
        if paused {
            "every movement of its units paused, holders' transfers included"
        } else {
            "its units move again"
        }
    )))
}

/// Brings the signer's pool of `file` to what the file says: creates it if missing, then sets the
/// rule, the exchange conditions, the initial funding and the verifiers where they differ. Sends
/// nothing when the pool already matches (so `migrate` can run again and again). Changes are
/// additive: a verifier dropped from the file stays active (`operator remove-verifier` removes
/// it), and a file without `[exchange]` leaves the pool's exchange conditions as they are.
pub async fn apply<C: Chain>(ctx: &Context<'_, C>, file: &PoolFile) -> Result<Outcome> {
    let me = ctx.me();
    let address = pdas::pool(&me, file.pool_id);
    let exchange = file.exchange_config(&me)?;
    let verifiers = file.verifier_keys()?;
    let existing: Option<Pool> = accounts::fetch(ctx.chain, address).await?;
    if let Some(pool) = &existing {
        ensure!(
            pool.operator == me,
            "pool {address} is now operated by {}, not {me}",
            pool.operator
        );
        let kind = file.create_args().kind;
        ensure!(
            pool.transferable == file.transferable
                && pool.decimals == file.decimals
                && pool.period_seconds == file.period_seconds
                && pool.supply_cap == file.supply_cap
                && pool.kind == kind,
            "pool {address} exists with kind {:?}, transferable = {}, decimals = {}, \
             period_seconds = {}, supply_cap = {}: these are fixed at creation and the file differs",
            pool.kind,
            pool.transferable,
            pool.decimals,
            pool.period_seconds,
            pool.supply_cap
        );
        let pausable = allot_client::token::transfers_paused_at(ctx.chain, pool.mint)
            .await?
            .is_some();
        ensure!(
            pausable == file.pausable,
            "pool {address} exists with pausable = {pausable}: it is fixed at creation and the file says {}",
            file.pausable
        );
    }

    let mut steps: Vec<(String, solana_sdk::instruction::Instruction)> = Vec::new();
    let mut sizes = Vec::new();
    match &existing {
        None => {
            steps.push((
                "create pool".into(),
                instructions::pool_create(&me, file.create_args()),
            ));
            sizes.extend([8 + Pool::INIT_SPACE, 300, 300, 300]);
        }
        Some(pool) if pool.rule != file.rule() => {
            steps.push((
                "update rule".into(),
                instructions::pool_update_rule(&me, &address, file.rule()),
            ));
        }
        Some(_) => {}
    }
    if let Some(config) = exchange
        && existing.as_ref().is_none_or(|pool| pool.exchange != config)
    {
        steps.push((
            "set exchange conditions".into(),
            instructions::pool_set_exchange(&me, &address, config),
        ));
    }
    if let Some(metadata) = file.token_metadata()? {
        let current = match &existing {
            Some(pool) => ctx
                .chain
                .account(pool.mint)
                .await?
                .and_then(|mint| allot_client::token::metadata(&mint.data)),
            None => None,
        };
        let wanted = allot_client::token::TokenName {
            name: metadata.name.clone(),
            symbol: metadata.symbol.clone(),
            uri: metadata.uri.clone(),
        };
        if current.as_ref() != Some(&wanted) {
            steps.push((
                format!("name the token {} ({})", wanted.name, wanted.symbol),
                instructions::pool_set_metadata(&me, &address, metadata),
            ));
            // The mint grows by the metadata (rent paid by the operator).
            sizes.push(wanted.name.len() + wanted.symbol.len() + wanted.uri.len() + 100);
        }
    }
    let minted = existing.as_ref().map_or(0, |pool| pool.totals.minted);
    if file.initial_funding > minted {
        let amount = file.initial_funding - minted;
        steps.push((
            format!("fund {amount} units"),
            instructions::pool_fund(&me, &address, amount),
        ));
    }
    for verifier in &verifiers {
        let state: Option<Verifier> =
            accounts::fetch(ctx.chain, pdas::verifier(&address, verifier)).await?;
        match state {
            None => {
                steps.push((
                    format!("add verifier {verifier}"),
                    instructions::verifier_add(&me, &address, verifier),
                ));
                sizes.push(8 + Verifier::INIT_SPACE);
            }
            Some(v) if !v.active => {
                steps.push((
                    format!("re-activate verifier {verifier}"),
                    instructions::verifier_set_active(&me, &address, verifier, true),
                ));
            }
            Some(_) => {}
        }
    }

    let mut outcome = Outcome::default();
    let mut sent = Vec::new();
    if steps.is_empty() {
        outcome = outcome.line(format!(
            "pool {} at {address} is up to date; nothing sent",
            file.pool_id
        ));
    } else {
        ctx.ensure_can_pay(steps.len() as u64, &sizes).await?;
        for (what, instruction) in steps {
            let signature = ctx
                .send(&[], &[instruction])
                .await
                .with_context(|| format!("pool {address}: {what}"))?;
            outcome = outcome.line(format!("{what} ({signature})"));
            sent.push(json!({"step": what, "signature": signature.to_string()}));
        }
        outcome = outcome.line(format!("pool {} is at {address}", file.pool_id));
    }
    outcome.json = json!({"pool": address.to_string(), "pool_id": file.pool_id, "mint": pdas::mint(&address).to_string(), "sent": sent});
    Ok(outcome)
}
