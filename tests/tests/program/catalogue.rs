//! The attack catalogue: every instruction of the program, in a valid form, attacked mechanically
//! with the sealevel-attacks classes that apply to it:
//!
//! - **missing signer**: each signature the instruction needs is dropped;
//! - **impostor**: each authority is replaced by another key that does sign;
//! - **PDA substitution**: each account is replaced by its counterpart in another pool (the same
//!   instruction built for pool B: its pool, mint, vault, escrow, verifier, credential, record,
//!   request, token account…);
//! - **fake program**: each program account is replaced by another real program;
//! - **owner**: each account owned by allot or Token-2022 is replaced by a copy of it, at a fresh
//!   address, owned by an unrelated program (what an attacker's own program can create);
//! - **cosplay**: each allot account is replaced by an existing allot account of another type;
//! - **non-canonical bump**: each allot PDA is replaced by the address its seeds give with
//!   another bump;
//! - **wallet substitution**: each plain wallet or not-yet-created account (a user, a rent payer,
//!   an account the instruction creates) is replaced by the attacker's wallet;
//! - **duplicate mutable**: each writable account is passed again in another writable slot.
//!
//! Every attempt must be refused and leave every account of the transaction unchanged. Two
//! refusals in the table are the runtime's rather than a named check: `UninitializedAccount`
//! (a mint passed as a token account fails Token-2022's unpacking) and `ProgramFailedToComplete`
//! (a cross-program call naming an account the transaction lacks: the real runtime refuses the
//! call with `MissingAccount`; natively, program-test's invoke stub panics, which the runtime
//! reports as this). The
//! error each one gets is listed in `catalogue.expected` (one line per attempt), which a reviewer
//! reads as the table of which check stops which attack; a change in any refusal fails the test
//! (`ALLOT_BLESS=1` rewrites the table after a deliberate change — review its diff). After its
//! attacks, each instruction's valid form is sent and must land, so every refusal is due to the
//! attack and not to a broken baseline.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use allot::constants::*;
use allot::instructions::{ExchangeSettleArgs, ProfitReportArgs, UserListPublishArgs};
use allot::state::{ExchangeRequest, SAS_ATTESTATION_DISCRIMINATOR};
use allot_client::errors::{ProgramFailure, anchor_error_name, decode};
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::sas::{SasFixture, VOLUME_FIELD};
use allot_tests::{PoolFixture, TestChain, TxFailure, exchange_config, pool_args, rule};
use anchor_lang::prelude::Pubkey;
use solana_sdk::account::Account;
use solana_sdk::instruction::{Instruction, InstructionError};
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::TransactionError;

/// A transferable test pool created `pausable`.
fn pausable_pool_args(pool_id: u64) -> allot::instructions::PoolCreateArgs {
    allot::instructions::PoolCreateArgs {
        pausable: true,
        ..pool_args(pool_id, true)
    }
}

/// Units each request of the scene escrows.
const REQUEST_AMOUNT: u64 = 5;

/// Keys shared by both pools' instructions.
struct Keys {
    /// Holds units in both pools and has requests 0–3 open in each.
    holder: Keypair,
    /// Has a credential in both pools and no allocation yet.
    newcomer: Keypair,
    /// Was allocated in both pools, then had the credential revoked.
    lapsed: Keypair,
    /// Has a credential in both pools (the revoke case revokes it).
    revokee: Keypair,
    /// Has nothing yet (the issue case issues to it).
    candidate: Keypair,
    /// Has a credential in both pools and no allocation yet (the sharded case allocates to it).
    shard_user: Keypair,
    /// Pays allocations it does not receive (a crank).
    sponsor: Keypair,
    /// A second verifier of both pools (the deactivate case deactivates it).
    spare_verifier: Keypair,
    /// The key the add-verifier case adds.
    new_verifier: Keypair,
    /// The key operator transfers go to.
    new_operator: Keypair,
    /// Signs as an impostor.
    attacker: Keypair,
    /// Has a SAS attestation in both pools and no allocation yet (the attestation allocate
    /// case allocates to it).
    attestee: Keypair,
    /// Was allocated on a SAS attestation in both pools, which its issuer then closed.
    attested: Keypair,
    /// Has a SAS attestation in both pools and no allocation yet (the sharded attestation case
    /// allocates to it).
    shard_attestee: Keypair,
    /// A SAS schema of a third issuer, the one both pools' `pool_set_attestation` cases name:
    /// an operator may name any schema, so another pool's is no attack.
    any_schema: Pubkey,
}

/// One side of the scene: a pool with everything the catalogue's instructions touch.
struct Side {
    /// The pool's id under its operator.
    pool_id: u64,
    fixture: PoolFixture,
    /// The pool's settlement authority.
    bridge: Keypair,
    /// Creates this side's new pool in the create case.
    creator: Keypair,
    /// The SAS issuer and schema the pool accepts (another issuer in each pool).
    sas: SasFixture,
    /// Paid the rent of this side's requests (the holder in pool A, the sponsor in pool B, so a
    /// request of one pool cannot be closed in the other's instruction as a valid close).
    request_payer: Keypair,
}

