//! Property test: random sequences of operations by an operator, two verifiers, a SAS issuer,
//! a settlement authority, a sponsor and four users, on the real runtime. Drawn: credentials
//! issued, revoked and closed by either verifier, and the operator deactivating (removing) or
//! reactivating a verifier; SAS attestations written and rewritten (a payment volume, an expiry
//! that may be past already or pass during the sequence's waits) and closed, the issuer removing
//! or restoring its signer, and the pool switching between two versions of the issuer's schema or
//! accepting none; user lists published for this period or the next (replaced while not sealed);
//! allocations on a credential, an attestation or a list entry, from the vault or one of two
//! shards; shard funding, drains and sweeps; clawbacks on a credential, an attestation or a list;
//! transfers between users; the operator pausing every movement of the pool's units (Token-2022
//! Pausable) for a few steps, or only its allocations (`pool_set_paused`); allocations to the
//! address of an existing shard or of the next one (not created yet), credentialed by a careless
//! verifier; exchange requests (rent paid by the user or a sponsor), locks, settlements,
//! rejections, cancels and closes under exchange rules the operator reconfigures at random
//! (minimum holding and holding time, per-user and per-period caps, open or closed, a rate that
//! can quote zero); the operator proposing another operator and the proposed key accepting (it
//! becomes the settlement authority too), and the current, the former or the proposed operator
//! signing the operator's and the settlement authority's instructions; waits of hours; the
//! pool's retirement and allocation records closing. After every step, whatever was accepted or
//! refused:
//! - conservation: vault + shards + holders + escrow + burned = minted (and the pool's own
//!   invariant);
//! - the pool's staged units are what its shards' books say they were given and have not
//!   allocated-and-swept or returned;
//! - while transfers stay paused, no unit moves: supply, vault, shards, escrow and every holder
//!   keep their balances;
//! - no user is allocated twice in one period, whatever the evidence;
//! - no user has more clawed back than was allocated to them, nor more of its own allocation
//!   clawed back and sent to exchange together (units received from others are exchanged
//!   first, so exchanging them never shields one's own from clawback); a debt (units a
//!   clawback could not find) is never more than what is clawable, and the allocations and
//!   requests that repay it first land exactly as the off-chain answer says;
//! - each record names the evidence of its user's last allocation, and an attestation, or a
//!   credential that is gone, takes back only from a holder whose last allocation that kind of
//!   evidence supported (`EvidenceNotOfLastAllocation` otherwise);
//! - the pool counts exactly its active verifiers; an inactive one's issue, revoke and close are
//!   refused (`VerifierInactive`), an active one's issue always lands (its revoke and close
//!   unless the credential is missing or, for a revoke, revoked already), and the credentials an
//!   inactive one wrote stand (the allocation and clawback answers above do not ask who wrote
//!   them);
//! - every list holds the root last published for its period, and a list an allocation or a
//!   clawback used is sealed (a new root for it is refused: `UserListRootInUse`);
//! - every settled request was settled once, for exactly its quote, and stays until closed; a
//!   closed request's address stays empty (the sequences never reopen a closed request's id:
//!   they name requests by the pool's count; a reopened id is tested in `exchange_close.rs`);
//! - a lock, a settlement, a rejection and a cancel land exactly when the request's own rules
//!   say (`ExchangeRequest::check_can_lock`, `check_may_finish`, `check_is_open`,
//!   `check_can_cancel`; a lock only by the pool's settlement authority), a lock records its
//!   signer and freezes the request (its user's cancel is refused, `RequestLocked`, until the
//!   lock expires; only the key that locked it settles or rejects it, even after the operator
//!   changed), a settlement's figures are `Pool::record_settlement`'s, and a cancel or a
//!   rejection gives the escrowed units back to the user and the request's units back to the
//!   per-user and per-period exchange caps (`Pool::record_request_returned`,
//!   `AllocationRecord::record_request_returned`: the audit finding "caps are not returned");
//! - the pool's operator and settlement authority are the key that last accepted the operator's
//!   role, and its pending operator the key last proposed: a proposal lands only when the
//!   operator signs it for another key, an acceptance only by the key proposed; from then on the
//!   former operator's instructions are refused (`NotOperator`, `NotSettlementAuthority`) and the
//!   new one's land;
//! - while the operator pauses allocations (`pool_set_paused`), no allocation lands (predicted
//!   `PoolPaused` after the retirement check), while clawbacks, requests and the rest go on;
//! - an allocation to an existing shard's address is refused (`UserIsProgramAccount`); one to the
//!   next shard's address (audit finding 4, closed by moving shard vaults to PDAs only the
//!   program creates) lands as for any holder, the units in that address's own associated
//!   account, never at the next shard's vault address (which stays empty), and that address
//!   counts as a holder in conservation;
//! - a closed credential's rent goes back, all of it, to the verifier that created it (whichever
//!   verifier closes it), a closed request's to whoever paid it (the user or the sponsor), and
//!   closing and issuing again never opens a second allocation in the period (the rule above);
//! - once the operator retires the pool, no allocation or clawback lands; an allocation record
//!   closes exactly when `check_can_close` says it may, all its rent going back to its payer,
//!   and a request after the close reopens it empty (no second allocation can follow: the
//!   rule above);
//! - naming the schema already accepted keeps when it was first accepted; another, or one named
//!   after the pool accepted none, is accepted from now on;
//! - every allocation, clawback and exchange request lands exactly when the off-chain answer
//!   says it may (`check_can_allocate_on` with the credential, or with the attestation as
//!   `allot_client::attestation::read` reads it: what the page asks; the crank's
//!   `credential_clawback_reason`, or `closed_credential_clawback_reason` once the verifier
//!   closed the credential, or `attestation_clawback_reason` (closed, expired, signed by a
//!   signer the issuer removed, below the rule, or allocated under another schema), or
//!   `check_list_is_current` and `list_clawback_reason` on a list, then `clawback_amount`;
//!   `check_can_request`, what the page and the CLI ask), moving the units or quoting the funds
//!   it names, and a refused one is refused with the error it names. While transfers are paused,
//!   one that would move units is refused by Token-2022 (`MintPaused`) once the program's own
//!   checks pass. No state function decides an allocation on a list entry, on an attestation
//!   address that holds none, or on an attestation while the pool accepts none: they are
//!   predicted from `allocate`'s and `allocate_sharded`'s "Checks:" (with the program's pure
//!   pieces: `Rule::is_met_by`, `UserList::is_sealed`, `AllocationRecord::check_can_allocate`),
//!   as is a clawback on an attestation while the pool accepts none (`AttestationNotConfigured`).
//!
//! Each sequence starts with the users' credentials, attestations and first-period list entries,
//! and with some of them allocated on one of these (applied as drawn steps are, predicted and
//! checked alike), so that a short sequence reaches what needs a holder. The default seed's
//! sequences must land every kind of operation (a lock and a settlement or rejection of a locked
//! request, a cancel, the new operator's settlement-authority and operator instructions among
//! them) and meet the refusals the paths exist for: an inactive verifier, a removed SAS signer, a
//! pool that accepts no attestations, a sealed root, a list of a future period, an unsealed list
//! for a shard, a request not final, a paused mint, a paused pool, a locked request's cancel, the
//! former operator's instructions, an existing shard as the user.
//!
//! `ALLOT_PROPERTY_CASES` sets the number of sequences (default 32, so the suite stays fast);
//! `ALLOT_PROPERTY_CASES=10000 cargo test --profile long-run -p allot-tests --test properties`
//! is the long run.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use allot::constants::RATE_SCALE;
use allot::error::AllotError;
use allot::instructions::{ExchangeSettleArgs, PoolCreateArgs, UserListPublishArgs};
use allot::state::{
    AllocationRecord, AllocationShard, AllocationSource, AttestationView, ClawbackReason,
    Credential, EvidenceKind, ExchangeRequest, HeldEvidence, Pool, RequestStatus, SettleAction,
    UserList, Verifier, attestation_clawback_reason, check_can_allocate_on, check_can_request,
    check_list_is_current, clawback_amount, closed_credential_clawback_reason,
    credential_clawback_reason, list_clawback_reason,
};
use allot_client::events::AllotEvent;
use allot_client::instructions::Evidence;
use allot_client::merkle_tree::UserListTree;
use allot_client::{instructions, pdas, token};
use allot_tests::sas::{SasFixture, VOLUME_FIELD};
use allot_tests::{PoolFixture, TestChain, TxFailure, exchange_config, list_evidence, pool_args};
use anchor_lang::prelude::Pubkey;
use anchor_lang::{error, require};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use solana_sdk::signature::{Keypair, Signer};

const USERS: usize = 4;
/// The fee of a one-signature transaction on the test runtime (lamports).
const SIGNATURE_FEE: u64 = 5_000;
/// Allocation shards of each sequence's pool.
const SHARDS: u16 = 2;
/// Verifiers of each sequence's pool: the fixture's and a second one.
const VERIFIERS: usize = 2;
/// The SAS issuer's name (a seed of its address, kept when it changes its signers).
const ISSUER: &str = "payments-verifier";
/// Keys that may hold the pool's operator role: the fixture's operator, then two others.
const OPERATORS: usize = 3;
/// The reason code the settlement authority gives when it rejects a request.
const REJECT_REASON: u16 = 7;
/// Token-2022's `TokenError::MintPaused` ("Transferring, minting, and burning is paused on this
/// mint"): what every movement of a paused pool's units fails with.
const MINT_PAUSED: u32 = 67;

/// Who signs an instruction of the operator or of the settlement authority (one key holds both
/// roles in these sequences: the exchange rules the operator sets name it, and accepting the
/// operator's role makes the new operator the settlement authority).
#[derive(Clone, Copy, Debug)]
enum Role {
    /// The pool's operator now.
    Current,
    /// The operator before it (while the pool never changed hands, a key that never was one).
    Former,
    /// The key proposed as the next operator (none pending: a key that is not the operator).
    Proposed,
}

