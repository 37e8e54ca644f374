//! What a user sees on the page: balances, credential, and what they can do now — decided with
//! the program's own rules, so the page never offers what the program would refuse.

use allot::state::{
    AllocationRecord, AllocationSource, Credential, ExchangeRequest, Pool,
    check_can_allocate_on_credential, check_can_request, max_request_amount,
};
use allot_client::chain::Chain as _;
use allot_client::rpc_chain::RpcChain;
use allot_client::{accounts, errors, pdas};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use serde::Serialize;

/// The `/api/status` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    /// The wallet (base58).
    pub account: String,
    /// Its SOL balance, lamports.
    pub sol: u64,
    /// Units of the pool's resource it holds.
    pub holdings: u64,
    /// The mint's decimals.
    pub decimals: u8,
    /// The token's name, from its mint's Token-2022 metadata (`None`: not named yet).
    pub token: Option<allot_client::token::TokenName>,
    /// Its credential in the pool, if any.
    pub credential: Option<CredentialStatus>,
    /// Whether it can be allocated now.
    pub allocation: Eligibility,
    /// Whether it can request an exchange now.
    pub exchange: ExchangeEligibility,
    /// Its pending exchange requests.
    pub pending: Vec<PendingRequest>,
}

/// The credential, as the page shows it.
#[derive(Debug, Serialize)]
pub struct CredentialStatus {
    /// A credential account exists.
    pub present: bool,
    /// The verifier withdrew it.
    pub revoked: bool,
    /// It has expired.
    pub expired: bool,
    /// The period it covers.
    pub period: u64,
    /// The indicator the pool's rule reads.
    pub indicator: u64,
}

/// Whether an allocation is possible now, and of how much.
#[derive(Debug, Serialize)]
pub struct Eligibility {
    /// It is.
    pub eligible: bool,
    /// Why (not).
    pub reason: String,
    /// Units an allocation moves.
    pub amount: u64,
}

/// Whether an exchange request is possible now, and up to how much.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeEligibility {
    /// It is.
    pub eligible: bool,
    /// Why (not).
    pub reason: String,
    /// Most units one request may take now.
    pub max_amount: u64,
}

/// A pending request, as the page lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRequest {
    /// Its id in the pool.
    pub id: u64,
    /// Units escrowed.
    pub amount: u64,
    /// Funds owed, currency minor units.
    pub quoted: u64,
    /// ISO currency code.
    pub currency: String,
    /// Minor-unit digits of `currency` (frozen in the request).
    pub currency_digits: u8,
    /// When it was made (unix seconds).
    pub created_at: i64,
    /// When the user may cancel it (unix seconds): its cancel time, or its lock's expiry.
    pub cancellable_at: i64,
    /// Whether the operator has locked it to pay it (no cancel until the lock expires).
    pub locked: bool,
}

/// Everything about `user` in `pool_address`, read at one moment.
pub async fn account_status(
    chain: &RpcChain,
    pool_address: &Pubkey,
    user: &Pubkey,
) -> Result<AccountStatus> {
    let pool = accounts::fetch::<Pool>(chain, *pool_address)
        .await?
        .with_context(|| format!("pool {pool_address} does not exist on this cluster"))?;
    let now = chain.unix_timestamp().await?;
    let sol = chain.account(*user).await?.map_or(0, |a| a.lamports);
    let token = chain
        .account(pool.mint)
        .await?
        .and_then(|mint| allot_client::token::metadata(&mint.data));
    let holdings =
        allot_client::token::balance_base_units(chain, pdas::token_account(user, &pool.mint))
            .await?;
    let credential =
        accounts::fetch::<Credential>(chain, pdas::credential(pool_address, user)).await?;
    let record =
        accounts::fetch::<AllocationRecord>(chain, pdas::allocation_record(pool_address, user))
            .await?;
    let mut pending: Vec<_> = accounts::requests_of_user(chain, pool_address, user)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r: &ExchangeRequest| !r.is_final())
        .collect();
    pending.sort_by_key(|r| r.id);

    let vault_units = allot_client::token::balance_base_units(chain, pool.vault).await?;
    let allocation = allocation_eligibility(
        &pool,
        credential.as_ref(),
        record.as_ref(),
        vault_units,
        now,
    );
    let exchange = exchange_eligibility(&pool, record.as_ref(), holdings, now);
    Ok(AccountStatus {
        account: user.to_string(),
        sol,
        holdings,
        decimals: pool.decimals,
        token,
        credential: credential.map(|c| CredentialStatus {
            present: true,
            revoked: c.revoked,
            expired: c.is_expired(now),
            period: c.period,
            indicator: c.indicator(&pool.rule),
        }),
        allocation,
        exchange,
        pending: pending
            .into_iter()
            .map(|r| PendingRequest {
                id: r.id,
                amount: r.amount,
                quoted: r.quoted,
                currency: String::from_utf8_lossy(&r.currency).into_owned(),
                currency_digits: r.currency_digits,
                created_at: r.created_at,
                // The program's own rule: the frozen cancel time, or the lock's expiry.
                cancellable_at: r.cancel_from().ok().flatten().unwrap_or(i64::MAX),
                locked: r.status == allot::state::RequestStatus::Locked,
            })
            .collect(),
    })
}

/// Whether the user can be allocated from the vault now: the program's own decision
/// ([`allot::state::check_can_allocate_on_credential`]), so the page never offers an allocation
/// the program would refuse.
fn allocation_eligibility(
    pool: &Pool,
    credential: Option<&Credential>,
    record: Option<&AllocationRecord>,
    vault_units: u64,
    now: i64,
) -> Eligibility {
    let amount = pool.rule.amount;
    let refused = |reason: String| Eligibility {
        eligible: false,
        reason,
        amount,
    };
    // The program reads the credential account; without one the allocation fails.
    let Some(credential) = credential else {
        if pool.paused {
            return refused("the pool is paused".into());
        }
        return refused(
            "no credential yet: a verifier of this pool must attest your activity".into(),
        );
    };
    let source = AllocationSource::Vault(vault_units);
    match check_can_allocate_on_credential(pool, credential, record, source, now) {
        Ok(amount) => Eligibility {
            eligible: true,
            reason: format!(
                "you can receive {amount} units for period {}",
                credential.period
            ),
            amount,
        },
        Err(error) => refused(errors::refusal(&error)),
    }
}

/// Whether `holdings` can be put into an exchange request now, and up to how much: the
/// program's own decision ([`allot::state::check_can_request`]) for the largest amount the caps
/// allow, so the page never offers a request the program would refuse.
fn exchange_eligibility(
    pool: &Pool,
    record: Option<&AllocationRecord>,
    holdings: u64,
    now: i64,
) -> ExchangeEligibility {
    let refused = |reason: String| ExchangeEligibility {
        eligible: false,
        reason,
        max_amount: 0,
    };
    // Without a record the request opens an empty one (units only received, or a record
    // closed after the pool's retirement): the program decides on that.
    let empty = AllocationRecord::empty();
    let record = record.unwrap_or(&empty);
    let max_amount = max_request_amount(pool, record, holdings, now);
    // Asked for at least one unit, so that an empty holding or a used-up cap is named.
    match check_can_request(pool, record, holdings, max_amount.max(1), now) {
        Ok(quote) => ExchangeEligibility {
            eligible: true,
            reason: format!(
                "you can exchange up to {max_amount} units (for {} minor units of {})",
                quote.quoted,
                String::from_utf8_lossy(&pool.exchange.currency)
            ),
            max_amount,
        },
        Err(error) => refused(errors::refusal(&error)),
    }
}