/// One instruction in a valid form.
struct Case {
    name: &'static str,
    /// Which form of the instruction, when it has several ("" or " (attestation)"), as the
    /// table names it.
    form: &'static str,
    ix: Instruction,
    signers: Vec<Keypair>,
    /// Signers anyone may replace (fee and rent payers of permissionless instructions).
    payers: Vec<Pubkey>,
}

fn case(name: &'static str, ix: Instruction, signers: &[&Keypair], payers: &[&Keypair]) -> Case {
    Case {
        name,
        form: "",
        ix,
        signers: signers.iter().map(|k| k.insecure_clone()).collect(),
        payers: payers.iter().map(|k| k.pubkey()).collect(),
    }
}

impl Case {
    /// This case as the instruction's `form` (a second valid form of the same instruction).
    fn in_form(self, form: &'static str) -> Self {
        Self { form, ..self }
    }
}

/// Two pools in the same state, the keys that act in them, and a name and (for PDAs) seeds for
/// every address the catalogue reports on.
struct Scene {
    chain: TestChain,
    a: Side,
    b: Side,
    keys: Keys,
    names: HashMap<Pubkey, String>,
    seeds: HashMap<Pubkey, Vec<Vec<u8>>>,
}

impl Scene {
    async fn build() -> Self {
        let mut chain = TestChain::start().await;
        let keys = Keys {
            holder: chain.funded_keypair(1_000_000_000).await,
            newcomer: Keypair::new(),
            lapsed: Keypair::new(),
            revokee: Keypair::new(),
            candidate: Keypair::new(),
            shard_user: Keypair::new(),
            sponsor: chain.funded_keypair(1_000_000_000).await,
            spare_verifier: Keypair::new(),
            new_verifier: Keypair::new(),
            new_operator: chain.funded_keypair(1_000_000_000).await,
            attacker: chain.funded_keypair(1_000_000_000).await,
            attestee: Keypair::new(),
            attested: Keypair::new(),
            shard_attestee: Keypair::new(),
            any_schema: SasFixture::install(&mut chain, "any issuer", 1).schema,
        };
        let mut sides = Vec::new();
        for pool_id in [1, 2] {
            let creator = chain.funded_keypair(10_000_000_000).await;
            // Pausable pools: the pausing case has a valid form, and the escrow and shard vaults
            // are created for a mint that requires an account extension.
            let fixture = PoolFixture::create_with(&mut chain, pausable_pool_args(pool_id)).await;
            let bridge = chain.funded_keypair(1_000_000_000).await;
            let request_payer = if pool_id == 1 {
                keys.holder.insecure_clone()
            } else {
                keys.sponsor.insecure_clone()
            };
            let sas = SasFixture::install(&mut chain, &format!("issuer {pool_id}"), 1);
            let side = Side {
                pool_id,
                fixture,
                bridge,
                creator,
                sas,
                request_payer,
            };
            side.prepare(&mut chain, &keys).await;
            sides.push(side);
        }
        // Requests 1 may be cancelled by the user once the timeout has passed.
        chain.advance_time(3_601).await;
        let b = sides.pop().unwrap();
        let a = sides.pop().unwrap();
        let mut scene = Self {
            chain,
            a,
            b,
            keys,
            names: HashMap::new(),
            seeds: HashMap::new(),
        };
        scene.name_everything().await;
        scene
    }