/// One step of a sequence.
#[derive(Clone, Debug)]
enum Op {
    /// Verifier number `verifier` issues (or updates) the user's credential.
    Issue {
        user: usize,
        volume: u64,
        verifier: usize,
    },
    /// Verifier number `verifier` revokes the user's credential.
    Revoke {
        user: usize,
        verifier: usize,
    },
    /// Verifier number `verifier` closes the user's credential (its rent back to the verifier
    /// that created it).
    CloseCredential {
        user: usize,
        verifier: usize,
    },
    /// The operator deactivates (`false`: removes) or reactivates verifier number `verifier`.
    SetVerifierActive {
        verifier: usize,
        active: bool,
    },
    Allocate {
        user: usize,
    },
    AllocateSharded {
        user: usize,
        shard: u16,
    },
    FundShard {
        shard: u16,
        amount: u64,
    },
    DrainShard {
        shard: u16,
        amount: u64,
    },
    Sweep {
        shard: u16,
    },
    Clawback {
        user: usize,
    },
    /// The user requests an exchange, the request's rent paid by the user or by a sponsor.
    Exchange {
        user: usize,
        amount: u64,
        sponsored: bool,
    },
    /// A holder sends units to another (the pool is transferable).
    Transfer {
        from: usize,
        to: usize,
        amount: u64,
    },
    /// The key `by` sets the exchange rules (naming the operator as the settlement authority).
    ConfigureExchange {
        rules: ExchangeRules,
        by: Role,
    },
    /// The key `by` settles a request (paid off chain: its quote).
    Settle {
        request: u64,
        by: Role,
    },
    /// The key `by` rejects a request.
    Reject {
        request: u64,
        by: Role,
    },
    /// The key `by` locks a pending request before paying it off chain.
    Lock {
        request: u64,
        by: Role,
    },
    /// The request's user cancels it.
    Cancel {
        request: u64,
    },
    /// Anyone closes a request (its rent back to whoever paid it).
    CloseRequest {
        request: u64,
    },
    Wait {
        hours: i64,
    },
    /// The operator retires the pool (no allocation or clawback from then on).
    Retire,
    /// Anyone closes the user's allocation record (its rent back to whoever paid it).
    CloseRecord {
        user: usize,
    },
    /// The SAS issuer writes (or rewrites) the user's attestation under the schema the pool
    /// accepts now (or accepted last): payment `volume`, expiring `expires_in_hours` from now
    /// (`None`: never; zero or less: already expired, as one written before would be).
    Attest {
        user: usize,
        volume: u64,
        expires_in_hours: Option<i64>,
    },
    /// The SAS issuer closes the user's attestation (SAS revokes by closing).
    CloseAttestation {
        user: usize,
    },
    /// `allocate` on the user's SAS attestation.
    AllocateOnAttestation {
        user: usize,
    },
    /// `allocate_sharded` on the user's SAS attestation.
    AllocateShardedOnAttestation {
        user: usize,
        shard: u16,
    },
    /// `clawback` on the user's SAS attestation (closed, expired, unsigned or below the rule).
    ClawbackOnAttestation {
        user: usize,
    },
    /// The operator names version `version` (1 or 2) of the SAS issuer's schema; another
    /// version than the one accepted (or any, after none) is accepted from now on.
    AcceptSchema {
        version: u8,
    },
    /// The operator stops accepting SAS attestations.
    DropAttestations,
    /// The SAS issuer authorises its signer again (`true`) or replaces it by another key
    /// (`false`): what the signer signed stops counting.
    SetIssuerSigner {
        authorised: bool,
    },
    /// The operator pauses every movement of the pool's units (Token-2022 Pausable) for the
    /// next `steps` steps; the sequence then resumes them ([`Op::ResumeTransfers`]).
    PauseTransfers {
        steps: u8,
    },
    /// The operator resumes the movements of the pool's units (not drawn: it ends a pause).
    ResumeTransfers,
    /// The key `by` pauses the pool's allocations (`pool_set_paused`) for the next `steps` steps;
    /// when it lands, the sequence then resumes them ([`Op::ResumePool`]).
    PausePool {
        steps: u8,
        by: Role,
    },
    /// The operator resumes the pool's allocations (not drawn: it ends a pause).
    ResumePool,
    /// The key `by` proposes key number `to` as the pool's next operator.
    ProposeOperator {
        to: usize,
        by: Role,
    },
    /// The key `by` accepts the operator's role (and with it the settlement authority's).
    AcceptOperator {
        by: Role,
    },
    /// A careless active verifier credentials the address of shard number `shard` (`SHARDS`:
    /// the next shard, not created yet) and the chain's fee payer allocates to it from the vault.
    AllocateToShardAddress {
        shard: u16,
    },
    /// The operator publishes the list of the period `ahead` periods from now (0 or 1), stating
    /// `values` for the users in order.
    PublishList {
        ahead: u64,
        values: Vec<u64>,
    },
    /// `allocate` on the user's entry in one of the lists published so far.
    AllocateOnList {
        user: usize,
        list: u64,
    },
    /// `allocate_sharded` on the user's entry in one of the lists published so far.
    AllocateShardedOnList {
        user: usize,
        list: u64,
        shard: u16,
    },
    /// `clawback` on the user's entry in one of the lists published so far.
    ClawbackOnList {
        user: usize,
        list: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    let verifier = 0..VERIFIERS;
    prop_oneof![
        3 => (user.clone(), 0u64..3_000, verifier.clone())
            .prop_map(|(user, volume, verifier)| Op::Issue { user, volume, verifier }),
        2 => (user.clone(), verifier.clone())
            .prop_map(|(user, verifier)| Op::Revoke { user, verifier }),
        1 => (user.clone(), verifier.clone())
            .prop_map(|(user, verifier)| Op::CloseCredential { user, verifier }),
        1 => (verifier, any::<bool>())
            .prop_map(|(verifier, active)| Op::SetVerifierActive { verifier, active }),
        3 => user.clone().prop_map(|user| Op::Allocate { user }),
        3 => (user.clone(), 0..SHARDS).prop_map(|(user, shard)| Op::AllocateSharded { user, shard }),
        1 => (0..SHARDS, 1u64..300).prop_map(|(shard, amount)| Op::FundShard { shard, amount }),
        1 => (0..SHARDS, 1u64..300).prop_map(|(shard, amount)| Op::DrainShard { shard, amount }),
        1 => (0..SHARDS).prop_map(|shard| Op::Sweep { shard }),
        3 => user.clone().prop_map(|user| Op::Clawback { user }),
        4 => (user.clone(), 1u64..15, prop::bool::weighted(0.3))
            .prop_map(|(user, amount, sponsored)| Op::Exchange { user, amount, sponsored }),
        2 => (user.clone(), user.clone(), 1u64..15)
            .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        3 => (any::<u64>(), role()).prop_map(|(request, by)| Op::Settle { request, by }),
        2 => (any::<u64>(), role()).prop_map(|(request, by)| Op::Reject { request, by }),
        3 => (any::<u64>(), role()).prop_map(|(request, by)| Op::Lock { request, by }),
        3 => any::<u64>().prop_map(|request| Op::Cancel { request }),
        2 => any::<u64>().prop_map(|request| Op::CloseRequest { request }),
        3 => (1i64..48).prop_map(|hours| Op::Wait { hours }),
        1 => (exchange_rules(), role()).prop_map(|(rules, by)| Op::ConfigureExchange { rules, by }),
        1 => Just(Op::Retire),
        3 => user.clone().prop_map(|user| Op::CloseRecord { user }),
        3 => (user.clone(), attestation()).prop_map(|(user, (volume, expires_in_hours))| {
            Op::Attest { user, volume, expires_in_hours }
        }),
        2 => user.clone().prop_map(|user| Op::CloseAttestation { user }),
        3 => user.clone().prop_map(|user| Op::AllocateOnAttestation { user }),
        2 => (user.clone(), 0..SHARDS)
            .prop_map(|(user, shard)| Op::AllocateShardedOnAttestation { user, shard }),
        5 => user.clone().prop_map(|user| Op::ClawbackOnAttestation { user }),
        1 => (1u8..=2).prop_map(|version| Op::AcceptSchema { version }),
        1 => Just(Op::DropAttestations),
        2 => any::<bool>().prop_map(|authorised| Op::SetIssuerSigner { authorised }),
        1 => (1u8..=4).prop_map(|steps| Op::PauseTransfers { steps }),
        1 => (1u8..=4, role()).prop_map(|(steps, by)| Op::PausePool { steps, by }),
        2 => (0..OPERATORS, role()).prop_map(|(to, by)| Op::ProposeOperator { to, by }),
        2 => prop_oneof![4 => Just(Role::Proposed), 1 => Just(Role::Current), 1 => Just(Role::Former)]
            .prop_map(|by| Op::AcceptOperator { by }),
        1 => (0..=SHARDS).prop_map(|shard| Op::AllocateToShardAddress { shard }),
        1 => (0u64..=1, list_values()).prop_map(|(ahead, values)| Op::PublishList { ahead, values }),
        2 => (user.clone(), any::<u64>()).prop_map(|(user, list)| Op::AllocateOnList { user, list }),
        2 => (user.clone(), any::<u64>(), 0..SHARDS)
            .prop_map(|(user, list, shard)| Op::AllocateShardedOnList { user, list, shard }),
        2 => (user, any::<u64>()).prop_map(|(user, list)| Op::ClawbackOnList { user, list }),
    ]
}

/// Who signs an operator's or a settlement authority's instruction: mostly the operator, often
/// enough the former or the proposed one to see them refused.
fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        6 => Just(Role::Current),
        2 => Just(Role::Former),
        1 => Just(Role::Proposed),
    ]
}

/// The values a list states for the users, in order (the rule needs 1,000).
fn list_values() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0u64..3_000, USERS)
}

/// The allocation a sequence starts with for `user` on evidence number `evidence`: 0 its
/// credential, 1 its attestation, otherwise its entry in the first period's list. Holders from
/// the first step on let the steps that need one (clawbacks, transfers, requests and what
/// follows them) land within a short sequence.
fn first_allocation(user: usize, evidence: u8) -> Op {
    match evidence {
        0 => Op::Allocate { user },
        1 => Op::AllocateOnAttestation { user },
        _ => Op::AllocateOnList { user, list: 0 },
    }
}

/// The steps a sequence starts its operator's handover with: none (`0`), the operator proposing
/// key number 1 (`1`), or that proposal and its acceptance (`2`): the former and the new
/// operator then sign most of the sequence's steps, which a handover drawn late would leave
/// too few of.
fn handover_steps(handover: u8) -> Vec<Op> {
    let propose = Op::ProposeOperator {
        to: 1,
        by: Role::Current,
    };
    let accept = Op::AcceptOperator { by: Role::Proposed };
    match handover {
        0 => Vec::new(),
        1 => vec![propose],
        _ => vec![propose, accept],
    }
}

/// An attestation the SAS issuer writes: the payment volume, and the hours until it expires
/// (`None`: never; zero or less: already expired).
fn attestation() -> impl Strategy<Value = (u64, Option<i64>)> {
    (0u64..3_000, prop::option::of(-3i64..30))
}

/// The exchange conditions an operator may set, drawn so each can refuse a request.
#[derive(Clone, Debug)]
struct ExchangeRules {
    open: bool,
    min_holding: u64,
    min_holding_seconds: i64,
    per_user_period_cap: u64,
    per_period_cap: u64,
    /// Funds per unit in hundredths of a minor unit (1: most small requests quote zero).
    rate_hundredths: u64,
}

fn exchange_rules() -> impl Strategy<Value = ExchangeRules> {
    (
        prop::bool::weighted(0.85),
        prop_oneof![Just(0u64), 1u64..20],
        prop_oneof![Just(0i64), 1i64..100_000],
        prop_oneof![Just(0u64), 1u64..20],
        prop_oneof![Just(0u64), 1u64..40],
        prop_oneof![Just(200u64), 1u64..300],
    )
        .prop_map(
            |(
                open,
                min_holding,
                min_holding_seconds,
                per_user_period_cap,
                per_period_cap,
                rate,
            )| {
                ExchangeRules {
                    open,
                    min_holding,
                    min_holding_seconds,
                    per_user_period_cap,
                    per_period_cap,
                    rate_hundredths: rate,
                }
            },
        )
}

/// A pool with its users, and what the sequence has seen so far.
struct World {
    pool: PoolFixture,
    users: Vec<Keypair>,
    /// The pool's verifiers: the fixture's, then a second one.
    verifiers: Vec<Keypair>,
    /// Pays the rent of sponsored exchange requests.
    sponsor: Keypair,
    /// The SAS issuer's schema "payments", versions 1 and 2 (in that order).
    schemas: Vec<SasFixture>,
    /// The index in [`Self::schemas`] of the schema the issuer writes under: the one the pool
    /// accepts, or accepted last.
    issuer_schema: usize,
    /// The key the issuer names instead of its signer when it removes it.
    other_signer: Pubkey,
    /// The verifier that created each user's credential (and paid its rent).
    credential_payers: BTreeMap<Pubkey, Pubkey>,
    /// The tree of the root last published for each period's list.
    lists: BTreeMap<u64, UserListTree>,
    /// Periods whose list an allocation or a clawback used.
    used_lists: BTreeSet<u64>,
    allocated: BTreeSet<(Pubkey, u64)>,
    /// The evidence of each user's last allocation, as its `Allocated` event named it.
    last_evidence: BTreeMap<Pubkey, EvidenceKind>,
    settled: BTreeSet<u64>,
    /// Requests closed.
    closed: BTreeSet<u64>,
    /// Steps left before the sequence resumes paused transfers.
    resume_in: Option<u8>,
    /// Keys that may hold the operator's role ([`OPERATORS`]; number 0 is the fixture's). The
    /// pool fixture's `operator` is always a copy of the current one.
    operators: Vec<Keypair>,
    /// The number of the key that holds the operator's role (and the settlement authority's).
    operator: usize,
    /// The number of the key last proposed and not yet accepted.
    pending_operator: Option<usize>,
    /// The number of the operator before the current one.
    former_operator: Option<usize>,
    /// Keys that held the operator's role and gave it up (they may hold it again).
    former_operators: BTreeSet<usize>,
    /// Whether the operator paused the pool's allocations (`pool_set_paused`).
    pool_paused: bool,
    /// Steps left before the sequence resumes paused allocations.
    pool_resume_in: Option<u8>,
    /// The user who opened each request.
    requesters: BTreeMap<u64, usize>,
    /// What the current step is about beyond its kind (who signed it, the state of the request
    /// it finishes): each counts as a kind of its own, `Kind:Tag`, in the coverage check.
    tags: Vec<&'static str>,
    /// The balances ([`Self::balances`]) at the last check, if transfers were paused then.
    paused_balances: Option<Vec<u64>>,
    /// Per operation kind: (landed, attempted).
    landed: BTreeMap<String, (u32, u32)>,
    /// Per operation kind and error code (`None`: not a program's error), the refusals.
    refused: BTreeMap<(String, Option<u32>), u32>,
}

