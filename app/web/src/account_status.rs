//! What a user sees on the page: balances, credential, and what they can do now — decided with
//! the program's own rules, so the page never offers what the program would refuse.

use allot::state::{
    AllocationRecord, AllocationSource, AttestationView, Credential, ExchangeRequest, HeldEvidence,
    Pool, check_can_allocate_on, check_can_allocate_on_credential, check_can_request,
    max_request_amount,
};
use allot_client::chain::Chain as _;
use allot_client::instructions::Evidence;
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
    /// The operator paused every movement of the pool's units (Token-2022 Pausable): nothing can
    /// be allocated, requested or cancelled until it resumes them.
    pub transfers_paused: bool,
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
    /// What the allocation rests on when eligible, for the page to say: `"credential"` or
    /// `"attestation"` (the user's SAS attestation); `null` when refused.
    pub on: Option<&'static str>,
    /// The evidence the allocation presents when eligible (the credential first, else the SAS
    /// attestation).
    #[serde(skip)]
    pub evidence: Option<Evidence>,
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
    let mint = chain.account(pool.mint).await?;
    let token = mint
        .as_ref()
        .and_then(|mint| allot_client::token::metadata(&mint.data));
    let transfers_paused = mint
        .as_ref()
        .and_then(|mint| allot_client::token::transfers_paused(&mint.data))
        .unwrap_or(false);
    let holdings =
        allot_client::token::balance_base_units(chain, pdas::token_account(user, &pool.mint))
            .await?;
    let credential =
        accounts::fetch::<Credential>(chain, pdas::credential(pool_address, user)).await?;
    let record =
        accounts::fetch::<AllocationRecord>(chain, pdas::allocation_record(pool_address, user))
            .await?;
    // An attestation that cannot be read (its issuer gone, an account SAS does not own) is no
    // evidence the page can offer; the CLI's `user allocate --attestation` names why.
    let attestation = match &pool.attestation {
        Some(accepted) => allot_client::attestation::read(chain, accepted, user)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    // Oldest first, as `requests_of_user` lists them.
    let pending: Vec<_> = accounts::requests_of_user(chain, pool_address, user)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r: &ExchangeRequest| !r.is_final())
        .collect();

    let vault_units = allot_client::token::balance_base_units(chain, pool.vault).await?;
    let state = UserState {
        pool: &pool,
        record: record.as_ref(),
        transfers_paused,
        now,
    };
    let allocation = state.allocation(credential.as_ref(), attestation.as_ref(), vault_units);
    let exchange = state.exchange(holdings);
    Ok(AccountStatus {
        account: user.to_string(),
        sol,
        holdings,
        decimals: pool.decimals,
        token,
        transfers_paused,
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

/// What the page tells a user whose units are paused.
pub const TRANSFERS_PAUSED: &str = "the pool's operator has paused every movement of its units: nothing can move until it resumes them";

/// What the page tells a user who holds none of the pool's units, when the exchange is open.
pub const NOTHING_HELD: &str =
    "you hold no units of this pool yet: units allocated to you (or sent to you) can be exchanged";

/// Whether the program's refusal is "fewer units than requested".
fn is_insufficient_units(error: &anchor_lang::error::Error) -> bool {
    matches!(
        error,
        anchor_lang::error::Error::AnchorError(e)
            if e.error_code_number == u32::from(allot::error::AllotError::InsufficientUnits)
    )
}

/// What the decisions read about one user, at one moment.
struct UserState<'a> {
    pool: &'a Pool,
    record: Option<&'a AllocationRecord>,
    /// The pool's mint is paused (Token-2022 Pausable).
    transfers_paused: bool,
    now: i64,
}

impl UserState<'_> {
    /// Whether the user can be allocated from the vault now, and on which evidence: the
    /// program's own decision ([`allot::state::check_can_allocate_on`]) on the credential, else
    /// on the SAS attestation, so the page never offers an allocation the program would refuse.
    fn allocation(
        &self,
        credential: Option<&Credential>,
        attestation: Option<&AttestationView>,
        vault_units: u64,
    ) -> Eligibility {
        let pool = self.pool;
        let amount = pool.rule.amount;
        let refused = |reason: String| Eligibility {
            eligible: false,
            reason,
            amount,
            on: None,
            evidence: None,
        };
        if self.transfers_paused {
            return refused(TRANSFERS_PAUSED.into());
        }
        let source = AllocationSource::Vault(vault_units);
        let on_credential = credential.map(|credential| {
            check_can_allocate_on_credential(pool, credential, self.record, source, self.now)
                .map(|amount| (amount, credential.period))
        });
        if let Some(Ok((amount, period))) = on_credential {
            return Eligibility {
                eligible: true,
                reason: format!("you can receive {amount} units for period {period}"),
                amount,
                on: Some("credential"),
                evidence: Some(Evidence::Credential),
            };
        }
        let on_attestation = match (attestation, &pool.attestation) {
            (Some(view), Some(accepted)) => Some((
                check_can_allocate_on(
                    pool,
                    HeldEvidence::Attestation(view),
                    self.record,
                    source,
                    self.now,
                ),
                accepted,
            )),
            _ => None,
        };
        if let Some((Ok(amount), accepted)) = on_attestation {
            return Eligibility {
                eligible: true,
                reason: format!("you can receive {amount} units on your SAS attestation"),
                amount,
                on: Some("attestation"),
                evidence: Some(Evidence::from(accepted)),
            };
        }
        // Refused: the credential's reason, else the attestation's, else no evidence at all.
        match (on_credential, on_attestation) {
            (Some(Err(error)), _) | (None, Some((Err(error), _))) => {
                refused(errors::refusal(&error))
            }
            _ if pool.is_retired() => refused(errors::refusal(&anchor_lang::error!(
                allot::error::AllotError::PoolRetired
            ))),
            _ if pool.paused => refused("the pool is paused".into()),
            _ if pool.attestation.is_some() => refused(
                "no credential or SAS attestation yet: a verifier of this pool must attest your activity"
                    .into(),
            ),
            _ => refused(
                "no credential yet: a verifier of this pool must attest your activity".into(),
            ),
        }
    }

    /// Whether `holdings` can be put into an exchange request now, and up to how much: the
    /// program's own decision ([`allot::state::check_can_request`]) for the largest amount the
    /// caps allow, so the page never offers a request the program would refuse.
    fn exchange(&self, holdings: u64) -> ExchangeEligibility {
        let (pool, now) = (self.pool, self.now);
        let refused = |reason: String| ExchangeEligibility {
            eligible: false,
            reason,
            max_amount: 0,
        };
        if self.transfers_paused {
            return refused(TRANSFERS_PAUSED.into());
        }
        // Without a record the request opens an empty one (units only received, or a record
        // closed after the pool's retirement): the program decides on that.
        let empty = AllocationRecord::empty();
        let record = self.record.unwrap_or(&empty);
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
            Err(error) if holdings == 0 && is_insufficient_units(&error) => {
                refused(NOTHING_HELD.into())
            }
            Err(error) => refused(errors::refusal(&error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot::state::{
        AllocationRule, AttestationEvidence, Comparison, ExchangeConfig, ExchangeState, PoolTotals,
        ResourceKind,
    };

    const NOW: i64 = 10 * 86_400 + 5;

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
                credential_max_age: 86_400,
            },
            period_origin: 0,
            period_seconds: 86_400,
            supply_cap: 1_000_000,
            totals: PoolTotals::default(),
            active_verifiers: 1,
            escrow: Pubkey::new_unique(),
            escrow_bump: 255,
            exchange: ExchangeConfig::closed(Pubkey::new_unique()),
            exchange_state: ExchangeState::default(),
            shard_count: 0,
            attestation: Some(AttestationEvidence {
                issuer: Pubkey::new_unique(),
                schema: Pubkey::new_unique(),
                schema_version: 1,
                value_offset: 0,
                accepted_at: 0,
            }),
            retired_at: 0,
        }
    }

    fn attestation(value: u64) -> AttestationView {
        AttestationView {
            value,
            expiry: 0,
            signer_authorised: true,
            accepted_at: 0,
        }
    }

    fn state(pool: &Pool, transfers_paused: bool) -> UserState<'_> {
        UserState {
            pool,
            record: None,
            transfers_paused,
            now: NOW,
        }
    }

    #[test]
    fn an_attestation_allocates_when_there_is_no_credential() {
        let pool = pool();
        let accepted = pool.attestation.unwrap();
        let eligible = state(&pool, false).allocation(None, Some(&attestation(5_000)), 100);
        assert!(eligible.eligible, "{}", eligible.reason);
        assert_eq!(
            eligible.evidence,
            Some(Evidence::Attestation {
                issuer: accepted.issuer,
                schema: accepted.schema,
            })
        );
        assert_eq!(eligible.on, Some("attestation"));
        // Below the rule: refused with the program's reason, no evidence offered.
        let low = state(&pool, false).allocation(None, Some(&attestation(10)), 100);
        assert!(!low.eligible);
        assert_eq!((low.evidence, low.on), (None, None));
        assert!(low.reason.contains("rule"), "{}", low.reason);
        // Neither: the page says what would help.
        let none = state(&pool, false).allocation(None, None, 100);
        assert!(none.reason.contains("SAS attestation"), "{}", none.reason);
    }

    #[test]
    fn paused_units_and_a_retired_pool_are_named() {
        let closed_pool = pool();
        let pool = pool();
        let paused = state(&pool, true).allocation(None, Some(&attestation(5_000)), 100);
        assert_eq!(
            (paused.eligible, paused.reason.as_str()),
            (false, TRANSFERS_PAUSED)
        );
        let exchange = state(&pool, true).exchange(50);
        assert_eq!(
            (exchange.eligible, exchange.reason.as_str()),
            (false, TRANSFERS_PAUSED)
        );
        // Open exchange, nothing held: said so; closed: the program's reason.
        let mut open = Pool { ..closed_pool };
        open.exchange.open = true;
        open.exchange_state.rate = allot::constants::RATE_SCALE;
        let empty = state(&open, false).exchange(0);
        assert_eq!(
            (empty.eligible, empty.reason.as_str()),
            (false, NOTHING_HELD)
        );
        assert!(state(&open, false).exchange(5).eligible);
        let closed = state(&closed_pool, false).exchange(0);
        assert!(closed.reason.contains("closed"), "{}", closed.reason);
        let retired = Pool {
            retired_at: 1,
            ..pool
        };
        let refused = state(&retired, false).allocation(None, Some(&attestation(5_000)), 100);
        assert!(!refused.eligible);
        assert!(refused.reason.contains("retired"), "{}", refused.reason);
        let without_evidence = state(&retired, false).allocation(None, None, 100);
        assert!(
            without_evidence.reason.contains("retired"),
            "{}",
            without_evidence.reason
        );
    }
}
