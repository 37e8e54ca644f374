//! # allot
//!
//! A payment platform (or a merchant on it) runs a **pool** of virtual resources — virtual stocks,
//! assets, options or tokens tied to its service profits — and hands them to its users by a rule
//! anyone can audit on chain.
//!
//! * The pool owns a Token-2022 mint whose mint authority **and permanent delegate** is the pool
//!   PDA, so units it allocated can be recovered from the user's own wallet account (clawback)
//!   without the user's signature. Non-transferable pools use the NonTransferable extension:
//!   allocation mints, clawback burns.
//! * **Evidence** of a user's service indicators comes from third-party **verifiers** the operator
//!   authorises per pool (credential accounts), or from the operator's published **user list**
//!   (a Merkle root per period, proven at allocation time).
//! * **Allocation** is permissionless to send (the user or a crank) and at most once per
//!   (pool, user, period). **Clawback** is permissionless too, and only succeeds when the evidence
//!   shows the rule no longer holds.
//!
//! Trust model: the operator controls the rule, the verifier set and the user lists; verifiers
//! control credentials. Neither can move a user's units except through the rule: clawback needs
//! evidence that the user no longer qualifies, and never exceeds what the pool allocated.
//!
//! Every state change emits an event with `emit_cpi!` (inner-instruction data, never truncated).

use anchor_lang::prelude::*;

pub mod allocation;
pub mod constants;
pub mod error;
pub mod events;
pub mod evidence;
pub mod exchange_refund;
pub mod idl_extra;
pub mod instructions;
pub mod merkle;
pub mod payout_mint;
pub mod pda_account;
pub mod pool_tokens;
pub mod state;

pub use evidence::ListProof;
use instructions::*;
use state::{AllocationRule, ExchangeConfig};

declare_id!("D9NNYHsHysxSYRWiJYM9w8Bkr3ooUQgJ9wQLodeMMWvE");

#[cfg(not(feature = "no-entrypoint"))]
solana_security_txt::security_txt! {
    name: "allot",
    project_url: "https://github.com/allot-dev/allot",
    contacts: "link:https://github.com/allot-dev/allot/security/advisories/new",
    policy: "https://github.com/allot-dev/allot/blob/main/SECURITY.md",
    source_code: "https://github.com/allot-dev/allot"
}

#[program]
pub mod allot {
    use super::*;

    /// Creates a pool owned by the signer (its first operator), with a Token-2022 mint (pool PDA
    /// as mint authority and permanent delegate; a metadata pointer to itself for
    /// `pool_set_metadata`; NonTransferable unless `transferable`; Pausable, the pool its
    /// authority, when `pausable`) and a vault.
    ///
    /// Period 0 starts now. The pool address depends only on the creator and `pool_id`, so
    /// nobody else can take a creator's pool address.
    pub fn pool_create(ctx: Context<PoolCreate>, args: PoolCreateArgs) -> Result<()> {
        instructions::pool_create::handler(ctx, args)
    }

    /// Operator: replaces the allocation rule. It applies from the next allocation or clawback on;
    /// past allocations stand.
    ///
    /// Hazard: tightening the rule makes holders whose evidence no longer meets it
    /// claw-backable; announce rule changes to users before sending them.
    pub fn pool_update_rule(ctx: Context<PoolUpdateRule>, rule: AllocationRule) -> Result<()> {
        instructions::pool_update_rule::handler(ctx, rule)
    }

    /// Operator: pauses (`true`) or resumes (`false`) allocations. A paused pool refuses
    /// allocations; clawbacks keep working.
    pub fn pool_set_paused(ctx: Context<PoolSetPaused>, paused: bool) -> Result<()> {
        instructions::pool_set_paused::handler(ctx, paused)
    }