    /// Names every address of the scene; registers the seeds of every allot PDA.
    async fn name_everything(&mut self) {
        let k = &self.keys;
        let mut names: Vec<(Pubkey, String)> = vec![
            (k.holder.pubkey(), "holder".into()),
            (k.newcomer.pubkey(), "newcomer".into()),
            (k.lapsed.pubkey(), "lapsed".into()),
            (k.revokee.pubkey(), "revokee".into()),
            (k.candidate.pubkey(), "candidate".into()),
            (k.shard_user.pubkey(), "shard user".into()),
            (k.attestee.pubkey(), "attestee".into()),
            (k.attested.pubkey(), "attested".into()),
            (k.shard_attestee.pubkey(), "shard attestee".into()),
            (k.sponsor.pubkey(), "sponsor".into()),
            (k.spare_verifier.pubkey(), "spare verifier key".into()),
            (k.new_verifier.pubkey(), "new verifier key".into()),
            (k.new_operator.pubkey(), "new operator".into()),
            (k.attacker.pubkey(), "attacker".into()),
            (anchor_lang::system_program::ID, "system program".into()),
            (spl_token_2022_interface::ID, "token-2022 program".into()),
            (anchor_spl::token::ID, "spl-token program".into()),
            (anchor_spl::associated_token::ID, "ata program".into()),
            (allot::ID, "allot program".into()),
            (SAS_PROGRAM_ID, "sas program".into()),
            (k.any_schema, "any sas schema".into()),
            (pdas::event_authority(), "event authority".into()),
        ];
        let users = [
            ("holder", k.holder.pubkey()),
            ("newcomer", k.newcomer.pubkey()),
            ("lapsed", k.lapsed.pubkey()),
            ("revokee", k.revokee.pubkey()),
            ("candidate", k.candidate.pubkey()),
            ("shard user", k.shard_user.pubkey()),
            ("attestee", k.attestee.pubkey()),
            ("attested", k.attested.pubkey()),
            ("shard attestee", k.shard_attestee.pubkey()),
        ];
        let verifiers = [
            ("verifier", None),
            ("spare verifier", Some(k.spare_verifier.pubkey())),
            ("new verifier", Some(k.new_verifier.pubkey())),
        ];
        let mut seeds = Vec::new();
        for (tag, side) in [("A", &self.a), ("B", &self.b)] {
            let f = &side.fixture;
            let pool = f.pool;
            let period = f.period(&mut self.chain).await;
            let operator = f.operator.pubkey();
            let creator = side.creator.pubkey();
            let new_pool = pdas::pool(&creator, NEW_POOL_ID);
            names.push((operator, format!("operator {tag}")));
            names.push((side.bridge.pubkey(), format!("bridge {tag}")));
            names.push((creator, format!("creator {tag}")));
            names.push((f.verifier.pubkey(), format!("verifier key {tag}")));
            names.push((f.vault, format!("vault {tag}")));
            names.push((side.sas.issuer, format!("sas issuer {tag}")));
            names.push((side.sas.schema, format!("sas schema {tag}")));
            for (label, user) in [
                ("attestee", &k.attestee),
                ("attested", &k.attested),
                ("shard attestee", &k.shard_attestee),
            ] {
                let attestation = side.sas.attestation(&user.pubkey());
                names.push((attestation, format!("{label} attestation {tag}")));
            }
            names.push((pdas::vault(&new_pool), format!("new pool vault {tag}")));
            seeds.push((
                format!("pool {tag}"),
                vec![
                    SEED_POOL.to_vec(),
                    operator.to_bytes().to_vec(),
                    id_bytes(side.pool_id),
                ],
            ));
            seeds.push((
                format!("new pool {tag}"),
                vec![
                    SEED_POOL.to_vec(),
                    creator.to_bytes().to_vec(),
                    id_bytes(NEW_POOL_ID),
                ],
            ));
            for (label, of) in [("", pool), ("new pool ", new_pool)] {
                seeds.push((
                    format!("{label}mint {tag}"),
                    vec![SEED_MINT.to_vec(), of.to_bytes().to_vec()],
                ));
                seeds.push((
                    format!("{label}escrow {tag}"),
                    vec![SEED_ESCROW.to_vec(), of.to_bytes().to_vec()],
                ));
            }
            for (label, key) in verifiers {
                let key = key.unwrap_or(f.verifier.pubkey());
                seeds.push((
                    format!("{label} {tag}"),
                    vec![
                        SEED_VERIFIER.to_vec(),
                        pool.to_bytes().to_vec(),
                        key.to_bytes().to_vec(),
                    ],
                ));
            }
            for (label, user) in users {
                names.push((f.user_token(&user), format!("{label} token {tag}")));
                for (kind, seed) in [("credential", SEED_CREDENTIAL), ("record", SEED_ALLOCATION)] {
                    seeds.push((
                        format!("{label} {kind} {tag}"),
                        vec![
                            seed.to_vec(),
                            pool.to_bytes().to_vec(),
                            user.to_bytes().to_vec(),
                        ],
                    ));
                }
            }
            for index in 0..2u16 {
                names.push((
                    pdas::shard_vault(&pool, index),
                    format!("shard {index} vault {tag}"),
                ));
                seeds.push((
                    format!("shard {index} {tag}"),
                    vec![
                        SEED_SHARD.to_vec(),
                        pool.to_bytes().to_vec(),
                        index.to_le_bytes().to_vec(),
                    ],
                ));
            }
            for id in 0..5u64 {
                seeds.push((
                    format!("request {id} {tag}"),
                    vec![
                        SEED_EXCHANGE_REQUEST.to_vec(),
                        pool.to_bytes().to_vec(),
                        id_bytes(id),
                    ],
                ));
            }
            for (kind, seed) in [
                ("user list", SEED_USER_LIST),
                ("profit report", SEED_PROFIT_REPORT),
            ] {
                seeds.push((
                    format!("{kind} {tag}"),
                    vec![seed.to_vec(), pool.to_bytes().to_vec(), id_bytes(period)],
                ));
            }
        }
        for (name, seeds_of) in seeds {
            let refs: Vec<&[u8]> = seeds_of.iter().map(Vec::as_slice).collect();
            let (address, _) = Pubkey::find_program_address(&refs, &allot::ID);
            names.push((address, name));
            self.seeds.insert(address, seeds_of);
        }
        for (address, name) in names {
            let previous = self.names.insert(address, name.clone());
            assert!(previous.is_none(), "{name} named twice");
        }
    }