impl World {
    /// A fresh pool (pausable, with two shards of 200 units and two verifiers, accepting the
    /// attestations of a SAS issuer's schema version 1) whose users start with credentials of
    /// `volumes` for the first period, with `attestations` (volume, hours to expiry; see
    /// [`Op::Attest`]) and with the first period's list stating `listed`; then each user is
    /// allocated on the evidence `first` names (see [`first_allocation`]), as a drawn step would
    /// be (predicted and checked the same way); last, the operator hands over as `handover` says
    /// (see [`handover_steps`]).
    async fn new(
        chain: &mut TestChain,
        pool_id: u64,
        volumes: &[u64],
        attestations: &[Option<(u64, Option<i64>)>],
        listed: &[u64],
        first: &[Option<u8>],
        handover: u8,
    ) -> Self {
        // Pausable: nothing else changes for a mint whose transfers run (the Pausable extension
        // only stops movements while paused).
        let args = PoolCreateArgs {
            pausable: true,
            ..pool_args(pool_id, true)
        };
        let pool = PoolFixture::create_with(chain, args).await;
        pool.create_shards(chain, SHARDS, 200).await;
        let second = chain.funded_keypair(1_000_000_000).await;
        let add = instructions::verifier_add(&pool.operator.pubkey(), &pool.pool, &second.pubkey());
        chain
            .send(&[add], &[&pool.operator])
            .await
            .expect("the operator adds a second verifier");
        let verifiers = vec![pool.verifier.insecure_clone(), second];
        let version_1 = SasFixture::install(chain, ISSUER, 1);
        let version_2 = version_1.new_version(chain, 2);
        let schemas = vec![version_1, version_2];
        let accept = instructions::pool_set_attestation(
            &pool.operator.pubkey(),
            &pool.pool,
            Some((schemas[0].schema, VOLUME_FIELD)),
        );
        chain
            .send(&[accept], &[&pool.operator])
            .await
            .expect("the pool accepts the schema");
        // Not in the second the schema was accepted (`AttestationJustAccepted`).
        chain.advance_time(1).await;
        chain
            .send(
                &[instructions::pool_set_exchange(
                    &pool.operator.pubkey(),
                    &pool.pool,
                    exchange_config(pool.operator.pubkey()),
                )],
                &[&pool.operator],
            )
            .await
            .expect("exchange opens");
        let mut users = Vec::new();
        for _ in 0..USERS {
            users.push(chain.funded_keypair(100_000_000).await);
        }
        let sponsor = chain.funded_keypair(100_000_000).await;
        // The other operators pay rent as the fixture's does (user lists).
        let mut operators = vec![pool.operator.insecure_clone()];
        for _ in 1..OPERATORS {
            operators.push(chain.funded_keypair(1_000_000_000).await);
        }
        let mut world = Self {
            pool,
            users,
            verifiers,
            sponsor,
            schemas,
            issuer_schema: 0,
            other_signer: Pubkey::new_unique(),
            credential_payers: BTreeMap::new(),
            lists: BTreeMap::new(),
            used_lists: BTreeSet::new(),
            allocated: BTreeSet::new(),
            last_evidence: BTreeMap::new(),
            settled: BTreeSet::new(),
            closed: BTreeSet::new(),
            resume_in: None,
            operators,
            operator: 0,
            pending_operator: None,
            former_operator: None,
            former_operators: BTreeSet::new(),
            pool_paused: false,
            pool_resume_in: None,
            requesters: BTreeMap::new(),
            tags: Vec::new(),
            paused_balances: None,
            landed: BTreeMap::new(),
            refused: BTreeMap::new(),
        };
        for (user, volume) in volumes.iter().enumerate() {
            let issue = Op::Issue {
                user,
                volume: *volume,
                verifier: 0,
            };
            world.apply(chain, &issue).await;
        }
        for (user, attestation) in attestations.iter().enumerate() {
            if let Some((volume, expires_in_hours)) = *attestation {
                let attest = Op::Attest {
                    user,
                    volume,
                    expires_in_hours,
                };
                world.apply(chain, &attest).await;
            }
        }
        let publish = Op::PublishList {
            ahead: 0,
            values: listed.to_vec(),
        };
        world.apply(chain, &publish).await;
        for (user, evidence) in first.iter().enumerate() {
            if let Some(allocate) = evidence.map(|evidence| first_allocation(user, evidence)) {
                world.apply(chain, &allocate).await;
            }
        }
        for step in handover_steps(handover) {
            world.apply(chain, &step).await;
        }
        world
    }

    /// What the sequence resumes now: paused transfers after the `steps` steps of the last
    /// [`Op::PauseTransfers`], paused allocations after those of the last [`Op::PausePool`]
    /// that landed.
    fn resumes_due(&mut self) -> Vec<Op> {
        let mut due = Vec::new();
        if countdown(&mut self.resume_in) {
            due.push(Op::ResumeTransfers);
        }
        if countdown(&mut self.pool_resume_in) {
            due.push(Op::ResumePool);
        }
        due
    }

    /// The number of the key that signs as `role` now (see [`Role`]).
    fn key_of(&self, role: Role) -> usize {
        // A key that never held the role nor was proposed, if any (else any other than the
        // operator).
        let stranger = (0..OPERATORS)
            .find(|key| {
                *key != self.operator
                    && Some(*key) != self.pending_operator
                    && !self.former_operators.contains(key)
            })
            .unwrap_or((self.operator + 1) % OPERATORS);
        match role {
            Role::Current => self.operator,
            Role::Former => self.former_operator.unwrap_or(stranger),
            Role::Proposed => self.pending_operator.unwrap_or(stranger),
        }
    }

    /// The number of the key that signs `op` as the operator or the settlement authority
    /// (`None`: another signs it).
    fn operator_key_of(&self, op: &Op) -> Option<usize> {
        match op {
            Op::Settle { by, .. }
            | Op::Reject { by, .. }
            | Op::Lock { by, .. }
            | Op::PausePool { by, .. }
            | Op::ConfigureExchange { by, .. }
            | Op::ProposeOperator { by, .. }
            | Op::AcceptOperator { by } => Some(self.key_of(*by)),
            Op::SetVerifierActive { .. }
            | Op::FundShard { .. }
            | Op::DrainShard { .. }
            | Op::Retire
            | Op::AcceptSchema { .. }
            | Op::DropAttestations
            | Op::PauseTransfers { .. }
            | Op::ResumeTransfers
            | Op::ResumePool
            | Op::PublishList { .. } => Some(self.operator),
            _ => None,
        }
    }

    /// Every holder of the pool's units outside its own accounts: the users, and the next
    /// shard's address (see [`Op::AllocateToShardAddress`]).
    fn holders(&self) -> Vec<Pubkey> {
        let next_shard = pdas::shard(&self.pool.pool, SHARDS);
        self.users
            .iter()
            .map(Signer::pubkey)
            .chain([next_shard])
            .collect()
    }