    /// Operator of a pool created `pausable`: pauses (`true`) or resumes (`false`) every movement
    /// of its units, through Token-2022's Pausable extension on its mint — holders' transfers
    /// and burns as well as everything the program moves (allocations, funding, clawbacks,
    /// exchange requests, cancels and settlements fail with Token-2022's `MintPaused` while
    /// paused). Wallets and explorers read the state from the mint. To stop allocations only,
    /// use `pool_set_paused`.
    ///
    /// Hazard: a bridge that paid a locked request off chain cannot settle it while transfers
    /// are paused (its user cannot cancel it either): resume before the request's lock expires,
    /// or the user may cancel a request that was paid once transfers move again.
    pub fn pool_set_transfers_paused(
        ctx: Context<PoolSetTransfersPaused>,
        paused: bool,
    ) -> Result<()> {
        instructions::pool_set_transfers_paused::handler(ctx, paused)
    }

    /// Operator: accepts attestations of the Solana Attestation Service as evidence, beside
    /// credentials and user lists: those of the SAS `schema` passed (one schema version), whose
    /// field number `field_index` (a `u64` after fixed-size fields only) the rule reads. The
    /// schema's own credential is the issuer; an attestation counts while its signer is among
    /// that issuer's authorised signers and it has not expired. With neither `schema` nor
    /// `field_index`, the pool stops accepting attestations.
    ///
    /// Hazard: holders allocated on attestations before the pool names another schema or field
    /// (or stops accepting attestations) can no longer be clawed back on an attestation
    /// (`AttestationSchemaChanged`, or `AttestationNotConfigured`) until they are allocated again
    /// on the new one; naming the same schema and field again changes nothing. An attestation's
    /// empty address counts as revoked: an issuer must not compress or otherwise close the
    /// attestations a pool relies on, and removing a signer from the issuer withdraws everything
    /// it signed.
    pub fn pool_set_attestation(
        ctx: Context<PoolSetAttestation>,
        field_index: Option<u8>,
    ) -> Result<()> {
        instructions::pool_set_attestation::handler(ctx, field_index)
    }

    /// Operator: names the pool's token (name, symbol, URI) in the Token-2022 metadata of its
    /// mint, so wallets and explorers show it. The first call initialises it (the pool signs as
    /// mint authority and becomes the update authority), later calls update it field by field. The
    /// operator pays the rent of the larger mint (topped up before Token-2022 grows it).
    pub fn pool_set_metadata(
        ctx: Context<PoolSetMetadata>,
        metadata: TokenMetadataArgs,
    ) -> Result<()> {
        instructions::pool_set_metadata::handler(ctx, metadata)
    }

    /// Operator: mints `amount` units into the vault of a transferable pool, up to the supply cap.
    pub fn pool_fund(ctx: Context<PoolFund>, amount: u64) -> Result<()> {
        instructions::pool_fund::handler(ctx, amount)
    }

    /// Operator: proposes a new operator (step 1 of 2; replaces any pending proposal). Nothing
    /// changes until the proposed key signs `pool_accept_operator`.
    pub fn pool_propose_operator(
        ctx: Context<PoolProposeOperator>,
        new_operator: Pubkey,
    ) -> Result<()> {
        instructions::pool_propose_operator::handler(ctx, new_operator)
    }

    /// Proposed operator: accepts and becomes the operator and the settlement authority (step 2
    /// of 2): neither the previous operator nor its bridge key can lock, settle or reject any
    /// longer (a new operator names its own bridge key with `pool_set_exchange`). Requests the old
    /// key locked stay its to settle or reject (it may have paid them off chain); their users may
    /// cancel once the lock expires, as always.
    pub fn pool_accept_operator(ctx: Context<PoolAcceptOperator>) -> Result<()> {
        instructions::pool_accept_operator::handler(ctx)
    }

    /// Operator: authorises `authority` as a verifier of this pool (to issue, update and revoke
    /// credentials in it).
    pub fn verifier_add(ctx: Context<VerifierAdd>, authority: Pubkey) -> Result<()> {
        instructions::verifier_add::handler(ctx, authority)
    }

    /// Operator: deactivates (`false`, i.e. removes) or reactivates (`true`) a verifier. An
    /// inactive verifier can no longer write credentials; the credentials it wrote stay valid until
    /// revoked, expired or replaced.
    pub fn verifier_set_active(ctx: Context<VerifierSetActive>, active: bool) -> Result<()> {
        instructions::verifier_set_active::handler(ctx, active)
    }