    fn name(&self, address: &Pubkey) -> String {
        self.names
            .get(address)
            .cloned()
            .unwrap_or_else(|| address.to_string())
    }
}

/// The id of the pool the create case creates.
const NEW_POOL_ID: u64 = 7;

fn id_bytes(id: u64) -> Vec<u8> {
    id.to_le_bytes().to_vec()
}

impl Side {
    /// Exchange open, SAS attestations accepted, credentials, allocations (one on an attestation
    /// its issuer then closed), a revoked credential, a spare verifier, shard 0
    /// with 1,000 units, and requests 0–3 of the holder (request 3 rejected, so final).
    async fn prepare(&self, chain: &mut TestChain, keys: &Keys) {
        let f = &self.fixture;
        let operator = f.operator.insecure_clone();
        let bridge = self.bridge.pubkey();
        let setup = [
            instructions::pool_set_exchange(&operator.pubkey(), &f.pool, exchange_config(bridge)),
            instructions::verifier_add(&operator.pubkey(), &f.pool, &keys.spare_verifier.pubkey()),
            instructions::pool_set_attestation(
                &operator.pubkey(),
                &f.pool,
                Some((self.sas.schema, VOLUME_FIELD)),
            ),
        ];
        chain
            .send(&setup, &[&operator])
            .await
            .expect("exchange and spare verifier");
        // Allocations on attestations come a second after the pool accepted their schema.
        chain.advance_time(1).await;
        for user in [
            &keys.holder,
            &keys.newcomer,
            &keys.lapsed,
            &keys.revokee,
            &keys.shard_user,
        ] {
            f.issue_credential(chain, &user.pubkey(), 5_000).await;
        }
        f.create_shards(chain, 1, 1_000).await;
        for user in [&keys.holder, &keys.lapsed] {
            f.allocate_by_credential(chain, &user.pubkey())
                .await
                .expect("allocated");
        }
        f.revoke_credential(chain, &keys.lapsed.pubkey()).await;
        for user in [&keys.attestee, &keys.attested, &keys.shard_attestee] {
            self.sas.attest(chain, &user.pubkey(), 5_000, 0);
        }
        let payer = chain.payer().pubkey();
        let attested = keys.attested.pubkey();
        let ix = instructions::allocate(&payer, &f.pool, &attested, self.sas.evidence());
        chain
            .send(&[ix], &[])
            .await
            .expect("allocated on an attestation");
        self.sas.close(chain, &attested);
        let holder = keys.holder.pubkey();
        let payer = &self.request_payer;
        for id in 0..4 {
            let ix = instructions::exchange_request(
                &holder,
                &payer.pubkey(),
                &f.pool,
                id,
                REQUEST_AMOUNT,
            );
            let signers = [&keys.holder, payer];
            chain.send(&[ix], &signers).await.expect("request opened");
        }
        let third: ExchangeRequest = chain.fetch(pdas::exchange_request(&f.pool, 3)).await;
        let reject =
            instructions::exchange_reject(&bridge, &f.pool, 3, third.created_at, &holder, 1);
        chain
            .send(&[reject], &[&self.bridge])
            .await
            .expect("request 3 rejected");
    }