    async fn apply(&mut self, chain: &mut TestChain, op: &Op) {
        let state = self.pool.state(chain).await;
        // Request operations pick one of the requests opened so far (by index modulo their count).
        let opened = state.exchange_state.requests_opened;
        if opened == 0
            && matches!(
                op,
                Op::Settle { .. }
                    | Op::Reject { .. }
                    | Op::Lock { .. }
                    | Op::Cancel { .. }
                    | Op::CloseRequest { .. }
            )
        {
            return;
        }
        let pick = |request: u64| request % opened.max(1);
        let op = &match *op {
            Op::Settle { request, by } => Op::Settle {
                request: pick(request),
                by,
            },
            Op::Reject { request, by } => Op::Reject {
                request: pick(request),
                by,
            },
            Op::Lock { request, by } => Op::Lock {
                request: pick(request),
                by,
            },
            Op::Cancel { request } => Op::Cancel {
                request: pick(request),
            },
            Op::CloseRequest { request } => Op::CloseRequest {
                request: pick(request),
            },
            ref other => other.clone(),
        };
        self.tags.clear();
        if let Some(signer) = self.operator_key_of(op) {
            if signer != self.operator && self.former_operators.contains(&signer) {
                self.tags.push("ByFormerOperator");
            } else if signer == self.operator && !self.former_operators.is_empty() {
                self.tags.push("ByNewOperator");
            }
        }
        if let Op::Settle { request, .. } | Op::Reject { request, .. } | Op::Cancel { request } = op
            && let Some(found) = self.request(chain, *request).await
            && found.status == RequestStatus::Locked
        {
            self.tags.push("OfLocked");
        }
        let pool = &self.pool;
        let key = |user: usize| self.users[user].pubkey();
        let operator = &pool.operator;
        let outcome = match op {
            Op::Issue {
                user,
                volume,
                verifier,
            } => {
                let signer = &self.verifiers[*verifier];
                let address = pdas::credential(&pool.pool, &key(*user));
                let created = chain.account(address).await.is_none();
                // An active verifier's credential for the period now, expiring in 30 days, always
                // lands; an inactive one's never.
                let predicted = self
                    .verifier_may_write(chain, *verifier)
                    .await
                    .map(|()| *volume);
                let args = pool.credential_args(chain, *volume).await;
                let ix =
                    instructions::credential_issue(&signer.pubkey(), &pool.pool, &key(*user), args);
                let outcome = chain.send(&[ix], &[signer]).await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::CredentialIssued(e) => Some(e.indicators[0]),
                    _ => None,
                });
                if created && outcome.is_ok() {
                    self.credential_payers.insert(key(*user), signer.pubkey());
                }
                if outcome.is_ok() {
                    // What the chain now holds is the credential just issued, for the period
                    // now, by this verifier, rent paid by whoever created it.
                    let credential: Credential = chain.fetch(address).await;
                    let period = pool
                        .state(chain)
                        .await
                        .period_at(chain.clock().await.unix_timestamp);
                    assert_eq!(
                        (
                            credential.user,
                            credential.verifier,
                            credential.indicators[0],
                            credential.revoked,
                            Ok(credential.period),
                            Some(&credential.rent_payer),
                        ),
                        (
                            key(*user),
                            signer.pubkey(),
                            *volume,
                            false,
                            period.map_err(|e| e.to_string()),
                            self.credential_payers.get(&key(*user)),
                        ),
                        "the credential issued ({op:?})"
                    );
                }
                outcome
            }
            Op::Revoke { user, verifier } => {
                let signer = &self.verifiers[*verifier];
                let address = pdas::credential(&pool.pool, &key(*user));
                // Anchor reads every account before it checks any: a missing credential first.
                let predicted = match chain.account(address).await {
                    None => Err(not_initialized()),
                    Some(_) => {
                        let credential: Credential = chain.fetch(address).await;
                        let may = self.verifier_may_write(chain, *verifier).await;
                        may.and_then(|()| {
                            if credential.revoked {
                                Err(u32::from(AllotError::CredentialAlreadyRevoked))
                            } else {
                                Ok(credential.period)
                            }
                        })
                    }
                };
                let ix = instructions::credential_revoke(&signer.pubkey(), &pool.pool, &key(*user));
                let outcome = chain.send(&[ix], &[signer]).await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::CredentialRevoked(e) => Some(e.period),
                    _ => None,
                });
                if outcome.is_ok() {
                    let credential: Credential = chain.fetch(address).await;
                    assert!(credential.revoked, "the credential is revoked ({op:?})");
                }
                outcome
            }
            Op::CloseCredential { user, verifier } => {
                let signer = &self.verifiers[*verifier];
                let address = pdas::credential(&pool.pool, &key(*user));
                let (rent, predicted) = match chain.account(address).await {
                    None => (0, Err(not_initialized())),
                    Some(account) => {
                        let may = self.verifier_may_write(chain, *verifier).await;
                        (account.lamports, may.map(|()| account.lamports))
                    }
                };
                // The rent goes back to the verifier that created the credential, whichever
                // verifier closes it.
                let rent_payer = self
                    .credential_payers
                    .get(&key(*user))
                    .copied()
                    .unwrap_or_else(|| signer.pubkey());
                let before = chain.account(rent_payer).await.map_or(0, |a| a.lamports);
                let ix = instructions::credential_close(
                    &signer.pubkey(),
                    &pool.pool,
                    &key(*user),
                    &rent_payer,
                );
                let outcome = chain.send(&[ix], &[signer]).await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::CredentialClosed(e) => Some(e.lamports),
                    _ => None,
                });
                if outcome.is_ok() {
                    // Rent that comes back: all of it, to the verifier that paid it (the chain's
                    // payer pays the fee).
                    let after = chain.account(rent_payer).await.map_or(0, |a| a.lamports);
                    assert_eq!(
                        after - before,
                        rent,
                        "{op:?}: the rent goes back to its payer"
                    );
                    assert!(chain.account(address).await.is_none(), "{op:?}: closed");
                    self.credential_payers.remove(&key(*user));
                }
                outcome
            }
            Op::SetVerifierActive { verifier, active } => {
                let authority = self.verifiers[*verifier].pubkey();
                let current: Verifier = chain.fetch(pdas::verifier(&pool.pool, &authority)).await;
                let predicted = if current.active == *active {
                    Err(u32::from(AllotError::VerifierStateUnchanged))
                } else {
                    Ok(u64::from(*active))
                };
                let ix = instructions::verifier_set_active(
                    &operator.pubkey(),
                    &pool.pool,
                    &authority,
                    *active,
                );
                let outcome = chain.send(&[ix], &[operator]).await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::VerifierActiveChanged(e) => Some(u64::from(e.active)),
                    _ => None,
                });
                outcome
            }
            Op::Allocate { user } => {
                allocate(chain, pool, &key(*user), None, Evidence::Credential, op).await
            }
            Op::AllocateSharded { user, shard } => {
                let evidence = Evidence::Credential;
                allocate(chain, pool, &key(*user), Some(*shard), evidence, op).await
            }
            Op::AllocateOnAttestation { user } => {
                let evidence = self.attestation_evidence(&pool.state(chain).await);
                allocate(chain, pool, &key(*user), None, evidence, op).await
            }
            Op::AllocateShardedOnAttestation { user, shard } => {
                let evidence = self.attestation_evidence(&pool.state(chain).await);
                allocate(chain, pool, &key(*user), Some(*shard), evidence, op).await
            }
            Op::AllocateOnList { user, list } => {
                let (period, evidence) = self.list_evidence(*list, &key(*user));
                let outcome = allocate(chain, pool, &key(*user), None, evidence, op).await;
                if outcome.is_ok() {
                    self.used_lists.insert(period);
                }
                outcome
            }
            Op::AllocateShardedOnList { user, list, shard } => {
                let (period, evidence) = self.list_evidence(*list, &key(*user));
                let outcome = allocate(chain, pool, &key(*user), Some(*shard), evidence, op).await;
                if outcome.is_ok() {
                    self.used_lists.insert(period);
                }
                outcome
            }
            Op::FundShard { shard, amount } => {
                let ix = instructions::shard_fund(&operator.pubkey(), &pool.pool, *shard, *amount);
                chain.send(&[ix], &[operator]).await
            }
            Op::DrainShard { shard, amount } => {
                let ix = instructions::shard_drain(&operator.pubkey(), &pool.pool, *shard, *amount);
                chain.send(&[ix], &[operator]).await
            }
            Op::Sweep { shard } => {
                chain
                    .send(&[instructions::shard_sweep(&pool.pool, *shard)], &[])
                    .await
            }
            Op::Clawback { user } => {
                clawback(chain, pool, &key(*user), Evidence::Credential, op).await
            }
            Op::ClawbackOnAttestation { user } => {
                let evidence = self.attestation_evidence(&pool.state(chain).await);
                clawback(chain, pool, &key(*user), evidence, op).await
            }
            Op::ClawbackOnList { user, list } => {
                let (period, evidence) = self.list_evidence(*list, &key(*user));
                let outcome = clawback(chain, pool, &key(*user), evidence, op).await;
                if outcome.is_ok() {
                    self.used_lists.insert(period);
                }
                outcome
            }
            Op::Transfer { from, to, amount } => {
                let send = spl_token_2022_interface::instruction::transfer_checked(
                    &spl_token_2022_interface::ID,
                    &pool.user_token(&key(*from)),
                    &pool.mint,
                    &pool.user_token(&key(*to)),
                    &key(*from),
                    &[],
                    *amount,
                    0,
                )
                .expect("a transfer instruction");
                chain.send(&[send], &[&self.users[*from]]).await
            }
            Op::Exchange {
                user,
                amount,
                sponsored,
            } => {
                let requester = *user;
                let user = &self.users[requester];
                let predicted =
                    predict_exchange(chain, pool, &state, &user.pubkey(), *amount).await;
                // A request always escrows units.
                let predicted = unless_paused(chain, pool, predicted, true).await;
                let (payer, signers) = if *sponsored {
                    (&self.sponsor, vec![user, &self.sponsor])
                } else {
                    (user, vec![user])
                };
                let outcome = chain
                    .send(
                        &[instructions::exchange_request(
                            &user.pubkey(),
                            &payer.pubkey(),
                            &pool.pool,
                            state.exchange_state.requests_opened,
                            *amount,
                        )],
                        &signers,
                    )
                    .await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::ExchangeRequested(e) => Some(e.quoted),
                    _ => None,
                });
                if let Ok(events) = &outcome {
                    let request = events.iter().find_map(|event| match event {
                        AllotEvent::ExchangeRequested(e) => Some(e.id),
                        _ => None,
                    });
                    let id = request.expect("a request's event");
                    let request = self.request(chain, id).await.expect("the request opened");
                    assert_eq!(request.rent_payer, payer.pubkey(), "{op:?}: its rent payer");
                    self.requesters.insert(id, requester);
                }
                outcome
            }
            Op::ConfigureExchange { rules, by } => {
                // The rules name the operator as the settlement authority.
                let mut config = exchange_config(operator.pubkey());
                config.open = rules.open;
                config.min_holding = rules.min_holding;
                config.min_holding_seconds = rules.min_holding_seconds;
                config.per_user_period_cap = rules.per_user_period_cap;
                config.per_period_cap = rules.per_period_cap;
                config.fixed_rate = rules.rate_hundredths * (RATE_SCALE / 100);
                let signer = self.key_of(*by);
                // `pool_set_exchange`: the operator signs (`has_one`), then the rules must be
                // usable (`ExchangeConfig::validate`, the handler's own check).
                let predicted = if signer == self.operator {
                    config.validate().map(|()| 1).map_err(refusal_code)
                } else {
                    Err(u32::from(AllotError::NotOperator))
                };
                let signer = &self.operators[signer];
                let ix = instructions::pool_set_exchange(&signer.pubkey(), &pool.pool, config);
                let outcome = chain.send(&[ix], &[signer]).await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::ExchangeConfigured(e) => Some(u64::from(e.config == config)),
                    _ => None,
                });
                outcome
            }
            Op::Settle { request, by } => {
                let signer = &self.operators[self.key_of(*by)];
                settle(chain, pool, *request, signer, op).await
            }
            Op::Reject { request, by } => {
                let signer = &self.operators[self.key_of(*by)];
                let user = key(self.requesters[request]);
                let rejected = RequestStatus::Rejected;
                refund(chain, pool, *request, &user, signer, rejected, op).await
            }
            Op::Lock { request, by } => {
                let signer = &self.operators[self.key_of(*by)];
                let user = &self.users[self.requesters[request]];
                lock(chain, pool, *request, signer, user, op).await
            }
            Op::Cancel { request } => {
                let user = &self.users[self.requesters[request]];
                let cancelled = RequestStatus::Cancelled;
                refund(chain, pool, *request, &user.pubkey(), user, cancelled, op).await
            }
            Op::CloseRequest { request } => {
                let outcome = close_request(chain, pool, *request, op).await;
                if outcome.is_ok() {
                    self.closed.insert(*request);
                }
                outcome
            }
            Op::Wait { hours } => {
                chain.advance_time(hours * 3_600).await;
                Ok(Vec::new())
            }
            Op::Retire => {
                let ix = instructions::pool_retire(&operator.pubkey(), &pool.pool);
                chain.send(&[ix], &[operator]).await
            }
            Op::CloseRecord { user } => close_record(chain, pool, &key(*user), op).await,
            Op::Attest {
                user,
                volume,
                expires_in_hours,
            } => {
                let sas = &self.schemas[self.issuer_schema];
                let now = chain.clock().await.unix_timestamp;
                let expiry = expires_in_hours.map_or(0, |hours| now + hours * 3_600);
                sas.attest(chain, &key(*user), *volume, expiry);
                Ok(Vec::new())
            }
            Op::CloseAttestation { user } => {
                let sas = &self.schemas[self.issuer_schema];
                if chain.account(sas.attestation(&key(*user))).await.is_none() {
                    // SAS has nothing to close.
                    return;
                }
                sas.close(chain, &key(*user));
                Ok(Vec::new())
            }
            Op::SetIssuerSigner { authorised } => {
                // Both schema versions are the same issuer's: one account names its signers.
                let sas = &self.schemas[0];
                let signer = if *authorised {
                    sas.signer.pubkey()
                } else {
                    self.other_signer
                };
                sas.set_signers(chain, ISSUER, &[signer]);
                Ok(Vec::new())
            }
            Op::AcceptSchema { version } => {
                let before = pool.state(chain).await.attestation;
                let index = usize::from(*version) - 1;
                let schema = self.schemas[index].schema;
                let ix = instructions::pool_set_attestation(
                    &operator.pubkey(),
                    &pool.pool,
                    Some((schema, VOLUME_FIELD)),
                );
                let outcome = chain.send(&[ix], &[operator]).await;
                assert!(outcome.is_ok(), "{op:?}: the operator names a SAS schema");
                // The same schema again keeps when it was first accepted (its holders stay
                // claw-backable); another, or any after none, is accepted from now on.
                let accepted_at = match before {
                    Some(before) if before.schema == schema => before.accepted_at,
                    _ => chain.clock().await.unix_timestamp,
                };
                let after = pool.state(chain).await.attestation;
                assert_eq!(
                    after.map(|a| (a.schema, a.accepted_at)),
                    Some((schema, accepted_at)),
                    "{op:?}: accepted from the first time it was named"
                );
                self.issuer_schema = index;
                outcome
            }
            Op::DropAttestations => {
                let ix = instructions::pool_set_attestation(&operator.pubkey(), &pool.pool, None);
                let outcome = chain.send(&[ix], &[operator]).await;
                assert!(outcome.is_ok(), "{op:?}: the operator stops accepting them");
                assert_eq!(
                    pool.state(chain).await.attestation,
                    None,
                    "{op:?}: no SAS settings"
                );
                outcome
            }
            Op::PauseTransfers { steps } => {
                let outcome = set_transfers_paused(chain, pool, true, op).await;
                self.resume_in = Some(*steps);
                outcome
            }
            Op::ResumeTransfers => set_transfers_paused(chain, pool, false, op).await,
            Op::PausePool { steps, by } => {
                let signer = self.key_of(*by);
                let is_operator = signer == self.operator;
                let outcome =
                    set_paused(chain, pool, &self.operators[signer], is_operator, true, op).await;
                if outcome.is_ok() {
                    self.pool_paused = true;
                    self.pool_resume_in = Some(*steps);
                }
                outcome
            }
            Op::ResumePool => {
                let outcome = set_paused(chain, pool, operator, true, false, op).await;
                self.pool_paused = false;
                outcome
            }
            Op::ProposeOperator { to, by } => {
                let signer = self.key_of(*by);
                // `pool_propose_operator`: the operator signs (`has_one`), for another key.
                let predicted = if signer != self.operator {
                    Err(u32::from(AllotError::NotOperator))
                } else if *to == self.operator {
                    Err(u32::from(AllotError::OperatorUnchanged))
                } else {
                    Ok(index_figure(*to))
                };
                let proposed = self.operators[*to].pubkey();
                let signer = &self.operators[signer];
                let ix =
                    instructions::pool_propose_operator(&signer.pubkey(), &pool.pool, &proposed);
                let outcome = chain.send(&[ix], &[signer]).await;
                let operators = &self.operators;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::OperatorTransferProposed(e) => key_number(operators, &e.proposed),
                    _ => None,
                });
                if outcome.is_ok() {
                    self.pending_operator = Some(*to);
                }
                outcome
            }
            Op::AcceptOperator { by } => {
                let signer = self.key_of(*by);
                // `pool_accept_operator`: a proposal is pending, and names the signer.
                let predicted = match self.pending_operator {
                    None => Err(u32::from(AllotError::NoPendingOperator)),
                    Some(proposed) if proposed != signer => {
                        Err(u32::from(AllotError::NotPendingOperator))
                    }
                    Some(_) => Ok(index_figure(signer)),
                };
                let ix = instructions::pool_accept_operator(
                    &self.operators[signer].pubkey(),
                    &pool.pool,
                );
                let outcome = chain.send(&[ix], &[&self.operators[signer]]).await;
                let operators = &self.operators;
                // The new operator is the settlement authority too.
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::OperatorTransferred(e) => (e.settlement_authority == e.operator)
                        .then(|| key_number(operators, &e.operator))
                        .flatten(),
                    _ => None,
                });
                if outcome.is_ok() {
                    self.former_operators.insert(self.operator);
                    self.former_operator = Some(self.operator);
                    self.operator = signer;
                    self.pending_operator = None;
                    self.pool.operator = self.operators[signer].insecure_clone();
                }
                outcome
            }
            Op::AllocateToShardAddress { shard } => {
                let address = pdas::shard(&pool.pool, *shard);
                // A careless verifier: any active one (none active, nothing to draw).
                let mut careless = None;
                for verifier in 0..VERIFIERS {
                    if self.verifier_may_write(chain, verifier).await.is_ok() {
                        careless = Some(&self.verifiers[verifier]);
                        break;
                    }
                }
                let Some(verifier) = careless else {
                    return;
                };
                let args = pool.credential_args(chain, 3_000).await;
                let issue =
                    instructions::credential_issue(&verifier.pubkey(), &pool.pool, &address, args);
                chain
                    .send(&[issue], &[verifier])
                    .await
                    .expect("an active verifier credentials any address");
                if *shard < state.shard_count {
                    // A shard is an allot account: refused before any other check of the
                    // handler (the accounts' constraints come first).
                    let payer = chain.payer().pubkey();
                    let evidence = Evidence::Credential;
                    let ix = instructions::allocate(&payer, &pool.pool, &address, evidence);
                    let outcome = chain.send(&[ix], &[]).await;
                    let predicted = Err(u32::from(AllotError::UserIsProgramAccount));
                    assert_agrees(&predicted, &outcome, op, allocated_units);
                    outcome
                } else {
                    // Not an allot account yet: an allocation as to any holder.
                    let held = pool.user_token(&address);
                    let before = chain.token_balance(held).await;
                    let evidence = Evidence::Credential;
                    let outcome = allocate(chain, pool, &address, None, evidence, op).await;
                    if let Ok(events) = &outcome {
                        let amount = events.iter().find_map(allocated_units);
                        assert_eq!(
                            Some(chain.token_balance(held).await - before),
                            amount,
                            "{op:?}: the units are in the address's own associated account"
                        );
                        let vault = pdas::shard_vault(&pool.pool, *shard);
                        assert!(
                            chain.account(vault).await.is_none(),
                            "{op:?}: the next shard's vault address stays empty"
                        );
                    }
                    outcome
                }
            }
            Op::PublishList { ahead, values } => {
                let period = pool.period(chain).await + ahead;
                let entries = (0..USERS).map(key).zip(values.iter().copied()).collect();
                let tree =
                    UserListTree::build(&pool.pool, period, entries).expect("a list of the users");
                let address = pdas::user_list(&pool.pool, period);
                let sealed = match chain.account(address).await {
                    Some(_) => chain.fetch::<UserList>(address).await.is_sealed(),
                    None => false,
                };
                let user_count = u32::try_from(USERS).expect("a few users");
                let predicted = if sealed {
                    Err(u32::from(AllotError::UserListRootInUse))
                } else {
                    Ok(u64::from(user_count))
                };
                let args = UserListPublishArgs {
                    period,
                    root: tree.root(),
                    user_count,
                };
                let ix = instructions::user_list_publish(&operator.pubkey(), &pool.pool, args);
                let outcome = chain.send(&[ix], &[operator]).await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::UserListPublished(e) => Some(u64::from(e.user_count)),
                    _ => None,
                });
                if outcome.is_ok() {
                    self.lists.insert(period, tree);
                }
                outcome
            }
        };
        let kind = format!("{op:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or_default()
            .to_string();
        let landed = outcome.is_ok();
        let tagged = self.tags.iter().map(|tag| format!("{kind}:{tag}"));
        for kind in std::iter::once(kind.clone()).chain(tagged) {
            if let Err(failure) = &outcome {
                let code = failure.custom_code();
                *self.refused.entry((kind.clone(), code)).or_default() += 1;
            }
            let counts = self.landed.entry(kind).or_default();
            counts.0 += u32::from(landed);
            counts.1 += 1;
        }
        for event in outcome.unwrap_or_default() {
            match event {
                AllotEvent::Allocated(e) => {
                    assert!(
                        !state.paused,
                        "{} allocated while the pool's allocations are paused ({op:?})",
                        e.user
                    );
                    assert!(
                        self.allocated.insert((e.user, e.period)),
                        "{} allocated twice in period {}",
                        e.user,
                        e.period
                    );
                    self.last_evidence.insert(e.user, e.evidence);
                }
                // An attestation, or a credential that is gone, takes back only from a holder
                // whose last allocation that kind of evidence supported.
                AllotEvent::ClawedBack(e)
                    if e.evidence == EvidenceKind::Attestation
                        || e.reason == ClawbackReason::CredentialClosed =>
                {
                    assert_eq!(
                        self.last_evidence.get(&e.user),
                        Some(&e.evidence),
                        "{} clawed back ({:?}) on evidence of another kind than its last allocation's",
                        e.user,
                        e.reason
                    );
                }
                AllotEvent::ExchangeSettled(e) => {
                    assert!(self.settled.insert(e.id), "request {} settled twice", e.id);
                }
                _ => {}
            }
        }
    }

    /// Whether verifier number `verifier` may write credentials now: `VerifierInactive` once
    /// the operator deactivated it.
    async fn verifier_may_write(&self, chain: &mut TestChain, verifier: usize) -> Result<(), u32> {
        let address = pdas::verifier(&self.pool.pool, &self.verifiers[verifier].pubkey());
        let state: Verifier = chain.fetch(address).await;
        if state.active {
            Ok(())
        } else {
            Err(u32::from(AllotError::VerifierInactive))
        }
    }

    /// The SAS evidence an allocation or a clawback names: the settings the pool accepts, or
    /// (when it accepts none) the issuer's schema it accepted last.
    fn attestation_evidence(&self, state: &Pool) -> Evidence {
        match &state.attestation {
            Some(accepted) => Evidence::from(accepted),
            None => self.schemas[self.issuer_schema].evidence(),
        }
    }

    /// `user`'s entry in one of the lists published so far (number `list` modulo their count,
    /// by period): the list's period and the evidence, proved in the tree of its root.
    fn list_evidence(&self, list: u64, user: &Pubkey) -> (u64, Evidence) {
        let count = u64::try_from(self.lists.len()).expect("a few lists");
        let index = usize::try_from(list % count).expect("an index");
        let (period, tree) = self.lists.iter().nth(index).expect("a list");
        (*period, list_evidence(tree, *period, user))
    }

    async fn request(&self, chain: &mut TestChain, id: u64) -> Option<ExchangeRequest> {
        let address = pdas::exchange_request(&self.pool.pool, id);
        chain.account(address).await?;
        Some(chain.fetch(address).await)
    }

    /// What every unit sits in: the mint's supply, the vault, the shards' vaults, the escrow and
    /// each user's token account.
    async fn balances(&self, chain: &mut TestChain) -> Vec<u64> {
        let pool = &self.pool.pool;
        let mut balances = vec![
            chain.mint_supply(self.pool.mint).await,
            chain.token_balance(self.pool.vault).await,
            chain.token_balance(pdas::escrow(pool)).await,
        ];
        for index in 0..SHARDS {
            balances.push(chain.token_balance(pdas::shard_vault(pool, index)).await);
        }
        for holder in self.holders() {
            let address = self.pool.user_token(&holder);
            balances.push(chain.token_balance(address).await);
        }
        balances
    }

    async fn check(&mut self, chain: &mut TestChain) {
        let holders = self.holders();
        self.pool.assert_conserved(chain, &holders).await;
        if transfers_paused(chain, &self.pool).await {
            let balances = self.balances(chain).await;
            if let Some(before) = &self.paused_balances {
                assert_eq!(
                    before, &balances,
                    "no unit moves while transfers are paused"
                );
            }
            self.paused_balances = Some(balances);
        } else {
            self.paused_balances = None;
        }
        let mut staged_by_shards = 0;
        for index in 0..SHARDS {
            let shard: AllocationShard = chain.fetch(pdas::shard(&self.pool.pool, index)).await;
            let vault = chain
                .token_balance(pdas::shard_vault(&self.pool.pool, index))
                .await;
            assert_eq!(
                shard.expected_balance().expect("shard books"),
                vault,
                "shard {index} holds what its books say"
            );
            staged_by_shards += shard.funded - shard.drained - shard.swept_units;
        }
        let state = self.pool.state(chain).await;
        assert_eq!(
            state.totals.staged, staged_by_shards,
            "staged = what the shards were given, less returned and swept allocations"
        );
        let key = |number: Option<usize>| number.map(|n| self.operators[n].pubkey());
        assert_eq!(
            (
                Some(state.operator),
                Some(state.exchange.settlement_authority),
                state.pending_operator,
                state.paused,
            ),
            (
                key(Some(self.operator)),
                key(Some(self.operator)),
                key(self.pending_operator),
                self.pool_paused,
            ),
            "the operator and settlement authority are the key that last accepted, the pending \
             operator the key last proposed, and allocations are paused as last set"
        );
        let mut active = 0;
        for verifier in &self.verifiers {
            let address = pdas::verifier(&self.pool.pool, &verifier.pubkey());
            active += u32::from(chain.fetch::<Verifier>(address).await.active);
        }
        assert_eq!(
            state.active_verifiers, active,
            "the pool counts its active verifiers"
        );
        for (period, tree) in &self.lists {
            let list: UserList = chain.fetch(pdas::user_list(&self.pool.pool, *period)).await;
            assert_eq!(
                list.root,
                tree.root(),
                "list {period} holds the root last published for it"
            );
            if self.used_lists.contains(period) {
                assert!(list.is_sealed(), "list {period} was used, so it is sealed");
            }
        }
        for user in &holders {
            let address = pdas::allocation_record(&self.pool.pool, user);
            if chain.account(address).await.is_some() {
                let record: AllocationRecord = chain.fetch(address).await;
                assert!(
                    record.clawed_back <= record.allocated,
                    "clawed back more than allocated"
                );
                assert!(
                    record.clawed_back + record.exchanged <= record.allocated,
                    "more left the user than was allocated"
                );
                assert!(
                    record.debt <= record.clawable(),
                    "a debt is part of what is clawable"
                );
                if record.allocations > 0 {
                    assert_eq!(
                        self.last_evidence.get(user),
                        Some(&record.evidence),
                        "the record names the evidence of the last allocation"
                    );
                }
            }
        }
        for id in &self.closed {
            let address = pdas::exchange_request(&self.pool.pool, *id);
            assert!(
                chain.account(address).await.is_none(),
                "closed request {id} stays closed (no sequence reopens its id)"
            );
        }
        for id in self.settled.difference(&self.closed) {
            let request = self
                .request(chain, *id)
                .await
                .expect("settled requests stay until closed");
            assert_eq!(request.status, RequestStatus::Settled);
            assert_eq!(
                request.paid_amount, request.quoted,
                "paid exactly the quote"
            );
        }
    }
}