    /// Active verifier: writes or updates a user's credential (indicators for a period, expiry,
    /// evidence hash). Updating clears a previous revocation; a lower indicator may make the user's
    /// holdings claw-backable.
    pub fn credential_issue(
        ctx: Context<CredentialIssue>,
        args: CredentialIssueArgs,
    ) -> Result<()> {
        instructions::credential_issue::handler(ctx, args)
    }

    /// Active verifier: revokes a user's credential: it no longer supports allocations, and the
    /// user's allocated units become claw-backable. A later `credential_issue` can reinstate the
    /// user.
    pub fn credential_revoke(ctx: Context<CredentialRevoke>) -> Result<()> {
        instructions::credential_revoke::handler(ctx)
    }

    /// Active verifier: closes a user's credential and returns its rent to whoever paid it (the
    /// verifier key that first issued it). For a holder last allocated on a credential the
    /// empty address counts as revoked evidence: anyone may then claw the holder's units back
    /// (`ClawbackReason::CredentialClosed`); for a holder last allocated on a list or an
    /// attestation it proves nothing. A later `credential_issue` creates it again.
    ///
    /// Hazard: the crank finds clawbacks by scanning credential accounts, so it does not see a
    /// closed one; revoke first, let the crank claw back, then close.
    pub fn credential_close(ctx: Context<CredentialClose>) -> Result<()> {
        instructions::credential_close::handler(ctx)
    }

    /// Operator: publishes the Merkle root of a period's user list. Replaceable until an
    /// allocation or a clawback uses it (then sealed). Any period may be published ahead of time; a
    /// leaf commits to its period, so a list can never serve another period.
    ///
    /// Hazard: a root can be replaced before its first use; users who want certainty allocate
    /// as soon as the list is published.
    pub fn user_list_publish(
        ctx: Context<UserListPublish>,
        args: UserListPublishArgs,
    ) -> Result<()> {
        instructions::user_list_publish::handler(ctx, args)
    }

    /// Anyone: allocates the rule's amount to `user` for the current period, on a credential
    /// (pass `credential`, `proof = None`), a user-list proof (pass `user_list` and `proof`) or a
    /// SAS attestation of the pool's schema (pass `attestation` and `attestation_issuer`): from
    /// the vault (transferable pools) or minted (non-transferable). The payer funds the user's token
    /// account and allocation record when they are new. A user who owes units (a clawback found
    /// them moved away: `AllocationRecord::debt`) repays them first: it receives the amount less
    /// the debt, the rest staying with the pool.
    pub fn allocate(ctx: Context<Allocate>, proof: Option<ListProof>) -> Result<()> {
        instructions::allocate::handler(ctx, proof)
    }

    /// Anyone: `allocate` drawing on allocation shard `shard` instead of the pool's vault. It
    /// reads the pool and writes only the shard (and the shard's vault), so allocations on
    /// different shards of one pool can land in parallel on a cluster; the pool's totals count
    /// them at the next `shard_sweep`. A user list must already have been used by a direct
    /// `allocate` (which seals its root), and a user who owes units is allocated by `allocate`
    /// (its repayment goes to the pool's vault, which this instruction does not write).
    pub fn allocate_sharded(ctx: Context<AllocateSharded>, proof: Option<ListProof>) -> Result<()> {
        instructions::allocate_sharded::handler(ctx, proof)
    }

    /// Operator: adds allocation shard number `pool.shard_count` (transferable pools, at most
    /// 64), with an empty vault: a token account PDA owned by the shard, which only this program
    /// can create (not the shard's associated account, whose address exists before the shard
    /// does and could be allocated into).
    pub fn shard_create(ctx: Context<ShardCreate>) -> Result<()> {
        instructions::shard_create::handler(ctx)
    }

    /// Operator: moves `amount` units from the pool's vault into a shard's vault (staged: out
    /// of the vault, not yet allocated).
    pub fn shard_fund(ctx: Context<ShardFund>, amount: u64) -> Result<()> {
        instructions::shard_fund::handler(ctx, amount)
    }

    /// Operator: moves `amount` units the shard has not allocated back to the pool's vault; they
    /// stop being staged.
    pub fn shard_drain(ctx: Context<ShardDrain>, amount: u64) -> Result<()> {
        instructions::shard_drain::handler(ctx, amount)
    }