    /// Every instruction of the program, valid for this side, in an order where each landing
    /// leaves the later ones valid.
    async fn cases(&self, chain: &mut TestChain, keys: &Keys) -> Vec<Case> {
        let f = &self.fixture;
        let (pool, op) = (f.pool, &f.operator);
        let period = f.period(chain).await;
        let credential = f.credential_args(chain, 5_000).await;
        let holder = keys.holder.pubkey();
        let request: ExchangeRequest = chain.fetch(pdas::exchange_request(&pool, 0)).await;
        let settle = ExchangeSettleArgs {
            payout_reference: [9; 32],
            paid_amount: request.quoted,
            expected_created_at: request.created_at,
        };
        let second: ExchangeRequest = chain.fetch(pdas::exchange_request(&pool, 2)).await;
        let report = ProfitReportArgs {
            period,
            amount: 1_000_000,
            currency: *b"USD",
            evidence_hash: [4; 32],
        };
        let list = UserListPublishArgs {
            period,
            root: [3; 32],
            user_count: 1,
        };
        let creator = &self.creator;
        vec![
            case(
                "pool_create",
                instructions::pool_create(&creator.pubkey(), pausable_pool_args(NEW_POOL_ID)),
                &[creator],
                &[],
            ),
            case(
                "pool_update_rule",
                instructions::pool_update_rule(&op.pubkey(), &pool, rule()),
                &[op],
                &[],
            ),
            case(
                "pool_set_paused",
                instructions::pool_set_paused(&op.pubkey(), &pool, false),
                &[op],
                &[],
            ),
            case(
                "pool_set_transfers_paused",
                // Resumes a running pool: lands and leaves the later cases' units moving.
                instructions::pool_set_transfers_paused(&op.pubkey(), &pool, false),
                &[op],
                &[],
            ),
            case(
                "pool_set_metadata",
                instructions::pool_set_metadata(
                    &op.pubkey(),
                    &pool,
                    allot::instructions::TokenMetadataArgs {
                        name: "Catalogue shares".into(),
                        symbol: "CATS".into(),
                        uri: String::new(),
                    },
                ),
                &[op],
                &[],
            ),
            case(
                "pool_fund",
                instructions::pool_fund(&op.pubkey(), &pool, 100),
                &[op],
                &[],
            ),
            case(
                "verifier_add",
                instructions::verifier_add(&op.pubkey(), &pool, &keys.new_verifier.pubkey()),
                &[op],
                &[],
            ),
            case(
                "verifier_set_active",
                instructions::verifier_set_active(
                    &op.pubkey(),
                    &pool,
                    &keys.spare_verifier.pubkey(),
                    false,
                ),
                &[op],
                &[],
            ),
            case(
                "credential_issue",
                instructions::credential_issue(
                    &f.verifier.pubkey(),
                    &pool,
                    &keys.candidate.pubkey(),
                    credential,
                ),
                &[&f.verifier],
                &[],
            ),
            case(
                "credential_revoke",
                instructions::credential_revoke(
                    &f.verifier.pubkey(),
                    &pool,
                    &keys.revokee.pubkey(),
                ),
                &[&f.verifier],
                &[],
            ),
            case(
                "credential_close",
                // Closed by the verifier added in `verifier_add`, so that the rent payer (the
                // verifier that issued it) is not a signer and is attacked too.
                instructions::credential_close(
                    &keys.new_verifier.pubkey(),
                    &pool,
                    &keys.revokee.pubkey(),
                    &f.verifier.pubkey(),
                ),
                &[&keys.new_verifier],
                &[],
            ),
            case(
                "user_list_publish",
                instructions::user_list_publish(&op.pubkey(), &pool, list),
                &[op],
                &[],
            ),
            case(
                "allocate",
                instructions::allocate(
                    &keys.sponsor.pubkey(),
                    &pool,
                    &keys.newcomer.pubkey(),
                    Evidence::Credential,
                ),
                &[&keys.sponsor],
                &[&keys.sponsor],
            ),
            case(
                "allocate",
                instructions::allocate(
                    &keys.sponsor.pubkey(),
                    &pool,
                    &keys.attestee.pubkey(),
                    self.sas.evidence(),
                ),
                &[&keys.sponsor],
                &[&keys.sponsor],
            )
            .in_form(" (attestation)"),
            case(
                "allocate_sharded",
                instructions::allocate_sharded(
                    &keys.sponsor.pubkey(),
                    &pool,
                    &keys.shard_user.pubkey(),
                    0,
                    Evidence::Credential,
                ),
                &[&keys.sponsor],
                &[&keys.sponsor],
            ),
            case(
                "allocate_sharded",
                instructions::allocate_sharded(
                    &keys.sponsor.pubkey(),
                    &pool,
                    &keys.shard_attestee.pubkey(),
                    0,
                    self.sas.evidence(),
                ),
                &[&keys.sponsor],
                &[&keys.sponsor],
            )
            .in_form(" (attestation)"),
            case("shard_sweep", instructions::shard_sweep(&pool, 0), &[], &[]),
            case(
                "shard_create",
                instructions::shard_create(&op.pubkey(), &pool, 1),
                &[op],
                &[],
            ),
            case(
                "shard_fund",
                instructions::shard_fund(&op.pubkey(), &pool, 0, 100),
                &[op],
                &[],
            ),
            case(
                "shard_drain",
                instructions::shard_drain(&op.pubkey(), &pool, 0, 50),
                &[op],
                &[],
            ),
            case(
                "clawback",
                instructions::clawback(&pool, &keys.lapsed.pubkey(), Evidence::Credential),
                &[],
                &[],
            ),
            case(
                "clawback",
                instructions::clawback(&pool, &keys.attested.pubkey(), self.sas.evidence()),
                &[],
                &[],
            )
            .in_form(" (attestation)"),
            case(
                "pool_set_exchange",
                instructions::pool_set_exchange(
                    &op.pubkey(),
                    &pool,
                    exchange_config(self.bridge.pubkey()),
                ),
                &[op],
                &[],
            ),
            case(
                "profit_report_record",
                instructions::profit_report_record(&op.pubkey(), &pool, report),
                &[op],
                &[],
            ),
            case(
                "exchange_request",
                instructions::exchange_request(&holder, &holder, &pool, 4, REQUEST_AMOUNT),
                &[&keys.holder],
                &[],
            ),
            case(
                "exchange_lock",
                instructions::exchange_lock(&self.bridge.pubkey(), &pool, 0, request.created_at),
                &[&self.bridge],
                &[],
            ),
            case(
                "exchange_settle",
                instructions::exchange_settle(&self.bridge.pubkey(), &pool, 0, settle, None),
                &[&self.bridge],
                &[],
            ),
            case(
                "exchange_cancel",
                instructions::exchange_cancel(&holder, &pool, 1),
                &[&keys.holder],
                &[],
            ),
            case(
                "exchange_reject",
                instructions::exchange_reject(
                    &self.bridge.pubkey(),
                    &pool,
                    2,
                    second.created_at,
                    &holder,
                    7,
                ),
                &[&self.bridge],
                &[],
            ),
            case(
                "exchange_close",
                instructions::exchange_close(&pool, 3, &self.request_payer.pubkey()),
                &[],
                &[],
            ),
            case(
                "pool_set_attestation",
                instructions::pool_set_attestation(
                    &op.pubkey(),
                    &pool,
                    Some((keys.any_schema, VOLUME_FIELD)),
                ),
                &[op],
                &[],
            ),
            case(
                "pool_propose_operator",
                instructions::pool_propose_operator(
                    &op.pubkey(),
                    &pool,
                    &keys.new_operator.pubkey(),
                ),
                &[op],
                &[],
            ),
            case(
                "pool_accept_operator",
                instructions::pool_accept_operator(&keys.new_operator.pubkey(), &pool),
                &[&keys.new_operator],
                &[],
            ),
            // Last: a retired pool allocates and claws back no more.
            case(
                "pool_retire",
                instructions::pool_retire(&keys.new_operator.pubkey(), &pool),
                &[&keys.new_operator],
                &[],
            ),
            case(
                "allocation_record_close",
                // The newcomer's record, paid by the sponsor at `allocate`, which need not sign.
                instructions::allocation_record_close(
                    &pool,
                    &keys.newcomer.pubkey(),
                    &keys.sponsor.pubkey(),
                ),
                &[],
                &[],
            ),
        ]
    }
}