/// Counts one step down a pause's `steps` left; whether the pause ends now (then it is over).
fn countdown(steps: &mut Option<u8>) -> bool {
    match *steps {
        Some(0) => {
            *steps = None;
            true
        }
        Some(left) => {
            *steps = Some(left - 1);
            false
        }
        None => false,
    }
}

/// Asserts that the program did what the off-chain answer `predicted` said: landed with the
/// predicted figure (read from its events by `figure`), or was refused with the predicted code.
fn assert_agrees(
    predicted: &Result<u64, u32>,
    outcome: &Result<Vec<AllotEvent>, TxFailure>,
    op: &Op,
    figure: impl Fn(&AllotEvent) -> Option<u64>,
) {
    match (predicted, outcome) {
        (Ok(expected), Ok(events)) => assert_eq!(
            events.iter().find_map(&figure),
            Some(*expected),
            "the figure the off-chain answer gives is what the program did ({op:?})"
        ),
        (Err(code), Err(failure)) => assert_eq!(
            failure.custom_code(),
            Some(*code),
            "refused with the error the off-chain answer names ({op:?}): {:?}",
            failure.logs
        ),
        (predicted, outcome) => panic!(
            "the off-chain answer {predicted:?} disagrees with the program {:?} ({op:?})",
            outcome.as_ref().map(|_| ()).map_err(|f| f.custom_code())
        ),
    }
}

/// The units an `Allocated` event says were allocated.
fn allocated_units(event: &AllotEvent) -> Option<u64> {
    match event {
        AllotEvent::Allocated(e) => Some(e.amount),
        _ => None,
    }
}

/// The error code of a refusal decided off chain.
fn refusal_code(error: anchor_lang::error::Error) -> u32 {
    match error {
        anchor_lang::error::Error::AnchorError(e) => e.error_code_number,
        other => panic!("a decision fails without a code: {other}"),
    }
}

/// Anchor's refusal of an account the instruction reads but that does not exist yet.
fn not_initialized() -> u32 {
    u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized)
}