    /// Anyone: folds a shard's allocations since its last sweep into the pool's totals (from
    /// `staged` to `allocated`). A sweep with nothing new succeeds and reports zero, so a crank may
    /// sweep every shard blindly.
    ///
    /// Hazard: profit-share rates divide by the units users hold on the pool's books, which
    /// count sharded allocations only once swept; sweep every shard before a profit report
    /// (the CLI's report does).
    pub fn shard_sweep(ctx: Context<ShardSweep>) -> Result<()> {
        instructions::shard_sweep::handler(ctx)
    }

    /// Operator: sets the exchange conditions (window, minimum holding and holding time, caps,
    /// cancel and lock timeouts), pricing (fixed rate or profit share), currency and its
    /// minor-unit digits, option strike, settle action, settlement authority and optional
    /// on-chain payout mint (passed as an account: it must have at least the currency's digits
    /// as decimals, and no transfer fee or hook). Under fixed pricing the rate becomes
    /// `fixed_rate`; under profit-share pricing it changes with the next profit report. Changes
    /// apply to later requests only.
    pub fn pool_set_exchange(ctx: Context<PoolSetExchange>, config: ExchangeConfig) -> Result<()> {
        instructions::pool_set_exchange::handler(ctx, config)
    }

    /// Operator: records a period's service profit (immutable). Under profit-share pricing it
    /// sets the rate from the units users hold on the pool's books at this moment
    /// (`held_by_users`: outstanding less staged in shards): `amount × share_bps / 10,000`
    /// spread over them, in `RATE_SCALE` fixed point, rounded down.
    ///
    /// Hazard: the rate divides by the units outstanding when the report lands; report before
    /// large allocations or clawbacks change them, or the rate shifts accordingly. Sharded
    /// allocations count once swept: sweep the shards first.
    pub fn profit_report_record(
        ctx: Context<ProfitReportRecord>,
        args: ProfitReportArgs,
    ) -> Result<()> {
        instructions::profit_report_record::handler(ctx, args)
    }

    /// User (wallet signature): escrows `amount` units and opens a pending exchange request
    /// quoted at the rate in force, with the terms it will be settled or cancelled under (payout
    /// mint, currency and its digits, cancel time, lock timeout) frozen from the pool's
    /// configuration of this moment. This is the transaction users sign in Phantom. A user who
    /// owes units (`AllocationRecord::debt`) repays them first, to the vault: the request is
    /// for `amount` less the debt, and must be larger than it.
    ///
    /// `id` names the request (its address is `[SEED_EXCHANGE_REQUEST, pool, id]`) and is the
    /// client's choice, at most `MAX_REQUEST_ID`: clients draw a random one, so users requesting
    /// at once never race for an address. An id whose request account exists (open, or final
    /// and not closed) is refused (`RequestIdInUse`); a closed request's id may be taken again,
    /// so the bridge identifies a request by its address *and* what it says (id, user,
    /// amounts, `created_at`).
    pub fn exchange_request(ctx: Context<ExchangeRequestOpen>, id: u64, amount: u64) -> Result<()> {
        instructions::exchange_request::handler(ctx, id, amount)
    }

    /// Settlement authority: locks a pending request before paying it off chain (Pending →
    /// Locked, recording the signer as `locked_by`). The user cannot cancel a locked request until
    /// its lock expires (the request's frozen `lock_timeout_seconds` after the lock); settle or
    /// reject, by the key that locked it (even after the pool's settlement authority moves), ends it.
    ///
    /// `expected_created_at` is the request's `created_at` as the signer read it: a request id
    /// is the client's and may be taken again once a request is closed, so a lock signed for one
    /// request is refused on a later one at its id (`RequestInstanceMismatch`) instead of holding
    /// that user's units until the lock expires.
    ///
    /// Hazard (for users): while locked, the units wait on the operator's payment; the lock's
    /// expiry is the user's way out if the operator never settles.
    pub fn exchange_lock(ctx: Context<ExchangeLock>, expected_created_at: i64) -> Result<()> {
        instructions::exchange_lock::handler(ctx, expected_created_at)
    }

