//! Events: the program's public interface for indexers, the bridge and tests.
//!
//! Every event is emitted with `emit_cpi!`: it travels as the data of a self-invocation
//! (inner instruction) that logs cannot truncate.

use anchor_lang::prelude::*;

use crate::constants::INDICATOR_COUNT;
use crate::state::{
    AllocationRule, AttestationEvidence, ClawbackReason, EvidenceKind, ExchangeConfig, ResourceKind,
};

/// A pool was created.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCreated {
    pub pool: Pubkey,
    pub creator: Pubkey,
    pub pool_id: u64,
    pub operator: Pubkey,
    pub kind: ResourceKind,
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub decimals: u8,
    pub transferable: bool,
    /// Whether the operator may pause every movement of the units (`pool_set_transfers_paused`).
    pub pausable: bool,
    pub supply_cap: u64,
    pub rule: AllocationRule,
    pub period_origin: i64,
    pub period_seconds: i64,
}

/// The operator changed the allocation rule.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRuleUpdated {
    pub pool: Pubkey,
    pub previous: AllocationRule,
    pub rule: AllocationRule,
}

/// The operator paused or unpaused allocations.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolPauseChanged {
    pub pool: Pubkey,
    pub paused: bool,
}

/// The operator paused (`paused`) or resumed every movement of a pausable pool's units.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolTransfersPauseChanged {
    pub pool: Pubkey,
    pub paused: bool,
}

/// The operator named the SAS schema whose attestations the pool accepts as evidence (`None`: it
/// accepts none any more).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolAttestationSet {
    pub pool: Pubkey,
    pub evidence: Option<AttestationEvidence>,
}

/// The operator named the pool's token (Token-2022 metadata in its mint).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolMetadataSet {
    pub pool: Pubkey,
    pub mint: Pubkey,
    pub name: String,
    pub symbol: String,
    pub uri: String,
}

/// The operator minted units into the vault.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolFunded {
    pub pool: Pubkey,
    pub amount: u64,
    pub total_minted: u64,
}

/// The operator proposed a successor (step 1 of 2).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorTransferProposed {
    pub pool: Pubkey,
    pub operator: Pubkey,
    pub proposed: Pubkey,
}

/// The proposed successor accepted and is now the operator (step 2 of 2).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorTransferred {
    pub pool: Pubkey,
    pub previous: Pubkey,
    pub operator: Pubkey,
    /// The settlement authority after the transfer: always the new operator (who names its own
    /// bridge key with `pool_set_exchange`); keys that locked requests may still finish those.
    pub settlement_authority: Pubkey,
}

/// The operator authorised a verifier.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierAdded {
    pub pool: Pubkey,
    pub verifier: Pubkey,
}

/// The operator deactivated or reactivated a verifier.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierActiveChanged {
    pub pool: Pubkey,
    pub verifier: Pubkey,
    pub active: bool,
}

/// A verifier issued or updated a credential.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialIssued {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub verifier: Pubkey,
    pub period: u64,
    pub indicators: [u64; INDICATOR_COUNT],
    pub issued_at: i64,
    pub expires_at: i64,
    pub evidence_hash: [u8; 32],
}

/// A verifier revoked a credential.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRevoked {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub verifier: Pubkey,
    pub period: u64,
    pub revoked_at: i64,
}

/// A verifier closed a user's credential: its rent went back to whoever paid it, and for a holder
/// last allocated on it the empty address counts as revoked evidence.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialClosed {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub verifier: Pubkey,
    pub rent_payer: Pubkey,
    /// Lamports returned to `rent_payer`.
    pub lamports: u64,
}

/// The operator published (or replaced) a user list root.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct UserListPublished {
    pub pool: Pubkey,
    pub period: u64,
    pub root: [u8; 32],
    pub user_count: u32,
}

/// Units were allocated to a user.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct Allocated {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub period: u64,
    pub amount: u64,
    pub evidence: EvidenceKind,
    /// Units ever allocated to this user, after this allocation.
    pub user_allocated: u64,
    /// Units users hold by allocation on the pool's books (`Pool::held_by_users`), after this
    /// allocation; for a sharded allocation, as of the shard's last sweep (the pool account is
    /// not written).
    pub pool_outstanding: u64,
    /// The allocation shard the units came from (`None`: the pool's vault, or minted).
    pub shard: Option<u16>,
    /// Units of `amount` that repaid the user's debt (`AllocationRecord::debt`): they stayed with
    /// the pool, and the user received `amount` less them.
    pub debt_repaid: u64,
}

/// Units were recovered from a user.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ClawedBack {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub amount: u64,
    pub reason: ClawbackReason,
    pub evidence: EvidenceKind,
    /// True when the units were burned (non-transferable pool), false when returned to the vault.
    pub burned: bool,
    /// Units users hold by allocation on the pool's books (`Pool::held_by_users`), after this
    /// clawback.
    pub pool_outstanding: u64,
    /// Units the clawback could not find in the user's account (moved elsewhere first), still
    /// owed: the user's next allocation and request repay them first.
    pub debt: u64,
}

/// The operator changed the exchange conditions or payout settings.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeConfigured {
    pub pool: Pubkey,
    pub config: ExchangeConfig,
}

/// The operator recorded a period's service profit.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ProfitReported {
    pub pool: Pubkey,
    pub period: u64,
    /// Profit in the currency's minor units.
    pub amount: u64,
    pub currency: [u8; 3],
    pub evidence_hash: [u8; 32],
    /// The pool's rate after the report.
    pub rate_after: u64,
}