/// One attempt: the instruction as attacked, who signs it, and accounts planted for it.
struct Attempt {
    label: String,
    ix: Instruction,
    signers: Vec<Keypair>,
    /// Accounts written before the attempt (and restored after it).
    planted: Vec<(Pubkey, Account)>,
}

/// A program the instruction invokes, replaced by another real program. Not allot itself: its
/// slot (`program`, for `emit_cpi!`) only lends the account to the self-invocation, which targets
/// allot's id whatever is passed there (with an optional account absent, allot's id is in the
/// list anyway), so the event is genuine either way.
fn other_program(program: &Pubkey) -> Option<Pubkey> {
    if *program == spl_token_2022_interface::ID || *program == anchor_spl::associated_token::ID {
        Some(anchor_spl::token::ID)
    } else if *program == anchor_lang::system_program::ID {
        Some(spl_token_2022_interface::ID)
    } else {
        None
    }
}

/// A valid address for `seeds` with a bump other than the canonical one.
fn non_canonical(seeds: &[Vec<u8>]) -> Pubkey {
    let refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let (_, canonical) = Pubkey::find_program_address(&refs, &allot::ID);
    (0..canonical)
        .rev()
        .find_map(|bump| {
            let mut with_bump = refs.clone();
            let bump = [bump];
            with_bump.push(&bump);
            Pubkey::create_program_address(&with_bump, &allot::ID).ok()
        })
        .expect("another bump gives an address")
}