    /// Settlement authority (pending), or the key that locked it (locked): records the payment
    /// and settles an open request once (Pending or Locked → Settled), burning or re-vaulting the
    /// escrowed units. A request whose frozen terms name a payout mint is paid on chain here,
    /// atomically: the quote scaled from the currency's minor units to the mint's base units, from
    /// the treasury to the user. `args.expected_created_at` names the request as the signer read
    /// it, as `exchange_lock`'s does: a settlement signed for a request is refused on a later one
    /// at its id (`RequestInstanceMismatch`), so stored settle bytes still in flight when a
    /// request was cancelled, closed and its id taken again never settle the later request.
    pub fn exchange_settle(ctx: Context<ExchangeSettle>, args: ExchangeSettleArgs) -> Result<()> {
        instructions::exchange_settle::handler(ctx, args)
    }

    /// User: cancels their request once it has been pending past its `cancel_after`, or locked
    /// past its lock's expiry (the request's own terms, fixed when it was made). The units go
    /// back to the user and to the exchange caps of the period the request counted in.
    pub fn exchange_cancel(ctx: Context<ExchangeCancel>) -> Result<()> {
        instructions::exchange_cancel::handler(ctx)
    }

    /// Settlement authority (pending), or the key that locked it (locked): rejects an open
    /// request with a reason code;
    /// units go back to the user and to the exchange caps of the period the request counted in.
    /// `expected_created_at` names the request as the signer read it (`RequestInstanceMismatch`
    /// on a later request at its id, as for `exchange_lock` and `exchange_settle`).
    pub fn exchange_reject(
        ctx: Context<ExchangeReject>,
        expected_created_at: i64,
        reason: u16,
    ) -> Result<()> {
        instructions::exchange_reject::handler(ctx, expected_created_at, reason)
    }

    /// Anyone: closes a final request and returns its rent to whoever paid it. Its address is
    /// free again: a later request may take the same id (see `exchange_request`).
    pub fn exchange_close(ctx: Context<ExchangeClose>) -> Result<()> {
        instructions::exchange_close::handler(ctx)
    }

    /// Anyone: recovers `min(balance, allocated − clawed back − exchanged)` of a user's own
    /// allocated units (what it cannot find, moved away before, is recorded as the user's debt,
    /// which its next allocation and request repay first; a clawback that only records the debt
    /// lands too) when their evidence no longer meets the rule (revoked, expired or failing
    /// credential, or one a verifier closed; a user-list value that fails the rule, from a list
    /// of a period that has begun and not older than the user's last allocation, the clawback
    /// sealing that list; or a SAS attestation closed, expired, failing or signed by a signer
    /// its issuer removed): back to the vault, or burned when the pool is non-transferable. An
    /// empty credential or attestation address counts only against a holder last allocated on
    /// that kind of evidence (and, for an attestation, under the pool's current schema).
    pub fn clawback(ctx: Context<Clawback>, proof: Option<ListProof>) -> Result<()> {
        instructions::clawback::handler(ctx, proof)
    }

    /// Operator: retires the pool, for good. A retired pool allocates and claws back no more
    /// (`PoolRetired`); exchange requests, locks, settlements, cancels and rejections go on, and
    /// its allocation records may be closed for their rent (`allocation_record_close`).
    ///
    /// Hazard: holders whose evidence fails keep their units once the pool is retired: run the
    /// clawbacks due (`allot crank`) before retiring.
    pub fn pool_retire(ctx: Context<PoolRetire>) -> Result<()> {
        instructions::pool_retire::handler(ctx)
    }

    /// Anyone: closes an allocation record of a retired pool and returns its rent to whoever
    /// paid it, once it no longer counts the current period's exchange requests (per-user cap)
    /// nor the holding time of its last allocation, and its user owes nothing (a clawback debt). A retired pool opens no allocation again,
    /// so no second allocation in a period can follow. The user's next exchange request opens
    /// an empty record again, its payer paying (and getting it back at the next close).
    pub fn allocation_record_close(ctx: Context<AllocationRecordClose>) -> Result<()> {
        instructions::allocation_record_close::handler(ctx)
    }
}
