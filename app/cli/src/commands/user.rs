//! `allot user …`: a user's status, allocation, exchange requests and cancellation. The keypair is
//! the user's wallet (the web page does the same with Phantom).

use std::path::{Path, PathBuf};

use allot::error::AllotError;
use allot::state::{
    AllocationRecord, AllocationSource, Credential, ExchangeRequest, HeldEvidence, Pool,
    RequestStatus, UserList, check_can_allocate_on, check_can_request,
};
use allot_client::chain::Chain;
use allot_client::instructions::Evidence;
use allot_client::{accounts, instructions, pdas};
use anchor_lang::Space;
use anchor_lang::error::Error;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};
use serde_json::json;

use crate::args::UserCommand;
use crate::context::Context;
use crate::decimal::TokenAmount;
use crate::outcome::Outcome;
use crate::records::ProofsFile;
use crate::report;

/// Bytes of a Token-2022 account of the pool's mint (with the extensions its mint requires).
pub const USER_TOKEN_ACCOUNT_BYTES: usize = 170;

/// Runs a user subcommand.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, command: UserCommand) -> Result<Outcome> {
    match command {
        UserCommand::Show { pool, user } => process_show(ctx, pool.pool, user).await,
        UserCommand::Allocate {
            pool,
            proofs,
            attestation,
        } => process_allocate(ctx, pool.pool, proofs, attestation).await,
        UserCommand::Exchange { pool, amount, id } => {
            process_exchange(ctx, pool.pool, amount, id).await
        }
        UserCommand::Cancel { pool, request } => process_cancel(ctx, pool.pool, request).await,
    }
}

/// Shows a user's holding, credential, allocation record and exchange requests.
async fn process_show<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    user: Option<Pubkey>,
) -> Result<Outcome> {
    let user = user.unwrap_or(ctx.me());
    let state = ctx.pool(&pool).await?;
    let holding = holding(ctx.chain, &state.mint, &user).await?;
    let credential =
        accounts::fetch::<Credential>(ctx.chain, pdas::credential(&pool, &user)).await?;
    let record =
        accounts::fetch::<AllocationRecord>(ctx.chain, pdas::allocation_record(&pool, &user))
            .await?;
    let requests = accounts::requests_of_user(ctx.chain, &pool, &user).await?;
    Ok(report::user(
        &user,
        holding,
        credential.as_ref(),
        record.as_ref(),
        &requests,
    ))
}

/// Claims this period's allocation for the signer, by credential or by the list proof in `proofs`.
async fn process_allocate<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    proofs: Option<PathBuf>,
    attestation: bool,
) -> Result<Outcome> {
    let state = ctx.pool(&pool).await?;
    ensure!(
        !state.paused,
        "pool {pool} is paused: allocations are refused until the operator unpauses it"
    );
    let me = ctx.me();
    let (now, period) = ctx.now_and_period(&state).await?;
    let record =
        accounts::fetch::<AllocationRecord>(ctx.chain, pdas::allocation_record(&pool, &me)).await?;
    let asked = Asked {
        pool: &state,
        address: pool,
        user: me,
        record: record.as_ref(),
        now,
        period,
    };
    let evidence = match proofs {
        Some(path) => asked.list_evidence(ctx, &path).await?,
        None if attestation => asked.attestation_evidence(ctx).await?,
        None => asked.credential_evidence(ctx).await?,
    };
    let mut new_accounts = Vec::new();
    if record.is_none() {
        new_accounts.push(8 + AllocationRecord::INIT_SPACE);
    }
    let token = ctx
        .chain
        .account(pdas::token_account(&me, &state.mint))
        .await?;
    if token.is_none_or(|a| accounts::is_prefunded(&a)) {
        new_accounts.push(USER_TOKEN_ACCOUNT_BYTES);
    }
    ctx.ensure_can_pay(1, &new_accounts).await?;
    let signature = ctx
        .send(&[], &[instructions::allocate(&me, &pool, &me, evidence)])
        .await?;
    let holding = holding(ctx.chain, &state.mint, &me).await?;
    Ok(Outcome::new(json!({"pool": pool.to_string(), "user": me.to_string(), "period": period, "amount": state.rule.amount, "holding": holding, "signature": signature.to_string()}))
        .line(format!("allocated {} units for period {period}; you hold {holding} ({signature})", state.rule.amount)))
}

