//! Property test: random sequences of operations by an operator, a verifier, a SAS issuer, a
//! settlement authority and four users, on the real runtime. Drawn: credentials issued, revoked
//! and closed; SAS attestations written and rewritten (a payment volume, an expiry that may be
//! past already or pass during the sequence's waits) and closed, and the pool switching between
//! two versions of the issuer's schema; allocations on a credential or an attestation, from the
//! vault or one of two shards; shard funding, drains and sweeps; clawbacks on a credential or an
//! attestation; transfers between users; exchange requests, settlements, rejections and cancels
//! under exchange rules the operator reconfigures at random (minimum holding and holding time,
//! per-user and per-period caps, open or closed, a rate that can quote zero); waits of hours;
//! the pool's retirement and allocation records closing. After every step, whatever was
//! accepted or refused:
//! - conservation: vault + shards + holders + escrow + burned = minted (and the pool's own
//!   invariant);
//! - the pool's staged units are what its shards' books say they were given and have not
//!   allocated-and-swept or returned;
//! - no user is allocated twice in one period, whatever the evidence;
//! - no user has more clawed back than was allocated to them, nor more of its own allocation
//!   clawed back and sent to exchange together (units received from others are exchanged
//!   first, so exchanging them never shields one's own from clawback); a debt (units a
//!   clawback could not find) is never more than what is clawable, and the allocations and
//!   requests that repay it first land exactly as the off-chain answer says;
//! - each record names the evidence of its user's last allocation, and an attestation, or a
//!   credential that is gone, takes back only from a holder whose last allocation that kind of
//!   evidence supported (`EvidenceNotOfLastAllocation` otherwise);
//! - every settled request was settled once, for exactly its quote;
//! - a closed credential's rent goes back, all of it, to the verifier that paid it, and closing
//!   and issuing again never opens a second allocation in the period (the rule above);
//! - once the operator retires the pool, no allocation or clawback lands; an allocation record
//!   closes exactly when `check_can_close` says it may, all its rent going back to its payer,
//!   and a request after the close reopens it empty (no second allocation can follow: the
//!   rule above);
//! - naming the schema already accepted keeps when it was first accepted; another is accepted
//!   from now on;
//! - every allocation, clawback and exchange request lands exactly when the off-chain answer
//!   says it may (`check_can_allocate_on` with the credential, or with the attestation as
//!   `allot_client::attestation::read` reads it: what the page asks; the crank's
//!   `credential_clawback_reason`, or `closed_credential_clawback_reason` once the verifier
//!   closed the credential, or `attestation_clawback_reason` (closed, expired, below the rule,
//!   or allocated under another schema), then `clawback_amount`; `check_can_request`, what the
//!   page and the CLI ask), moving the units or quoting the funds it names, and a refused one
//!   is refused with the error it names. No state function decides an allocation on an
//!   attestation address that holds none: it is predicted from `allocate`'s "Checks:"
//!   (`AttestationMissing` once the pool is neither retired nor paused).
//!
//! `ALLOT_PROPERTY_CASES` sets the number of sequences (default 32, so the suite stays fast);
//! `ALLOT_PROPERTY_CASES=10000 cargo test --profile long-run -p allot-tests --test properties`
//! is the long run.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use allot::constants::RATE_SCALE;
use allot::error::AllotError;
use allot::instructions::ExchangeSettleArgs;
use allot::state::{
    AllocationRecord, AllocationShard, AllocationSource, AttestationView, ClawbackReason,
    Credential, EvidenceKind, ExchangeRequest, HeldEvidence, Pool, RequestStatus,
    attestation_clawback_reason, check_can_allocate_on, check_can_request, clawback_amount,
    closed_credential_clawback_reason, credential_clawback_reason,
};
use allot_client::events::AllotEvent;
use allot_client::instructions::Evidence;
use allot_client::{instructions, pdas};
use allot_tests::sas::{SasFixture, VOLUME_FIELD};
use allot_tests::{PoolFixture, TestChain, TxFailure, exchange_config, pool_args};
use anchor_lang::prelude::Pubkey;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use solana_sdk::signature::{Keypair, Signer};