/// Allocates to `user` on `evidence` from the vault, or from shard `shard` (sent by the chain's
/// fee payer), and asserts that the program did what the page answered before.
async fn allocate(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    shard: Option<u16>,
    evidence: Evidence,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let payer = chain.payer().pubkey();
    let (source, ix) = match shard {
        None => (
            AllocationSource::Vault(chain.token_balance(pool.vault).await),
            instructions::allocate(&payer, &pool.pool, user, evidence.clone()),
        ),
        Some(shard) => {
            let books: AllocationShard = chain.fetch(pdas::shard(&pool.pool, shard)).await;
            (
                AllocationSource::Shard(books.expected_balance().expect("shard books")),
                instructions::allocate_sharded(&payer, &pool.pool, user, shard, evidence.clone()),
            )
        }
    };
    let predicted = predict_allocation(chain, pool, user, &evidence, source).await;
    // The units move unless the user's debt takes them all (a shard allocates no one in debt).
    let debt = match chain
        .account(pdas::allocation_record(&pool.pool, user))
        .await
    {
        Some(_) if shard.is_none() => {
            let record: AllocationRecord =
                chain.fetch(pdas::allocation_record(&pool.pool, user)).await;
            record.debt
        }
        _ => 0,
    };
    let moves = predicted.is_ok_and(|amount| amount > debt);
    let predicted = unless_paused(chain, pool, predicted, moves).await;
    let outcome = chain.send(&[ix], &[]).await;
    assert_agrees(&predicted, &outcome, op, allocated_units);
    outcome
}

/// Claws back from `user` on `evidence` (sent by the chain's fee payer, as the crank would) and
/// asserts that the program did what the crank decided before.
async fn clawback(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    evidence: Evidence,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let predicted = predict_clawback(chain, pool, user, &evidence).await;
    let reason = predicted.as_ref().ok().map(|(_, reason)| *reason);
    let predicted = predicted.map(|(amount, _)| amount);
    // A clawback that finds nothing held only records a debt: it moves nothing.
    let moves = predicted.is_ok_and(|amount| amount > 0);
    let predicted = unless_paused(chain, pool, predicted, moves).await;
    let ix = instructions::clawback(&pool.pool, user, evidence);
    let outcome = chain.send(&[ix], &[]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::ClawedBack(e) => Some(e.amount),
        _ => None,
    });
    if let Ok(events) = &outcome {
        let landed = events.iter().find_map(|event| match event {
            AllotEvent::ClawedBack(e) => Some(e.reason),
            _ => None,
        });
        assert_eq!(
            landed, reason,
            "the clawback's reason is the one the off-chain answer gives ({op:?})"
        );
    }
    outcome
}

/// Whether the pool's mint has its transfers paused now.
async fn transfers_paused(chain: &mut TestChain, pool: &PoolFixture) -> bool {
    let mint = chain.account(pool.mint).await.expect("the pool's mint");
    token::transfers_paused(&mint.data).expect("the sequences' pools are pausable")
}

/// `predicted`, unless the operation `moves` units while the pool's transfers are paused: once
/// the program's own checks pass, Token-2022 refuses the movement (`MintPaused`).
async fn unless_paused(
    chain: &mut TestChain,
    pool: &PoolFixture,
    predicted: Result<u64, u32>,
    moves: bool,
) -> Result<u64, u32> {
    if predicted.is_ok() && moves && transfers_paused(chain, pool).await {
        Err(MINT_PAUSED)
    } else {
        predicted
    }
}

/// The operator pauses (`true`) or resumes the movements of the pool's units: it lands (pausing
/// a paused mint changes nothing), and the mint says so after.
async fn set_transfers_paused(
    chain: &mut TestChain,
    pool: &PoolFixture,
    paused: bool,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let operator = &pool.operator;
    let ix = instructions::pool_set_transfers_paused(&operator.pubkey(), &pool.pool, paused);
    let outcome = chain.send(&[ix], &[operator]).await;
    assert_agrees(&Ok(u64::from(paused)), &outcome, op, |event| match event {
        AllotEvent::PoolTransfersPauseChanged(e) => Some(u64::from(e.paused)),
        _ => None,
    });
    assert_eq!(
        transfers_paused(chain, pool).await,
        paused,
        "{op:?}: the mint says so"
    );
    outcome
}

/// `user`'s SAS attestation under the settings the pool accepts now, read as the page and the
/// CLI read it (`allot_client::attestation::read`): `None` when its address holds none (never
/// written, or closed).
async fn read_attestation(
    chain: &TestChain,
    state: &Pool,
    user: &Pubkey,
) -> Option<AttestationView> {
    let accepted = state
        .attestation
        .expect("read only while the pool accepts attestations");
    allot_client::attestation::read(&chain.embedded(), &accepted, user)
        .await
        .expect("the issuer's attestations read under the pool's settings")
}

/// What the page would answer for allocating to `user` on `evidence` (its credential, or its
/// attestation) from `source` now: the units, or the error code the program will refuse with.
/// An allocation on a list entry, which no state function decides, is predicted by
/// [`check_can_allocate_on_list`].
async fn predict_allocation(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    evidence: &Evidence,
    source: AllocationSource,
) -> Result<u64, u32> {
    let state = pool.state(chain).await;
    let record_address = pdas::allocation_record(&pool.pool, user);
    let record: Option<AllocationRecord> = match chain.account(record_address).await {
        Some(_) => Some(chain.fetch(record_address).await),
        None => None,
    };
    let now = chain.clock().await.unix_timestamp;
    let credential: Credential;
    let attestation: AttestationView;
    let held = match evidence {
        Evidence::Credential => {
            let address = pdas::credential(&pool.pool, user);
            if chain.account(address).await.is_none() {
                return Err(not_initialized());
            }
            credential = chain.fetch(address).await;
            HeldEvidence::Credential(&credential)
        }
        Evidence::Attestation { .. } => {
            if state.attestation.is_none() {
                return Err(after_pool_checks(
                    &state,
                    AllotError::AttestationNotConfigured,
                ));
            }
            let Some(read) = read_attestation(chain, &state, user).await else {
                return Err(after_pool_checks(&state, AllotError::AttestationMissing));
            };
            attestation = read;
            HeldEvidence::Attestation(&attestation)
        }
        Evidence::UserList { period, proof } => {
            // Always published: the sequences prove entries of the lists they published.
            let list: UserList = chain.fetch(pdas::user_list(&pool.pool, *period)).await;
            let value = proof.value;
            return check_can_allocate_on_list(&state, &list, value, record.as_ref(), source, now)
                .map_err(refusal_code);
        }
    };
    check_can_allocate_on(&state, held, record.as_ref(), source, now).map_err(refusal_code)
}

/// The refusal `error` of an allocation on an attestation that no state function decides (its
/// address holds none — never written, or closed by its issuer: `AttestationMissing` — or the
/// pool accepts none: `AttestationNotConfigured`), after the pool's own checks (`allocate`'s
/// "Checks:": not retired, nor paused).
fn after_pool_checks(state: &Pool, error: AllotError) -> u32 {
    let error = if state.is_retired() {
        AllotError::PoolRetired
    } else if state.paused {
        AllotError::PoolPaused
    } else {
        error
    };
    u32::from(error)
}

/// What `allocate` (from the vault) or `allocate_sharded` (from a shard) decides for a user
/// whose entry in `list` states `value`, which no state function decides (the crank composes
/// the same pieces): the checks of their "Checks:" in the program's order, with the program's
/// own pure parts. The pool is not retired nor paused; the list is of the period now
/// (`UserListWrongPeriod`) and its proof holds (the sequences prove entries of the tree whose
/// root they published); the value meets the rule; a shard reads only a list an allocation or a
/// clawback sealed (`UserListNotSealed`); then as on any evidence (`check_can_allocate_on`): no
/// allocation yet this period, no debt for a shard, and the source holds the rule's amount (the
/// sequences' pool is transferable). Returns the units the allocation moves.
fn check_can_allocate_on_list(
    state: &Pool,
    list: &UserList,
    value: u64,
    record: Option<&AllocationRecord>,
    source: AllocationSource,
    now: i64,
) -> anchor_lang::Result<u64> {
    state.check_not_retired()?;
    require!(!state.paused, AllotError::PoolPaused);
    let period = state.period_at(now)?;
    require!(list.period == period, AllotError::UserListWrongPeriod);
    require!(state.rule.is_met_by(value), AllotError::RuleNotMet);
    let sharded = matches!(source, AllocationSource::Shard(_));
    if sharded {
        require!(list.is_sealed(), AllotError::UserListNotSealed);
    }
    if let Some(record) = record {
        record.check_can_allocate(period)?;
        if sharded {
            require!(record.debt == 0, AllotError::ClawbackDebtOutstanding);
        }
    }
    let amount = state.rule.amount;
    match source {
        AllocationSource::Shard(held) => require!(held >= amount, AllotError::ShardInsufficient),
        AllocationSource::Vault(held) => require!(held >= amount, AllotError::VaultInsufficient),
    }
    Ok(amount)
}

/// What the crank would decide for a clawback from `user` on `evidence` (its credential, its
/// attestation or its list entry) now: the units it takes and why, or the error code the
/// program will refuse with.
async fn predict_clawback(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    evidence: &Evidence,
) -> Result<(u64, ClawbackReason), u32> {
    let state = pool.state(chain).await;
    let record_address = pdas::allocation_record(&pool.pool, user);
    if chain.account(pool.user_token(user)).await.is_none()
        || chain.account(record_address).await.is_none()
    {
        return Err(not_initialized());
    }
    if state.is_retired() {
        return Err(u32::from(AllotError::PoolRetired));
    }
    let record: AllocationRecord = chain.fetch(record_address).await;
    let held = chain.token_balance(pool.user_token(user)).await;
    let now = chain.clock().await.unix_timestamp;
    // Evidence that is gone (a credential its verifier closed, an attestation its issuer
    // closed) counts only against a holder whose last allocation that kind supported: the
    // answers check `record.evidence`.
    let reason = match evidence {
        Evidence::Credential => {
            let address = pdas::credential(&pool.pool, user);
            match chain.account(address).await {
                None => closed_credential_clawback_reason(&record),
                Some(_) => {
                    let credential: Credential = chain.fetch(address).await;
                    credential_clawback_reason(&credential, &record, &state.rule, now)
                }
            }
        }
        // `clawback` reads an attestation only under the settings the pool accepts.
        Evidence::Attestation { .. } => match state.attestation {
            None => Err(error!(AllotError::AttestationNotConfigured)),
            Some(accepted) => {
                let view = read_attestation(chain, &state, user).await;
                attestation_clawback_reason(&accepted, view.as_ref(), &record, &state.rule, now)
            }
        },
        // A list of a period that has begun, no older than the last allocation (its proof
        // holds: the sequences prove entries of the tree whose root they published).
        Evidence::UserList { period, proof } => state
            .period_at(now)
            .and_then(|current| check_list_is_current(*period, current, &record))
            .and_then(|()| list_clawback_reason(proof.value, &state.rule)),
    };
    reason
        .and_then(|reason| Ok((clawback_amount(&record, held)?, reason)))
        .map_err(refusal_code)
}

/// Closes request `id` (sent by the chain's fee payer) after predicting the program's answer: a
/// request that exists (`AccountNotInitialized` once closed) and is final — settled, cancelled
/// or rejected (`RequestNotFinal`). When it lands, all of its lamports go to whoever paid its
/// rent (the user, or the sponsor) and the address is empty.
async fn close_request(
    chain: &mut TestChain,
    pool: &PoolFixture,
    id: u64,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let address = pdas::exchange_request(&pool.pool, id);
    let found = match chain.account(address).await {
        Some(account) => Some((
            chain.fetch::<ExchangeRequest>(address).await,
            account.lamports,
        )),
        None => None,
    };
    let predicted = match &found {
        None => Err(not_initialized()),
        Some((request, _)) if !request.is_final() => Err(u32::from(AllotError::RequestNotFinal)),
        Some((_, rent)) => Ok(*rent),
    };
    let fee_payer = chain.payer().pubkey();
    let rent_payer = found.as_ref().map_or(fee_payer, |(r, _)| r.rent_payer);
    let before = chain.account(rent_payer).await.map_or(0, |a| a.lamports);
    let ix = instructions::exchange_close(&pool.pool, id, &rent_payer);
    let outcome = chain.send(&[ix], &[]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::ExchangeRequestClosed(e) => Some(e.lamports),
        _ => None,
    });
    if let (Ok(_), Some((_, rent))) = (&outcome, found) {
        assert!(chain.account(address).await.is_none(), "{op:?}: closed");
        assert_ne!(rent_payer, fee_payer, "users and the sponsor pay requests");
        let after = chain.account(rent_payer).await.map_or(0, |a| a.lamports);
        assert_eq!(
            after - before,
            rent,
            "{op:?}: the rent goes back to its payer"
        );
    }
    outcome
}