/// Every attack of the catalogue on `case` (built for pool A), with `counterpart` the same
/// instruction built for pool B.
async fn attempts(scene: &mut Scene, case: &Case, counterpart: &Case) -> Vec<Attempt> {
    let ix = &case.ix;
    let mut out = Vec::new();
    let keep = |without: &Pubkey| -> Vec<Keypair> {
        case.signers
            .iter()
            .filter(|k| k.pubkey() != *without)
            .map(|k| k.insecure_clone())
            .collect()
    };
    let replace_all = |from: &Pubkey, to: Pubkey| {
        let mut out = ix.clone();
        for meta in out.accounts.iter_mut().filter(|m| m.pubkey == *from) {
            meta.pubkey = to;
        }
        out
    };
    // The instruction with account `i` swapped for `to`, signed as the valid form is.
    let swapped = |i: usize, to: Pubkey, label: String| {
        let mut swapped = ix.clone();
        swapped.accounts[i].pubkey = to;
        Attempt {
            label,
            ix: swapped,
            signers: keep(&Pubkey::default()),
            planted: vec![],
        }
    };
    for signer in &case.signers {
        let key = signer.pubkey();
        let mut unsigned = ix.clone();
        for meta in unsigned.accounts.iter_mut().filter(|m| m.pubkey == key) {
            meta.is_signer = false;
        }
        out.push(Attempt {
            label: format!("missing signer {}", scene.name(&key)),
            ix: unsigned,
            signers: keep(&key),
            planted: vec![],
        });
        if !case.payers.contains(&key) {
            let mut signers = keep(&key);
            signers.push(scene.keys.attacker.insecure_clone());
            out.push(Attempt {
                label: format!("impostor for {}", scene.name(&key)),
                ix: replace_all(&key, scene.keys.attacker.pubkey()),
                signers,
                planted: vec![],
            });
        }
    }
    let signer_keys: BTreeSet<Pubkey> = case.signers.iter().map(|k| k.pubkey()).collect();
    let mut seen = BTreeSet::new();
    for (i, meta) in ix.accounts.iter().enumerate() {
        let key = meta.pubkey;
        let name = scene.name(&key);
        let other = counterpart.ix.accounts[i].pubkey;
        if other != key && !signer_keys.contains(&key) {
            out.push(swapped(
                i,
                other,
                format!("#{i} {name} -> {}", scene.name(&other)),
            ));
        }
        let is_wallet = scene
            .chain
            .account(key)
            .await
            .is_none_or(|a| a.owner == anchor_lang::system_program::ID && a.data.is_empty());
        if is_wallet && !signer_keys.contains(&key) && key != scene.keys.attacker.pubkey() {
            // A user, a rent payer: the attacker's own wallet instead.
            out.push(swapped(
                i,
                scene.keys.attacker.pubkey(),
                format!("#{i} {name} -> attacker"),
            ));
        }
        if key == allot::ID {
            continue;
        }
        if let Some(program) = other_program(&key) {
            out.push(swapped(
                i,
                program,
                format!("#{i} {name} -> {}", scene.name(&program)),
            ));
            continue;
        }
        if !seen.insert(key) {
            continue;
        }
        let Some(account) = scene.chain.account(key).await else {
            continue;
        };
        if account.owner == SAS_PROGRAM_ID {
            // SAS's accounts are read, not owned, by allot: the same bytes at the same address
            // under another owner (what only a forged chain could hold) must not pass either.
            let mut copy = account.clone();
            copy.owner = Pubkey::new_from_array([9; 32]);
            let mut attempt = swapped(
                i,
                key,
                format!("#{i} {name} -> its bytes owned by an unrelated program"),
            );
            attempt.planted.push((key, copy));
            out.push(attempt);
            if account.data.first() == Some(&SAS_ATTESTATION_DISCRIMINATOR) {
                for (what, copy) in attestation_of_another_schema(&account) {
                    let mut attempt =
                        swapped(i, key, format!("#{i} {name} -> its bytes naming {what}"));
                    attempt.planted.push((key, copy));
                    out.push(attempt);
                }
            }
        }
        if account.owner == allot::ID
            || account.owner == spl_token_2022_interface::ID
            || account.owner == SAS_PROGRAM_ID
        {
            // The attacker's own program can create an account at a fresh address with any
            // layout: a copy of this one.
            let forged = Pubkey::new_unique();
            let mut copy = account.clone();
            copy.owner = Pubkey::new_from_array([9; 32]);
            let mut attempt = swapped(
                i,
                forged,
                format!("#{i} {name} -> copy owned by an unrelated program"),
            );
            attempt.planted.push((forged, copy));
            out.push(attempt);
        }
        if account.owner == allot::ID {
            let (kind, other) = another_type(scene, &account).await;
            out.push(swapped(
                i,
                other,
                format!("#{i} {name} -> {} (a {kind})", scene.name(&other)),
            ));
        }
    }
    // Non-canonical bumps: the address the same seeds give with another bump (never created by
    // the program; the attacker can only send it lamports), in place of every PDA, existing or
    // about to be created.
    for (i, meta) in ix.accounts.iter().enumerate() {
        if let Some(seeds) = scene.seeds.get(&meta.pubkey) {
            let twin = non_canonical(seeds);
            out.push(swapped(
                i,
                twin,
                format!("#{i} {} at a non-canonical bump", scene.name(&meta.pubkey)),
            ));
        }
    }
    let writable: Vec<(usize, Pubkey)> = ix
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_writable && !signer_keys.contains(&m.pubkey))
        .map(|(i, m)| (i, m.pubkey))
        .collect();
    for (i, first) in &writable {
        for (j, second) in &writable {
            if j > i && first != second {
                out.push(swapped(
                    *j,
                    *first,
                    format!(
                        "#{j} {} -> duplicate of #{i} {}",
                        scene.name(second),
                        scene.name(first)
                    ),
                ));
            }
        }
    }
    out
}

/// The attestation `account`'s bytes as a forged chain could rewrite them at the same address,
/// each naming another schema (and what it names): the same issuer's schema "payments" at
/// version 2 (a version the pool does not accept), and an unrelated schema. Attestation bytes:
/// the discriminator, the nonce (1..33), the issuer (33..65), the schema (65..97).
fn attestation_of_another_schema(account: &Account) -> Vec<(&'static str, Account)> {
    let issuer = Pubkey::try_from(&account.data[33..65]).expect("an attestation's issuer");
    let version_2 = pdas::sas_schema(&issuer, "payments", 2);
    [
        (version_2, "the schema's version 2"),
        (Pubkey::new_from_array([7; 32]), "another schema"),
    ]
    .into_iter()
    .map(|(schema, what)| {
        let mut copy = account.clone();
        copy.data[65..97].copy_from_slice(schema.as_ref());
        (what, copy)
    })
    .collect()
}