const USERS: usize = 4;
/// The fee of a one-signature transaction on the test runtime (lamports).
const SIGNATURE_FEE: u64 = 5_000;
/// Allocation shards of each sequence's pool.
const SHARDS: u16 = 2;

/// One step of a sequence.
#[derive(Clone, Debug)]
enum Op {
    Issue {
        user: usize,
        volume: u64,
    },
    Revoke {
        user: usize,
    },
    /// The verifier closes the user's credential (its rent back to the verifier that paid it).
    CloseCredential {
        user: usize,
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
    Exchange {
        user: usize,
        amount: u64,
    },
    /// A holder sends units to another (the pool is transferable).
    Transfer {
        from: usize,
        to: usize,
        amount: u64,
    },
    ConfigureExchange {
        rules: ExchangeRules,
    },
    Settle {
        request: u64,
    },
    Reject {
        request: u64,
    },
    Cancel {
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
    /// accepts now: payment `volume`, expiring `expires_in_hours` from now (`None`: never; zero
    /// or less: already expired, as one written before would be).
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
    /// `clawback` on the user's SAS attestation (closed, expired or below the rule).
    ClawbackOnAttestation {
        user: usize,
    },
    /// The operator names version `version` (1 or 2) of the SAS issuer's schema; another
    /// version than the one accepted is accepted from now on.
    AcceptSchema {
        version: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        3 => (user.clone(), 0u64..3_000).prop_map(|(user, volume)| Op::Issue { user, volume }),
        2 => user.clone().prop_map(|user| Op::Revoke { user }),
        1 => user.clone().prop_map(|user| Op::CloseCredential { user }),
        3 => user.clone().prop_map(|user| Op::Allocate { user }),
        3 => (user.clone(), 0..SHARDS).prop_map(|(user, shard)| Op::AllocateSharded { user, shard }),
        1 => (0..SHARDS, 1u64..300).prop_map(|(shard, amount)| Op::FundShard { shard, amount }),
        1 => (0..SHARDS, 1u64..300).prop_map(|(shard, amount)| Op::DrainShard { shard, amount }),
        1 => (0..SHARDS).prop_map(|shard| Op::Sweep { shard }),
        3 => user.clone().prop_map(|user| Op::Clawback { user }),
        3 => (user.clone(), 1u64..15).prop_map(|(user, amount)| Op::Exchange { user, amount }),
        2 => (user.clone(), user.clone(), 1u64..15)
            .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        2 => any::<u64>().prop_map(|request| Op::Settle { request }),
        2 => any::<u64>().prop_map(|request| Op::Reject { request }),
        1 => any::<u64>().prop_map(|request| Op::Cancel { request }),
        1 => (1i64..30).prop_map(|hours| Op::Wait { hours }),
        1 => exchange_rules().prop_map(|rules| Op::ConfigureExchange { rules }),
        1 => Just(Op::Retire),
        3 => user.clone().prop_map(|user| Op::CloseRecord { user }),
        3 => (user.clone(), attestation()).prop_map(|(user, (volume, expires_in_hours))| {
            Op::Attest { user, volume, expires_in_hours }
        }),
        2 => user.clone().prop_map(|user| Op::CloseAttestation { user }),
        3 => user.clone().prop_map(|user| Op::AllocateOnAttestation { user }),
        2 => (user.clone(), 0..SHARDS)
            .prop_map(|(user, shard)| Op::AllocateShardedOnAttestation { user, shard }),
        4 => user.clone().prop_map(|user| Op::ClawbackOnAttestation { user }),
        1 => (1u8..=2).prop_map(|version| Op::AcceptSchema { version }),
    ]
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
    /// The SAS issuer's schema "payments", versions 1 and 2 (in that order).
    schemas: Vec<SasFixture>,
    allocated: BTreeSet<(Pubkey, u64)>,
    /// The evidence of each user's last allocation, as its `Allocated` event named it.
    last_evidence: BTreeMap<Pubkey, EvidenceKind>,
    settled: BTreeSet<u64>,
    /// Per operation kind: (landed, attempted).
    landed: BTreeMap<String, (u32, u32)>,
}

impl World {
    /// A fresh pool (with two shards of 200 units, accepting the attestations of a SAS
    /// issuer's schema version 1) whose users start with credentials of `volumes` for the first
    /// period and with `attestations` (volume, hours to expiry; see [`Op::Attest`]).
    async fn new(
        chain: &mut TestChain,
        pool_id: u64,
        volumes: &[u64],
        attestations: &[Option<(u64, Option<i64>)>],
    ) -> Self {
        let pool = PoolFixture::create_with(chain, pool_args(pool_id, true)).await;
        pool.create_shards(chain, SHARDS, 200).await;
        let first = SasFixture::install(chain, "payments-verifier", 1);
        let second = first.new_version(chain, 2);
        let schemas = vec![first, second];
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
        let mut world = Self {
            pool,
            users,
            schemas,
            allocated: BTreeSet::new(),
            last_evidence: BTreeMap::new(),
            settled: BTreeSet::new(),
            landed: BTreeMap::new(),
        };
        for (user, volume) in volumes.iter().enumerate() {
            world
                .apply(
                    chain,
                    &Op::Issue {
                        user,
                        volume: *volume,
                    },
                )
                .await;
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
        world
    }

    async fn apply(&mut self, chain: &mut TestChain, op: &Op) {
        // Request operations pick one of the requests opened so far (by index modulo their count).
        let opened = self.pool.state(chain).await.exchange_state.next_request_id;
        if opened == 0
            && matches!(
                op,
                Op::Settle { .. } | Op::Reject { .. } | Op::Cancel { .. }
            )
        {
            return;
        }
        let op = &match *op {
            Op::Settle { request } => Op::Settle {
                request: request % opened.max(1),
            },
            Op::Reject { request } => Op::Reject {
                request: request % opened.max(1),
            },
            Op::Cancel { request } => Op::Cancel {
                request: request % opened.max(1),
            },
            ref other => other.clone(),
        };
        let pool = &self.pool;
        let key = |user: usize| self.users[user].pubkey();
        let operator = &pool.operator;
        let outcome = match op {
            Op::Issue { user, volume } => {
                let args = pool.credential_args(chain, *volume).await;
                chain
                    .send(
                        &[instructions::credential_issue(
                            &pool.verifier.pubkey(),
                            &pool.pool,
                            &key(*user),
                            args,
                        )],
                        &[&pool.verifier],
                    )
                    .await
            }
            Op::Revoke { user } => {
                chain
                    .send(
                        &[instructions::credential_revoke(
                            &pool.verifier.pubkey(),
                            &pool.pool,
                            &key(*user),
                        )],
                        &[&pool.verifier],
                    )
                    .await
            }
            Op::CloseCredential { user } => {
                let verifier = pool.verifier.pubkey();
                let address = pdas::credential(&pool.pool, &key(*user));
                let rent = chain.account(address).await.map_or(0, |a| a.lamports);
                let before = chain.account(verifier).await.map_or(0, |a| a.lamports);
                let ix =
                    instructions::credential_close(&verifier, &pool.pool, &key(*user), &verifier);
                let outcome = chain.send(&[ix], &[&pool.verifier]).await;
                if outcome.is_ok() {
                    // Rent that comes back: all of it, to the verifier that paid it (the chain's
                    // payer pays the fee).
                    let after = chain.account(verifier).await.map_or(0, |a| a.lamports);
                    assert_eq!(
                        after - before,
                        rent,
                        "{op:?}: the rent goes back to its payer"
                    );
                    assert!(chain.account(address).await.is_none(), "{op:?}: closed");
                }
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
                let evidence = attestation_evidence(&pool.state(chain).await);
                allocate(chain, pool, &key(*user), None, evidence, op).await
            }
            Op::AllocateShardedOnAttestation { user, shard } => {
                let evidence = attestation_evidence(&pool.state(chain).await);
                allocate(chain, pool, &key(*user), Some(*shard), evidence, op).await
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
                let evidence = attestation_evidence(&pool.state(chain).await);
                clawback(chain, pool, &key(*user), evidence, op).await
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
            Op::Exchange { user, amount } => {
                let state = pool.state(chain).await;
                let user = &self.users[*user];
                let predicted =
                    predict_exchange(chain, pool, &state, &user.pubkey(), *amount).await;
                let outcome = chain
                    .send(
                        &[instructions::exchange_request(
                            &user.pubkey(),
                            &user.pubkey(),
                            &pool.pool,
                            state.exchange_state.next_request_id,
                            *amount,
                        )],
                        &[user],
                    )
                    .await;
                assert_agrees(&predicted, &outcome, op, |event| match event {
                    AllotEvent::ExchangeRequested(e) => Some(e.quoted),
                    _ => None,
                });
                outcome
            }
            Op::ConfigureExchange { rules } => {
                let mut config = exchange_config(operator.pubkey());
                config.open = rules.open;
                config.min_holding = rules.min_holding;
                config.min_holding_seconds = rules.min_holding_seconds;
                config.per_user_period_cap = rules.per_user_period_cap;
                config.per_period_cap = rules.per_period_cap;
                config.fixed_rate = rules.rate_hundredths * (RATE_SCALE / 100);
                chain
                    .send(
                        &[instructions::pool_set_exchange(
                            &operator.pubkey(),
                            &pool.pool,
                            config,
                        )],
                        &[operator],
                    )
                    .await
            }
            Op::Settle { request } => {
                let quoted = self.request(chain, *request).await.map_or(0, |r| r.quoted);
                let args = ExchangeSettleArgs {
                    payout_reference: [9; 32],
                    paid_amount: quoted,
                };
                chain
                    .send(
                        &[instructions::exchange_settle(
                            &operator.pubkey(),
                            &pool.pool,
                            *request,
                            args,
                            None,
                        )],
                        &[operator],
                    )
                    .await
            }
            Op::Reject { request } => {
                let user = self
                    .request(chain, *request)
                    .await
                    .map_or(Pubkey::default(), |r| r.user);
                chain
                    .send(
                        &[instructions::exchange_reject(
                            &operator.pubkey(),
                            &pool.pool,
                            *request,
                            &user,
                            7,
                        )],
                        &[operator],
                    )
                    .await
            }
            Op::Cancel { request } => {
                let Some(found) = self.request(chain, *request).await else {
                    return;
                };
                let Some(user) = self.users.iter().find(|u| u.pubkey() == found.user) else {
                    return;
                };
                chain
                    .send(
                        &[instructions::exchange_cancel(
                            &user.pubkey(),
                            &pool.pool,
                            *request,
                        )],
                        &[user],
                    )
                    .await
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
                let sas = self.accepted_schema(chain).await;
                let now = chain.clock().await.unix_timestamp;
                let expiry = expires_in_hours.map_or(0, |hours| now + hours * 3_600);
                sas.attest(chain, &key(*user), *volume, expiry);
                Ok(Vec::new())
            }
            Op::CloseAttestation { user } => {
                let sas = self.accepted_schema(chain).await;
                if chain.account(sas.attestation(&key(*user))).await.is_none() {
                    // SAS has nothing to close.
                    return;
                }
                sas.close(chain, &key(*user));
                Ok(Vec::new())
            }
            Op::AcceptSchema { version } => {
                let before = pool.state(chain).await.attestation;
                let schema = self.schemas[usize::from(*version) - 1].schema;
                let ix = instructions::pool_set_attestation(
                    &operator.pubkey(),
                    &pool.pool,
                    Some((schema, VOLUME_FIELD)),
                );
                let outcome = chain.send(&[ix], &[operator]).await;
                assert!(outcome.is_ok(), "{op:?}: the operator names a SAS schema");
                // The same schema again keeps when it was first accepted (its holders stay
                // claw-backable); another is accepted from now on.
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
                outcome
            }
        };
        let kind = format!("{op:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or_default()
            .to_string();
        let landed = outcome.is_ok();
        let counts = self.landed.entry(kind).or_default();
        counts.0 += u32::from(landed);
        counts.1 += 1;
        for event in outcome.unwrap_or_default() {
            match event {
                AllotEvent::Allocated(e) => {
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

    /// The SAS schema (of [`Self::schemas`]) the pool accepts now.
    async fn accepted_schema(&self, chain: &mut TestChain) -> &SasFixture {
        let accepted = self.pool.state(chain).await.attestation;
        self.schemas
            .iter()
            .find(|sas| accepted.is_some_and(|a| a.schema == sas.schema))
            .expect("the pool accepts one of the issuer's schemas")
    }

    async fn request(&self, chain: &mut TestChain, id: u64) -> Option<ExchangeRequest> {
        let address = pdas::exchange_request(&self.pool.pool, id);
        chain.account(address).await?;
        Some(chain.fetch(address).await)
    }

    async fn check(&self, chain: &mut TestChain) {
        let holders: Vec<Pubkey> = self.users.iter().map(Signer::pubkey).collect();
        self.pool.assert_conserved(chain, &holders).await;
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
        assert_eq!(
            self.pool.state(chain).await.totals.staged,
            staged_by_shards,
            "staged = what the shards were given, less returned and swept allocations"
        );
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
        for id in &self.settled {
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
    let ix = instructions::clawback(&pool.pool, user, evidence);
    let outcome = chain.send(&[ix], &[]).await;
    assert_agrees(&predicted, &outcome, op, |event| match event {
        AllotEvent::ClawedBack(e) => Some(e.amount),
        _ => None,
    });
    outcome
}

/// The SAS evidence the pool accepts now, as the instructions take it.
fn attestation_evidence(state: &Pool) -> Evidence {
    let accepted = state
        .attestation
        .expect("the sequences' pools accept attestations");
    Evidence::from(&accepted)
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
        .expect("the sequences' pools accept attestations");
    allot_client::attestation::read(&chain.embedded(), &accepted, user)
        .await
        .expect("the issuer's attestations read under the pool's settings")
}

/// What the page would answer for allocating to `user` on `evidence` (its credential, or its
/// attestation) from `source` now: the units, or the error code the program will refuse with.
async fn predict_allocation(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    evidence: &Evidence,
    source: AllocationSource,
) -> Result<u64, u32> {
    let state = pool.state(chain).await;
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
            let Some(read) = read_attestation(chain, &state, user).await else {
                return Err(missing_attestation(&state));
            };
            attestation = read;
            HeldEvidence::Attestation(&attestation)
        }
        Evidence::UserList { .. } => unreachable!("the sequences draw no user lists"),
    };
    let record_address = pdas::allocation_record(&pool.pool, user);
    let record: Option<AllocationRecord> = match chain.account(record_address).await {
        Some(_) => Some(chain.fetch(record_address).await),
        None => None,
    };
    let now = chain.clock().await.unix_timestamp;
    check_can_allocate_on(&state, held, record.as_ref(), source, now).map_err(refusal_code)
}

/// The refusal of an allocation on an attestation address that holds none (never written, or
/// closed by its issuer), which no state function decides: `AttestationMissing`, after the
/// pool's own checks (`allocate`'s "Checks:": not retired, nor paused).
fn missing_attestation(state: &Pool) -> u32 {
    let error = if state.is_retired() {
        AllotError::PoolRetired
    } else if state.paused {
        AllotError::PoolPaused
    } else {
        AllotError::AttestationMissing
    };
    u32::from(error)
}

/// What the crank would decide for a clawback from `user` on `evidence` (its credential, or its
/// attestation) now: the units it takes, or the error code the program will refuse with.
async fn predict_clawback(
    chain: &mut TestChain,
    pool: &PoolFixture,
    user: &Pubkey,
    evidence: &Evidence,
) -> Result<u64, u32> {
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
        Evidence::Attestation { .. } => {
            let accepted = state
                .attestation
                .expect("the sequences' pools accept attestations");
            let view = read_attestation(chain, &state, user).await;
            attestation_clawback_reason(&accepted, view.as_ref(), &record, &state.rule, now)
        }
        Evidence::UserList { .. } => unreachable!("the sequences draw no user lists"),
    };
    reason
        .and_then(|_| clawback_amount(&record, held))
        .map_err(refusal_code)
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
    // A fixed seed keeps CI reproducible; ALLOT_PROPERTY_SEED explores other sequences. The
    // default is a seed whose 32 sequences land every kind of operation (checked below): since
    // the exchange reconfiguration joined the operations, 2026's sequences never land a clawback
    // (seed 1's landed one of 36); since credential closing joined them (2026-12-05), seed 1's
    // never land a settlement and seeds 3 and 4's no clawback, so the default was 2; since
    // retirement and record closing joined them (2026-12-05), seeds 1–5 and 7–12 miss a
    // clawback or a record close (a clawback lands in about 1 of 35 attempts), so it was 6;
    // since SAS attestations joined them (issue #18; sequences of up to 39 steps), seeds 1, 3–8,
    // 10–14 and 17–20 miss a kind, mostly a clawback on an attestation (it lands in about 1 of
    // 55 attempts), so it is 2 (9, 15 and 16 land every kind too).
    let seed = std::env::var("ALLOT_PROPERTY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let sequence = (
        prop::collection::vec(0u64..3_000, USERS),
        prop::collection::vec(prop::option::weighted(0.8, attestation()), USERS),
        // Up to 39 steps: with the SAS operations beside the others, shorter sequences seldom
        // reach a clawback on an attestation (allocated on it, then its lapse, then the clawback).
        prop::collection::vec(op(), 1..40),
    );
    let result = runner.run(&sequence, |(volumes, attestations, ops)| {
        let mut chain = chain.borrow_mut();
        let mut pool_id = next_pool.borrow_mut();
        *pool_id += 1;
        runtime.block_on(async {
            let mut world = World::new(&mut chain, *pool_id, &volumes, &attestations).await;
            for op in &ops {
                world.apply(&mut chain, op).await;
                world.check(&mut chain).await;
            }
            for (kind, (landed, attempted)) in world.landed {
                let mut total = totals.borrow_mut();
                let entry = total.entry(kind).or_default();
                entry.0 += landed;
                entry.1 += attempted;
            }
        });
        Ok::<(), TestCaseError>(())
    });
    result.expect("every sequence keeps the invariants");
    let totals = totals.into_inner();
    eprintln!("{cases} sequences; operations landed/attempted: {totals:?}");
    for kind in [
        "Issue",
        "CloseCredential",
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
        "Retire",
        "CloseRecord",
        "Attest",
        "CloseAttestation",
        "AllocateOnAttestation",
        "AllocateShardedOnAttestation",
        "ClawbackOnAttestation",
        "AcceptSchema",
    ] {
        assert!(
            totals.get(kind).is_some_and(|(landed, _)| *landed > 0),
            "the sequences exercise {kind}: {totals:?}"
        );
    }
}