/// The figure an operator-key event is checked by: the key's number.
fn index_figure(number: usize) -> u64 {
    u64::try_from(number).expect("a few keys")
}

/// The number of `key` among the keys that may hold the operator's role, as a figure.
fn key_number(operators: &[Keypair], key: &Pubkey) -> Option<u64> {
    operators
        .iter()
        .position(|k| k.pubkey() == *key)
        .map(index_figure)
}

/// `signer` pauses (`true`) or resumes the pool's allocations (`pool_set_paused`) after
/// predicting the program's answer: it lands exactly when `signer` `is_operator` (`has_one`;
/// `NotOperator` otherwise), and the pool says so after.
async fn set_paused(
    chain: &mut TestChain,
    pool: &PoolFixture,
    signer: &Keypair,
    is_operator: bool,
    paused: bool,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let predicted = if is_operator {
        Ok(u64::from(paused))
    } else {
        Err(u32::from(AllotError::NotOperator))
    };
    let ix = instructions::pool_set_paused(&signer.pubkey(), &pool.pool, paused);
    let outcome = chain.send(&[ix], &[signer]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::PoolPauseChanged(e) => Some(u64::from(e.paused)),
        _ => None,
    });
    if outcome.is_ok() {
        assert_eq!(
            pool.state(chain).await.paused,
            paused,
            "{op:?}: the pool says so"
        );
    }
    outcome
}

/// `signer` locks request `id` after predicting the program's answer: a request that exists
/// (`AccountNotInitialized` once closed), a signer that is the pool's settlement authority
/// (`NotSettlementAuthority`), then `ExchangeRequest::check_can_lock` (pending, paid off chain).
/// When it lands the request is locked by `signer` from now until its frozen lock timeout, the
/// pool's figures are unchanged, and its `user`, trying to cancel it at once, is refused
/// (`check_can_cancel`: `RequestLocked`) and changes nothing.
async fn lock(
    chain: &mut TestChain,
    pool: &PoolFixture,
    id: u64,
    signer: &Keypair,
    user: &Keypair,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let state = pool.state(chain).await;
    let address = pdas::exchange_request(&pool.pool, id);
    let now = chain.clock().await.unix_timestamp;
    let before: Option<ExchangeRequest> = match chain.account(address).await {
        None => None,
        Some(_) => Some(chain.fetch(address).await),
    };
    let predicted = match &before {
        None => Err(not_initialized()),
        Some(_) if signer.pubkey() != state.exchange.settlement_authority => {
            Err(u32::from(AllotError::NotSettlementAuthority))
        }
        Some(request) => request
            .check_can_lock()
            .map(|()| now + request.lock_timeout_seconds)
            .map_err(refusal_code),
    };
    let created_at = before.as_ref().map_or(0, |request| request.created_at);
    let ix = instructions::exchange_lock(&signer.pubkey(), &pool.pool, id, created_at);
    let outcome = chain.send(&[ix], &[signer]).await;
    // The figure: when the user may cancel anyway (a negative one cannot occur after a landing).
    assert_agrees(
        &predicted.map(|from| u64::try_from(from).expect("a time after 1970")),
        &outcome,
        op,
        |event| match event {
            AllotEvent::ExchangeLocked(e) => u64::try_from(e.cancel_after_lock).ok(),
            _ => None,
        },
    );
    if outcome.is_ok() {
        let request: ExchangeRequest = chain.fetch(address).await;
        assert_eq!(
            (request.status, request.locked_at, request.locked_by),
            (RequestStatus::Locked, now, signer.pubkey()),
            "{op:?}: locked now by its signer"
        );
        let after = pool.state(chain).await;
        assert_eq!(
            (after.exchange_state, after.totals),
            (state.exchange_state, state.totals),
            "{op:?}: a lock moves nothing"
        );
        // A lock freezes the request: its user's cancel is refused until the lock expires, as
        // the program's rule says of the request read before the lock, locked now.
        let locked = u32::from(AllotError::RequestLocked);
        let mut as_locked = before.clone().expect("a lock lands only on a request");
        as_locked.status = RequestStatus::Locked;
        as_locked.locked_at = now;
        as_locked.locked_by = signer.pubkey();
        assert_eq!(
            as_locked.check_can_cancel(now).map_err(refusal_code),
            Err(locked),
            "{op:?}: the request's rule refuses its user's cancel now"
        );
        let cancel = instructions::exchange_cancel(&user.pubkey(), &pool.pool, id);
        let cancelled = chain.send(&[cancel], &[user]).await;
        assert_eq!(
            cancelled.err().map(|failure| failure.custom_code()),
            Some(Some(locked)),
            "{op:?}: and so does the program"
        );
        let still: ExchangeRequest = chain.fetch(address).await;
        assert_eq!(still.status, RequestStatus::Locked, "{op:?}: still locked");
    }
    outcome
}

/// `signer` settles request `id` for its quote (paid off chain) after predicting the program's
/// answer: a request that exists, `ExchangeRequest::check_may_finish` (the settlement authority
/// while it is pending, the key that locked it while it is locked), `check_is_open`, then
/// Token-2022's `MintPaused` for the units it burns while transfers are paused. When it lands
/// the pool's exchange figures and totals are `Pool::record_settlement`'s and the request is
/// settled now for its quote.
async fn settle(
    chain: &mut TestChain,
    pool: &PoolFixture,
    id: u64,
    signer: &Keypair,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let state = pool.state(chain).await;
    let address = pdas::exchange_request(&pool.pool, id);
    let found: Option<ExchangeRequest> = match chain.account(address).await {
        Some(_) => Some(chain.fetch(address).await),
        None => None,
    };
    let now = chain.clock().await.unix_timestamp;
    let authority = state.exchange.settlement_authority;
    let predicted = match &found {
        None => Err(not_initialized()),
        Some(request) => request
            .check_may_finish(&authority, &signer.pubkey())
            .and_then(|()| request.check_is_open())
            .map(|()| request.quoted)
            .map_err(refusal_code),
    };
    let moves = found.as_ref().is_some_and(|r| r.amount > 0);
    let predicted = unless_paused(chain, pool, predicted, moves).await;
    let args = ExchangeSettleArgs {
        payout_reference: [9; 32],
        paid_amount: found.as_ref().map_or(0, |r| r.quoted),
        expected_created_at: found.as_ref().map_or(0, |r| r.created_at),
    };
    let ix = instructions::exchange_settle(&signer.pubkey(), &pool.pool, id, args, None);
    let outcome = chain.send(&[ix], &[signer]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::ExchangeSettled(e) => Some(e.quoted),
        _ => None,
    });
    if let (Ok(_), Some(request)) = (&outcome, &found) {
        let mut expected = state.clone();
        let burned = state.exchange.settle_action == SettleAction::Burn;
        expected
            .record_settlement(request.amount, request.quoted, burned)
            .expect("a settlement the program made");
        let after = pool.state(chain).await;
        assert_eq!(
            (after.exchange_state, after.totals),
            (expected.exchange_state, expected.totals),
            "{op:?}: the pool's figures are record_settlement's"
        );
        let settled: ExchangeRequest = chain.fetch(address).await;
        assert_eq!(
            (settled.status, settled.finalized_at, settled.paid_amount),
            (RequestStatus::Settled, now, request.quoted),
            "{op:?}: settled now, for its quote"
        );
    }
    outcome
}

/// Returns request `id`'s escrowed units to `user`, by its cancel (`status` `Cancelled`,
/// `signer` the user) or its rejection (`Rejected`, `signer` a settlement key), after predicting
/// the program's answer: a request that exists; for a cancel `ExchangeRequest::check_can_cancel`
/// (pending past its `cancel_after`, or locked past the lock's expiry: `CancelTooEarly`,
/// `RequestLocked`), for a rejection `check_may_finish` then `check_is_open`; then Token-2022's
/// `MintPaused` while transfers are paused. When it lands the user has the units back, the
/// request is final now with `status`, and the pool's and the user's record's exchange counters
/// are what [`predict_refund`] says: the caps get the request's units back.
async fn refund(
    chain: &mut TestChain,
    pool: &PoolFixture,
    id: u64,
    user: &Pubkey,
    signer: &Keypair,
    status: RequestStatus,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let state = pool.state(chain).await;
    let address = pdas::exchange_request(&pool.pool, id);
    let found: Option<ExchangeRequest> = match chain.account(address).await {
        Some(_) => Some(chain.fetch(address).await),
        None => None,
    };
    let record_address = pdas::allocation_record(&pool.pool, user);
    let record: Option<AllocationRecord> = match chain.account(record_address).await {
        Some(_) => Some(chain.fetch(record_address).await),
        None => None,
    };
    let now = chain.clock().await.unix_timestamp;
    let authority = state.exchange.settlement_authority;
    let predicted = match &found {
        None => Err(not_initialized()),
        Some(request) => match status {
            RequestStatus::Cancelled => request.check_can_cancel(now),
            _ => request
                .check_may_finish(&authority, &signer.pubkey())
                .and_then(|()| request.check_is_open()),
        }
        .map(|()| request.amount)
        .map_err(refusal_code),
    };
    let moves = found.as_ref().is_some_and(|r| r.amount > 0);
    let predicted = unless_paused(chain, pool, predicted, moves).await;
    let held = pool.user_token(user);
    let before = chain.token_balance(held).await;
    let ix = match status {
        RequestStatus::Cancelled => instructions::exchange_cancel(user, &pool.pool, id),
        _ => instructions::exchange_reject(
            &signer.pubkey(),
            &pool.pool,
            id,
            found.as_ref().map_or(0, |r| r.created_at),
            user,
            REJECT_REASON,
        ),
    };
    let outcome = chain.send(&[ix], &[signer]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::ExchangeCancelled(e) => Some(e.amount),
        AllotEvent::ExchangeRejected(e) => Some(e.amount),
        _ => None,
    });
    if let (Ok(_), Some(request)) = (&outcome, &found) {
        assert_eq!(
            chain.token_balance(held).await - before,
            request.amount,
            "{op:?}: the escrowed units are back with the user"
        );
        let done: ExchangeRequest = chain.fetch(address).await;
        let reason = if status == RequestStatus::Rejected {
            REJECT_REASON
        } else {
            0
        };
        assert_eq!(
            (done.status, done.finalized_at, done.reject_reason),
            (status, now, reason),
            "{op:?}: the request is final now"
        );
        let (expected_pool, expected_record) = predict_refund(&state, record.as_ref(), request);
        let after = pool.state(chain).await;
        assert_eq!(
            (after.exchange_state, after.totals),
            (expected_pool.exchange_state, expected_pool.totals),
            "{op:?}: the per-period cap gets the units back (Pool::record_request_returned)"
        );
        let counters = |r: &AllocationRecord| {
            (
                r.exchanged,
                r.exchange_period,
                r.period_requested,
                r.clawed_back,
                r.debt,
            )
        };
        let record_after: Option<AllocationRecord> = match chain.account(record_address).await {
            Some(_) => Some(chain.fetch(record_address).await),
            None => None,
        };
        assert_eq!(
            record_after.as_ref().map(counters),
            expected_record.as_ref().map(counters),
            "{op:?}: the per-user cap gets the units back and the user's own are claw-backable \
             again (AllocationRecord::record_request_returned)"
        );
    }
    outcome
}

/// The pool and the user's record after `request` is cancelled or rejected, by the program's
/// own pure functions, as `exchange_refund` applies them: the escrow gives the units back and the
/// per-period cap gets them back if the request counted in the period the pool counts
/// (`Pool::record_request_returned`); the record (if any) no longer counts the request's own
/// units as exchanged — after the retirement, no more than it counts — and the per-user cap gets
/// all its units back if the request counted in the record's period
/// (`AllocationRecord::record_request_returned`).
fn predict_refund(
    state: &Pool,
    record: Option<&AllocationRecord>,
    request: &ExchangeRequest,
) -> (Pool, Option<AllocationRecord>) {
    let mut pool = state.clone();
    let period = pool
        .period_at(request.created_at)
        .expect("the period a request was made in");
    pool.record_request_returned(request.amount, period)
        .expect("a return the program made");
    let record = record.cloned().map(|mut record| {
        let own_units = if pool.is_retired() {
            request.own_units.min(record.exchanged)
        } else {
            request.own_units
        };
        record
            .record_request_returned(request.amount, own_units, period)
            .expect("a return the program made");
        record
    });
    (pool, record)
}