/// An existing allot account of another type than `account` (type cosplay): pool A itself, or
/// (in place of a pool) pool A's verifier; named by its type.
async fn another_type(scene: &mut Scene, account: &Account) -> (&'static str, Pubkey) {
    let pool = scene.a.fixture.pool;
    let pool_data = scene.chain.account(pool).await.expect("pool A").data;
    if account.data[..8] != pool_data[..8] {
        ("pool", pool)
    } else {
        let verifier = pdas::verifier(&pool, &scene.a.fixture.verifier.pubkey());
        ("verifier", verifier)
    }
}

/// The refusal's name: allot's or Anchor's error, or the runtime's.
fn refusal(failure: &TxFailure) -> String {
    match &failure.error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => {
            match decode(*code) {
                ProgramFailure::Allot { name, .. } => name,
                ProgramFailure::Anchor { code, .. } => {
                    anchor_error_name(code).unwrap_or_else(|| format!("anchor {code}"))
                }
                ProgramFailure::Token { code, .. } => format!("token {code}"),
            }
        }
        TransactionError::InstructionError(_, error) => format!("{error:?}"),
        error => format!("{error:?}"),
    }
}

/// Sends `attempt`; returns the refusal's name, or panics if it landed or changed anything.
async fn refused(scene: &mut Scene, case: &str, attempt: Attempt) -> String {
    let mut restore = Vec::new();
    for (address, account) in &attempt.planted {
        let original = scene.chain.account(*address).await;
        restore.push((*address, original));
        scene.chain.set_account(*address, account.clone());
    }
    let watched: Vec<Pubkey> = attempt.ix.accounts.iter().map(|m| m.pubkey).collect();
    let before = scene.chain.snapshot(&watched).await;
    let signers: Vec<&Keypair> = attempt.signers.iter().collect();
    // Named before sending: a program-test stub that panics names no attempt.
    eprintln!("{case}: {}", attempt.label);
    let outcome = scene.chain.send(&[attempt.ix], &signers).await;
    let after = scene.chain.snapshot(&watched).await;
    for (address, original) in restore {
        let account = original.unwrap_or_else(|| Account {
            lamports: 0,
            ..Account::default()
        });
        scene.chain.set_account(address, account);
    }
    let failure = match outcome {
        Ok(events) => panic!("{case}: {} landed: {events:?}", attempt.label),
        Err(failure) => failure,
    };
    assert_eq!(
        before, after,
        "{case}: {} was refused but changed state",
        attempt.label
    );
    refusal(&failure)
}

#[tokio::test]
async fn every_instruction_refuses_every_applicable_attack_and_changes_nothing() {
    let mut scene = Scene::build().await;
    let cases_a = scene.a.cases(&mut scene.chain, &scene.keys).await;
    let cases_b = scene.b.cases(&mut scene.chain, &scene.keys).await;
    // Every instruction of the program has its case.
    let program = include_str!("../../../programs/allot/src/lib.rs");
    let instructions: BTreeSet<&str> = program
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub fn "))
        .filter_map(|rest| rest.split('(').next())
        .collect();
    let covered: BTreeSet<&str> = cases_a.iter().map(|c| c.name).collect();
    assert_eq!(covered, instructions, "a case per instruction of lib.rs");
    let mut table = String::new();
    let mut count = 0;
    for (case, counterpart) in cases_a.iter().zip(&cases_b) {
        for attempt in attempts(&mut scene, case, counterpart).await {
            let label = attempt.label.clone();
            let error = refused(&mut scene, case.name, attempt).await;
            writeln!(table, "{}{}: {label}: {error}", case.name, case.form).unwrap();
            count += 1;
        }
        let signers: Vec<&Keypair> = case.signers.iter().collect();
        scene
            .chain
            .send(std::slice::from_ref(&case.ix), &signers)
            .await
            .unwrap_or_else(|f| panic!("{}{} in its valid form: {f:?}", case.name, case.form));
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/program/catalogue.expected"
    );
    if std::env::var_os("ALLOT_BLESS").is_some() {
        std::fs::write(path, &table).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    let missing: Vec<_> = expected.lines().filter(|l| !table.contains(l)).collect();
    let new: Vec<_> = table.lines().filter(|l| !expected.contains(l)).collect();
    assert!(
        missing.is_empty() && new.is_empty(),
        "the refusals differ from {path} (ALLOT_BLESS=1 rewrites it; review the diff):\n\
         expected, not seen:\n{}\nseen, not expected:\n{}",
        missing.join("\n"),
        new.join("\n")
    );
    eprintln!("{count} attacks on {} instructions refused", cases_a.len());
}