/// What `user allocate` asks the program's rules about: the pool, the user and its record, now.
struct Asked<'a> {
    pool: &'a Pool,
    address: Pubkey,
    user: Pubkey,
    record: Option<&'a AllocationRecord>,
    now: i64,
    period: u64,
}

impl Asked<'_> {
    /// The user's list evidence from the proofs file at `path`, checked against the published
    /// root (the program checks the evidence first, then the record).
    async fn list_evidence<C: Chain>(&self, ctx: &Context<'_, C>, path: &Path) -> Result<Evidence> {
        let (pool, period, me) = (self.address, self.period, self.user);
        let file = ProofsFile::read(path, &pool)?;
        ensure!(
            file.period == period,
            "{} is the list of period {}; the pool is in period {period}",
            path.display(),
            file.period
        );
        let list = accounts::fetch::<UserList>(ctx.chain, pdas::user_list(&pool, period))
            .await?
            .with_context(|| format!("the list of period {period} is not published yet"))?;
        ensure!(
            hex::encode(list.root) == file.root,
            "{} does not match the root published for period {period}",
            path.display()
        );
        let proof = file
            .proof_of(&me)?
            .with_context(|| format!("{me} is not in the list {}", path.display()))?;
        if let Some(r) = self.record {
            r.check_can_allocate(period).map_err(|_| self.already())?;
        }
        Ok(Evidence::UserList { period, proof })
    }

    /// The user's credential, after the program's whole decision on it.
    async fn credential_evidence<C: Chain>(&self, ctx: &Context<'_, C>) -> Result<Evidence> {
        let (pool, me) = (self.address, self.user);
        let credential = accounts::fetch::<Credential>(ctx.chain, pdas::credential(&pool, &me))
            .await?
            .with_context(|| {
                let or_attestation = if self.pool.attestation.is_some() {
                    ", or --attestation (the pool accepts SAS attestations)"
                } else {
                    ""
                };
                format!(
                    "{me} has no credential in pool {pool}; ask a verifier, or pass --proofs{or_attestation}"
                )
            })?;
        self.decide(ctx, HeldEvidence::Credential(&credential))
            .await?;
        Ok(Evidence::Credential)
    }

    /// The user's SAS attestation under the pool's issuer and schema, after the program's whole
    /// decision on it.
    async fn attestation_evidence<C: Chain>(&self, ctx: &Context<'_, C>) -> Result<Evidence> {
        let (pool, me) = (self.address, self.user);
        let settings = self.pool.attestation.with_context(|| {
            format!("pool {pool} accepts no SAS attestations; use a credential or --proofs")
        })?;
        let view = allot_client::attestation::read(ctx.chain, &settings, &me)
            .await?
            .with_context(|| {
                format!(
                    "{me} has no attestation from SAS issuer {} under schema {} (none issued, or closed by the issuer)",
                    settings.issuer, settings.schema
                )
            })?;
        self.decide(ctx, HeldEvidence::Attestation(&view)).await?;
        Ok(Evidence::from(&settings))
    }

    /// The program's whole decision on `evidence`: the evidence, the record, then the vault's
    /// units.
    async fn decide<C: Chain>(
        &self,
        ctx: &Context<'_, C>,
        evidence: HeldEvidence<'_>,
    ) -> Result<()> {
        let vault_units =
            allot_client::token::balance_base_units(ctx.chain, self.pool.vault).await?;
        let source = AllocationSource::Vault(vault_units);
        check_can_allocate_on(self.pool, evidence, self.record, source, self.now).map_err(|e| {
            let code = u32::from(AllotError::AlreadyAllocatedThisPeriod);
            if matches!(&e, Error::AnchorError(a) if a.error_code_number == code) {
                self.already()
            } else {
                anyhow::anyhow!(
                    "the program would refuse this allocation: {}",
                    allot_client::errors::refusal(&e)
                )
            }
        })?;
        Ok(())
    }

    /// The refusal of a second allocation in the period, in words.
    fn already(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "{} was already allocated in period {}; the next allocation opens in the next period",
            self.user,
            self.period
        )
    }
}