/// The rate in force changed (funds minor units per base unit × `RATE_SCALE`).
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct RateUpdated {
    pub pool: Pubkey,
    pub previous: u64,
    pub rate: u64,
    /// The profit report's period when a report set it; `None` when the operator fixed it.
    pub report_period: Option<u64>,
}

/// A user requested an exchange: everything the payment bridge needs to pay.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRequested {
    pub pool: Pubkey,
    /// The ExchangeRequest account (the bridge's idempotency key).
    pub request: Pubkey,
    pub id: u64,
    pub user: Pubkey,
    pub kind: ResourceKind,
    /// Units escrowed.
    pub amount: u64,
    /// The rate snapshot.
    pub rate: u64,
    /// Value of one base unit (the rate, or rate − strike for options), same scale.
    pub unit_value: u64,
    /// Funds owed, minor units, rounded down.
    pub quoted: u64,
    pub currency: [u8; 3],
    /// Minor-unit digits of `currency` (`quoted` is in 10^-digits units).
    pub currency_digits: u8,
    /// Stablecoin paid on chain at settlement, if configured (frozen in the request).
    pub payout_mint: Option<Pubkey>,
    pub created_at: i64,
    /// From when the user may cancel the request while it is still pending (unix seconds).
    pub cancel_after: i64,
    /// Units the user sent that repaid its debt (`AllocationRecord::debt`) to the pool's vault
    /// before the rest (`amount`) was escrowed.
    pub debt_repaid: u64,
}

/// The settlement authority locked a request for an off-chain payout: the user cannot cancel it
/// until `cancel_after_lock`; settle or reject ends it.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeLocked {
    pub pool: Pubkey,
    pub request: Pubkey,
    pub id: u64,
    pub user: Pubkey,
    pub locked_at: i64,
    /// From when the user may cancel the locked request anyway (unix seconds).
    pub cancel_after_lock: i64,
    /// The settlement authority that locked it (it may settle or reject it even after the
    /// pool's settlement authority moves).
    pub locked_by: Pubkey,
}

/// The settlement authority paid and settled a request.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeSettled {
    pub pool: Pubkey,
    pub request: Pubkey,
    pub id: u64,
    pub user: Pubkey,
    pub amount: u64,
    /// Funds owed, the currency's minor units.
    pub quoted: u64,
    /// Funds paid, the currency's minor units (equals `quoted`).
    pub paid_amount: u64,
    /// The mint paid on chain in this transaction (`None`: paid off chain).
    pub payout_mint: Option<Pubkey>,
    /// Base units of `payout_mint` transferred to the user (`quoted` scaled to the mint's
    /// decimals; 0 when paid off chain).
    pub payout_base_units: u64,
    /// Hash of the payment platform's transaction id.
    pub payout_reference: [u8; 32],
    /// True when the funds moved on chain in this same transaction.
    pub onchain_payout: bool,
    /// True when the escrowed units were burned, false when returned to the vault.
    pub units_burned: bool,
    pub settled_at: i64,
}

/// The user cancelled a request after the timeout; units returned.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeCancelled {
    pub pool: Pubkey,
    pub request: Pubkey,
    pub id: u64,
    pub user: Pubkey,
    pub amount: u64,
    pub cancelled_at: i64,
}

/// The settlement authority rejected a request; units returned.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRejected {
    pub pool: Pubkey,
    pub request: Pubkey,
    pub id: u64,
    pub user: Pubkey,
    pub amount: u64,
    pub reason: u16,
    pub rejected_at: i64,
}

/// A final request was closed and its rent returned to whoever paid it.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRequestClosed {
    pub pool: Pubkey,
    pub request: Pubkey,
    pub id: u64,
    pub rent_payer: Pubkey,
    pub lamports: u64,
}

/// The operator created an allocation shard.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ShardCreated {
    pub pool: Pubkey,
    pub shard: Pubkey,
    pub index: u16,
    pub vault: Pubkey,
}

/// The operator moved units from the pool's vault into a shard's vault.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ShardFunded {
    pub pool: Pubkey,
    pub index: u16,
    pub amount: u64,
    /// Units the shard may still allocate, after the funding.
    pub shard_available: u64,
    /// Units staged in all of the pool's shards, after the funding.
    pub pool_staged: u64,
}

/// The operator moved units from a shard's vault back to the pool's vault.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ShardDrained {
    pub pool: Pubkey,
    pub index: u16,
    pub amount: u64,
    /// Units the shard may still allocate, after the drain.
    pub shard_available: u64,
    /// Units staged in all of the pool's shards, after the drain.
    pub pool_staged: u64,
}

/// A shard's allocations since its last sweep were folded into the pool's totals.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct ShardSwept {
    pub pool: Pubkey,
    pub index: u16,
    /// Units folded in by this sweep.
    pub units: u64,
    /// Allocations folded in by this sweep.
    pub allocations: u64,
    /// The pool's units ever allocated, after the sweep.
    pub pool_allocated: u64,
    /// Units users hold by allocation on the pool's books, after the sweep.
    pub pool_outstanding: u64,
}

/// The operator retired the pool: no allocation or clawback from now on.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRetired {
    pub pool: Pubkey,
    pub operator: Pubkey,
    pub retired_at: i64,
}

/// A retired pool's allocation record was closed; its rent went back to its payer.
#[event]
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationRecordClosed {
    pub pool: Pubkey,
    pub user: Pubkey,
    pub record: Pubkey,
    pub rent_payer: Pubkey,
    /// Lamports returned to `rent_payer`.
    pub lamports: u64,
}