/// Closes `user`'s allocation record (sent by the chain's fee payer) after predicting the
/// program's answer: a record that exists, of a retired pool, that no longer counts this
/// period's requests nor its last allocation's holding time (`check_can_close`). When it
/// lands, all of the record's lamports go to its rent payer and the address is empty.
async fn close_record(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    op: &Op,
) -> Result<Vec<AllotEvent>, TxFailure> {
    let state = pool.state(chain).await;
    let address = pdas::allocation_record(&pool.pool, user);
    let fee_payer = chain.payer().pubkey();
    let (record, rent) = match chain.account(address).await {
        Some(account) => (
            Some(chain.fetch::<AllocationRecord>(address).await),
            account.lamports,
        ),
        None => (None, 0),
    };
    let now = chain.clock().await.unix_timestamp;
    let predicted: Result<u64, u32> = match &record {
        None => Err(not_initialized()),
        Some(_) if !state.is_retired() => Err(u32::from(AllotError::PoolNotRetired)),
        Some(record) => state
            .period_at(now)
            .and_then(|period| {
                record.check_can_close(
                    period,
                    now,
                    state.exchange.min_holding_seconds,
                    state.transferable,
                )
            })
            .map(|()| rent)
            .map_err(refusal_code),
    };
    let rent_payer = record.as_ref().map_or(fee_payer, |r| r.rent_payer);
    let before = chain.account(rent_payer).await.map_or(0, |a| a.lamports);
    let ix = instructions::allocation_record_close(&pool.pool, user, &rent_payer);
    let outcome = chain.send(&[ix], &[]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::AllocationRecordClosed(e) => Some(e.lamports),
        _ => None,
    });
    if outcome.is_ok() {
        assert!(chain.account(address).await.is_none(), "{op:?}: closed");
        // Rent that comes back: all of it, to whoever paid it (the chain's fee payer, when it
        // paid, also paid this one-signature transaction's fee).
        let fee = if rent_payer == fee_payer {
            SIGNATURE_FEE
        } else {
            0
        };
        let after = chain.account(rent_payer).await.map_or(0, |a| a.lamports);
        assert_eq!(
            after + fee - before,
            rent,
            "{op:?}: the rent goes back to its payer"
        );
    }
    outcome
}

/// What the page and the CLI would answer for `user` requesting `amount` units now: the quote, or
/// the error code the program will refuse with (Anchor's "account not initialized" for a user
/// with no token account yet).
async fn predict_exchange(
    chain: &mut TestChain,
    pool: &PoolFixture,
    state: &Pool,
    user: &Pubkey,
    amount: u64,
) -> Result<u64, u32> {
    let record_address = pdas::allocation_record(&pool.pool, user);
    if chain.account(pool.user_token(user)).await.is_none() {
        return Err(not_initialized());
    }
    // Without a record (only received units, or closed after the retirement) the request opens
    // an empty one.
    let record: AllocationRecord = match chain.account(record_address).await {
        Some(_) => chain.fetch(record_address).await,
        None => AllocationRecord::empty(),
    };
    let held = chain.token_balance(pool.user_token(user)).await;
    let now = chain.clock().await.unix_timestamp;
    check_can_request(state, &record, held, amount, now)
        .map(|quote| quote.quoted)
        .map_err(refusal_code)
}

#[test]
fn invariants_hold_after_every_step_of_random_sequences() {
    let cases: u32 = std::env::var("ALLOT_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let chain = RefCell::new(runtime.block_on(TestChain::start()));
    let next_pool = RefCell::new(0u64);
    let totals: RefCell<BTreeMap<String, (u32, u32)>> = RefCell::new(BTreeMap::new());
    let refusals: RefCell<BTreeMap<(String, Option<u32>), u32>> = RefCell::new(BTreeMap::new());
    // A fixed seed keeps CI reproducible; ALLOT_PROPERTY_SEED explores other sequences. The
    // default is a seed whose 32 sequences land every kind of operation (checked below): since
    // the exchange reconfiguration joined the operations, 2026's sequences never land a clawback
    // (seed 1's landed one of 36); since credential closing joined them (2026-12-05), seed 1's
    // never land a settlement and seeds 3 and 4's no clawback, so the default was 2; since
    // retirement and record closing joined them (2026-12-05), seeds 1–5 and 7–12 miss a
    // clawback or a record close (a clawback lands in about 1 of 35 attempts), so it was 6;
    // since SAS attestations joined them (issue #18; sequences of up to 39 steps), seeds 1, 3–8,
    // 10–14 and 17–20 miss a kind, mostly a clawback on an attestation (it lands in about 1 of
    // 55 attempts), so it was 2 (9, 15 and 16 landed every kind too); since issue #18's last
    // paths joined them (verifier removal, the issuer's signer, no SAS settings, paused
    // transfers, lists, request closes; sequences of up to 59 steps, starting with holders),
    // and the test also asks for the refusals those paths exist for, of seeds 1–12 only 5
    // passes: the others miss one or two of a sharded allocation on an attestation or a list,
    // a clawback on an attestation (about 1 in 50 attempts) or a list, a record close, a list
    // of a future period refused, or a paused mint refusing a predicted operation. So it was 5;
    // since locks, cancels and rejections with their caps given back, the operator's handover
    // (with the former operator refused), the allocations' pause and the shards' addresses
    // joined them (sequences of up to 79 steps, some starting with a handover), and the test
    // also asks for a cancel, a locked request finished, the new operator's instructions landing
    // and those refusals, of seeds 1–22 only 13 and 18 pass: the others miss mostly a list of a
    // future period refused (12 of them), or a clawback on an attestation, a sharded allocation
    // on an attestation or a list, a cancel, a locked request settled or rejected, or a refused
    // acceptance by another key than the one proposed. So it is 18.
    let seed = std::env::var("ALLOT_PROPERTY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(18);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let sequence = (
        prop::collection::vec(0u64..3_000, USERS),
        prop::collection::vec(prop::option::weighted(0.8, attestation()), USERS),
        list_values(),
        prop::collection::vec(prop::option::weighted(0.75, 0u8..3), USERS),
        0u8..3,
        // Up to 79 steps: with the SAS, list and pause operations beside the others, shorter
        // sequences seldom reach a clawback on an attestation (allocated on it, then its lapse,
        // then the clawback) or a sharded allocation on a list (sealed first, by another); and
        // since locks, the operator's handover, the allocations' pause and the shards' addresses
        // joined (a quarter of the draws), 59 steps met the older paths too seldom.
        prop::collection::vec(op(), 1..80),
    );
    let result = runner.run(
        &sequence,
        |(volumes, attestations, listed, first, handover, ops)| {
            let mut chain = chain.borrow_mut();
            let mut pool_id = next_pool.borrow_mut();
            *pool_id += 1;
            runtime.block_on(async {
                let mut world = World::new(
                    &mut chain,
                    *pool_id,
                    &volumes,
                    &attestations,
                    &listed,
                    &first,
                    handover,
                )
                .await;
                for op in &ops {
                    world.apply(&mut chain, op).await;
                    world.check(&mut chain).await;
                    for resume in world.resumes_due() {
                        world.apply(&mut chain, &resume).await;
                        world.check(&mut chain).await;
                    }
                }
                for (kind, (landed, attempted)) in world.landed {
                    let mut total = totals.borrow_mut();
                    let entry = total.entry(kind).or_default();
                    entry.0 += landed;
                    entry.1 += attempted;
                }
                for (refusal, count) in world.refused {
                    *refusals.borrow_mut().entry(refusal).or_default() += count;
                }
            });
            Ok::<(), TestCaseError>(())
        },
    );
    result.expect("every sequence keeps the invariants");
    let totals = totals.into_inner();
    eprintln!("{cases} sequences; operations landed/attempted: {totals:?}");
    let refusals = refusals.into_inner();
    eprintln!("refusals (operation, error code): {refusals:?}");
    let missing: Vec<&str> = [
        "Issue",
        "Revoke",
        "CloseCredential",
        "SetVerifierActive",
        "Allocate",
        "AllocateSharded",
        "FundShard",
        "DrainShard",
        "Sweep",
        "Clawback",
        "Exchange",
        "Transfer",
        "ConfigureExchange",
        "Settle",
        "Reject",
        "Lock",
        "Cancel",
        "CloseRequest",
        "Retire",
        "CloseRecord",
        "Attest",
        "CloseAttestation",
        "AllocateOnAttestation",
        "AllocateShardedOnAttestation",
        "ClawbackOnAttestation",
        "AcceptSchema",
        "DropAttestations",
        "SetIssuerSigner",
        "PauseTransfers",
        "ResumeTransfers",
        "PublishList",
        "AllocateOnList",
        "AllocateShardedOnList",
        "ClawbackOnList",
        "PausePool",
        "ResumePool",
        "ProposeOperator",
        "AcceptOperator",
        "AllocateToShardAddress",
    ]
    .into_iter()
    .filter(|kind| totals.get(*kind).is_none_or(|(landed, _)| *landed == 0))
    .collect();
    // And situations a kind lands in, each by one of the operations named: a locked request
    // finished by the key that locked it; the new operator's settlement-authority and
    // operator-only instructions.
    let situations: [&[&str]; 3] = [
        &["Settle:OfLocked", "Reject:OfLocked"],
        &[
            "Settle:ByNewOperator",
            "Reject:ByNewOperator",
            "Lock:ByNewOperator",
        ],
        &[
            "ConfigureExchange:ByNewOperator",
            "PausePool:ByNewOperator",
            "ProposeOperator:ByNewOperator",
        ],
    ];
    let unlanded: Vec<&[&str]> = situations
        .into_iter()
        .filter(|kinds| {
            !kinds
                .iter()
                .any(|kind| totals.get(*kind).is_some_and(|(landed, _)| *landed > 0))
        })
        .collect();
    // And the refusals the new paths exist for, each by one of the operations named.
    const ALLOCATING: [&str; 7] = [
        "Allocate",
        "AllocateSharded",
        "AllocateOnAttestation",
        "AllocateShardedOnAttestation",
        "AllocateOnList",
        "AllocateShardedOnList",
        "AllocateToShardAddress",
    ];
    let moving_units: Vec<&str> = ALLOCATING
        .iter()
        .chain(&[
            "Clawback",
            "ClawbackOnAttestation",
            "ClawbackOnList",
            "Exchange",
            "Settle",
            "Reject",
            "Cancel",
        ])
        .copied()
        .collect();
    let expected: [(&[&str], u32); 13] = [
        (
            &["Issue", "Revoke", "CloseCredential"],
            AllotError::VerifierInactive.into(),
        ),
        (
            &["AllocateOnAttestation", "AllocateShardedOnAttestation"],
            AllotError::AttestationSignerNotAuthorised.into(),
        ),
        (
            &[
                "AllocateOnAttestation",
                "AllocateShardedOnAttestation",
                "ClawbackOnAttestation",
            ],
            AllotError::AttestationNotConfigured.into(),
        ),
        (&["PublishList"], AllotError::UserListRootInUse.into()),
        (
            &["ClawbackOnList"],
            AllotError::UserListFromFuturePeriod.into(),
        ),
        (
            &["AllocateShardedOnList"],
            AllotError::UserListNotSealed.into(),
        ),
        (&["CloseRequest"], AllotError::RequestNotFinal.into()),
        (&moving_units, MINT_PAUSED),
        (&ALLOCATING, AllotError::PoolPaused.into()),
        (
            &[
                "Settle:ByFormerOperator",
                "Reject:ByFormerOperator",
                "Lock:ByFormerOperator",
            ],
            AllotError::NotSettlementAuthority.into(),
        ),
        (
            &[
                "ConfigureExchange:ByFormerOperator",
                "PausePool:ByFormerOperator",
                "ProposeOperator:ByFormerOperator",
            ],
            AllotError::NotOperator.into(),
        ),
        (&["AcceptOperator"], AllotError::NotPendingOperator.into()),
        (
            &["AllocateToShardAddress"],
            AllotError::UserIsProgramAccount.into(),
        ),
    ];
    let unseen: Vec<(&[&str], u32)> = expected
        .into_iter()
        .filter(|(kinds, code)| {
            !kinds
                .iter()
                .any(|kind| refusals.contains_key(&(kind.to_string(), Some(*code))))
        })
        .collect();
    let covered = missing.is_empty() && unlanded.is_empty() && unseen.is_empty();
    let shortfall = format!(
        "the sequences land no {missing:?}, none of {unlanded:?}, and see no refusal {unseen:?}"
    );
    // Coverage is required of the default seed (chosen for it); another seed, tried to look for
    // disagreements, usually misses a rare path, which is said, not failed.
    if std::env::var("ALLOT_PROPERTY_SEED").is_ok() {
        if !covered {
            eprintln!(
                "coverage (not required of a seed given by ALLOT_PROPERTY_SEED): {shortfall}"
            );
        }
    } else {
        assert!(covered, "{shortfall}");
    }
}