/// Requests an exchange of `amount` of the signer's units for funds, as request `id` (a random
/// one when not given).
async fn process_exchange<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    amount: TokenAmount,
    id: Option<u64>,
) -> Result<Outcome> {
    let state = ctx.pool(&pool).await?;
    let me = ctx.me();
    let amount = amount.base_units(state.decimals).context("--amount")?;
    // An id given again (a retry) whose request exists: say so before anything else.
    if let Some(id) = id
        && let Some(found) =
            accounts::fetch::<ExchangeRequest>(ctx.chain, pdas::exchange_request(&pool, id)).await?
    {
        bail!(
            "request {id} exists already ({:?}, {} units of {}, made at {}): nothing was sent; an earlier attempt may have opened it (`allot user show`), or choose another id",
            found.status,
            found.amount,
            found.user,
            found.created_at
        );
    }
    let (now, _) = ctx.now_and_period(&state).await?;
    let record =
        accounts::fetch::<AllocationRecord>(ctx.chain, pdas::allocation_record(&pool, &me)).await?;
    // Without a record (units only received, or a record closed after the pool's retirement)
    // the request opens an empty one, the signer paying its rent.
    let mut new_accounts = vec![8 + ExchangeRequest::INIT_SPACE];
    if record.is_none() {
        new_accounts.push(8 + AllocationRecord::INIT_SPACE);
    }
    let record = record.unwrap_or_else(AllocationRecord::empty);
    let held = holding(ctx.chain, &state.mint, &me).await?;
    // The program's own decision, asked before anything is signed.
    check_can_request(&state, &record, held, amount, now).map_err(|error| {
        anyhow::anyhow!(
            "{me} holds {held} units; pool {pool} refuses an exchange of {amount} now: {}",
            allot_client::errors::refusal(&error)
        )
    })?;
    ctx.ensure_can_pay(1, &new_accounts).await?;
    let id = id.unwrap_or_else(allot_client::request_id::random);
    let signature = ctx
        .send(
            &[],
            &[instructions::exchange_request(&me, &me, &pool, id, amount)],
        )
        .await
        .with_context(|| {
            format!("request {id} (to retry it without risking a second request: --id {id})")
        })?;
    let address = pdas::exchange_request(&pool, id);
    let request = accounts::fetch::<ExchangeRequest>(ctx.chain, address)
        .await?
        .context("the request account is missing after it landed")?;
    // The request's own terms, frozen when it landed.
    let currency = String::from_utf8_lossy(&request.currency).to_string();
    Ok(Outcome::new(json!({"pool": pool.to_string(), "request": address.to_string(), "id": request.id, "amount": amount, "quoted": request.quoted, "currency": currency, "currency_digits": request.currency_digits, "cancel_after": request.cancel_after, "signature": signature.to_string()}))
        .line(format!("requested exchange {} of {amount} units for {} {currency} minor units at rate {} ({signature})", request.id, request.quoted, report::rate(request.rate))))
}

/// Cancels the signer's exchange request `request` once its cancel time has come.
async fn process_cancel<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    request: u64,
) -> Result<Outcome> {
    ctx.pool(&pool).await?;
    let address = pdas::exchange_request(&pool, request);
    let found = accounts::fetch::<ExchangeRequest>(ctx.chain, address)
        .await?
        .with_context(|| format!("pool {pool} has no exchange request {request}"))?;
    ensure!(
        found.user == ctx.me(),
        "request {request} belongs to {}, not {}",
        found.user,
        ctx.me()
    );
    // The program's own rule: the request's frozen cancel time, or its lock's expiry.
    let Some(cancellable_at) = found.cancel_from().ok().flatten() else {
        bail!("request {request} is {:?}, not open", found.status);
    };
    let now = ctx.chain.unix_timestamp().await?;
    let locked = if found.status == RequestStatus::Locked {
        " (locked: the operator is paying it)"
    } else {
        ""
    };
    ensure!(
        now >= cancellable_at,
        "request {request}{locked} can be cancelled from unix time {cancellable_at} ({} s from now)",
        cancellable_at - now
    );
    ctx.ensure_can_pay(1, &[]).await?;
    let signature = ctx
        .send(
            &[],
            &[instructions::exchange_cancel(&ctx.me(), &pool, request)],
        )
        .await?;
    Ok(Outcome::new(json!({"pool": pool.to_string(), "request": request, "cancelled": true, "signature": signature.to_string()}))
        .line(format!("cancelled request {request}: {} units are back ({signature})", found.amount)))
}

/// Units `user` holds in the pool's mint (0 without a token account).
pub async fn holding(chain: &impl Chain, mint: &Pubkey, user: &Pubkey) -> Result<u64> {
    Ok(chain
        .account(pdas::token_account(user, mint))
        .await?
        .map_or(0, |a| {
            allot_client::token::amount_base_units(&a.data).unwrap_or(0)
        }))
}
