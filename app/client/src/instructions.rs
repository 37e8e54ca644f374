//! Typed builders for every allot instruction. Accounts are derived with [`crate::pdas`], so a
//! caller names only the keys that are choices (creator, operator, verifier, user, payer).

use allot::instructions::{
    CredentialIssueArgs, ExchangeSettleArgs, PoolCreateArgs, ProfitReportArgs, TokenMetadataArgs,
    UserListPublishArgs,
};
use allot::state::{AllocationRule, AttestationEvidence, EvidenceKind, ExchangeConfig};
use allot::{ListProof, accounts, instruction};
use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas, system_program};
use anchor_spl::associated_token::ID as ASSOCIATED_TOKEN_ID;
use anchor_spl::token_2022::ID as TOKEN_2022_ID;

use crate::pdas;

/// The most bytes a serialized transaction may take (the network's packet limit, solana-packet's
/// `PACKET_DATA_SIZE`).
pub const MAX_TRANSACTION_BYTES: usize = 1232;

/// Which evidence an allocation or clawback presents.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// The user's credential account in the pool.
    Credential,
    /// The pool's user list for `period`, with the user's leaf value and proof.
    UserList {
        /// The period of the list.
        period: u64,
        /// The user's value and Merkle proof.
        proof: ListProof,
    },
    /// The user's SAS attestation from `issuer` under `schema` (the pool's
    /// `AttestationEvidence`), with the issuer account.
    Attestation {
        /// The SAS credential account that issued it.
        issuer: Pubkey,
        /// The SAS schema account.
        schema: Pubkey,
    },
}

/// The evidence accounts and proof argument an allocation or clawback passes.
struct EvidenceParts {
    credential: Option<Pubkey>,
    user_list: Option<Pubkey>,
    proof: Option<ListProof>,
    attestation: Option<Pubkey>,
    attestation_issuer: Option<Pubkey>,
}

impl From<&AttestationEvidence> for Evidence {
    /// The evidence of a user's attestation under the SAS issuer and schema a pool accepts.
    fn from(accepted: &AttestationEvidence) -> Self {
        Evidence::Attestation {
            issuer: accepted.issuer,
            schema: accepted.schema,
        }
    }
}

impl Evidence {
    /// The kind the program's events name for this evidence.
    pub fn kind(&self) -> EvidenceKind {
        match self {
            Evidence::Credential => EvidenceKind::Credential,
            Evidence::UserList { .. } => EvidenceKind::UserList,
            Evidence::Attestation { .. } => EvidenceKind::Attestation,
        }
    }

    /// The accounts and the proof argument this evidence passes.
    fn parts(self, pool: &Pubkey, user: &Pubkey) -> EvidenceParts {
        let none = EvidenceParts {
            credential: None,
            user_list: None,
            proof: None,
            attestation: None,
            attestation_issuer: None,
        };
        match self {
            Evidence::Credential => EvidenceParts {
                credential: Some(pdas::credential(pool, user)),
                ..none
            },
            Evidence::UserList { period, proof } => EvidenceParts {
                user_list: Some(pdas::user_list(pool, period)),
                proof: Some(proof),
                ..none
            },
            Evidence::Attestation { issuer, schema } => EvidenceParts {
                attestation: Some(pdas::attestation(&issuer, &schema, user)),
                attestation_issuer: Some(issuer),
                ..none
            },
        }
    }
}

fn build(accounts: Vec<AccountMeta>, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: allot::ID,
        accounts,
        data: data.data(),
    }
}

/// The accounts `emit_cpi!` needs, appended by Anchor to every event-emitting instruction.
fn event_accounts() -> (Pubkey, Pubkey) {
    (pdas::event_authority(), allot::ID)
}

/// `pool_create`: `creator` opens pool `args.pool_id` and becomes its operator.
pub fn pool_create(creator: &Pubkey, args: PoolCreateArgs) -> Instruction {
    let pool = pdas::pool(creator, args.pool_id);
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolCreate {
            creator: *creator,
            pool,
            mint: pdas::mint(&pool),
            vault: pdas::vault(&pool),
            escrow: pdas::escrow(&pool),
            token_program: TOKEN_2022_ID,
            associated_token_program: ASSOCIATED_TOKEN_ID,
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolCreate { args },
    )
}

/// `pool_update_rule`: the operator replaces the rule.
pub fn pool_update_rule(operator: &Pubkey, pool: &Pubkey, rule: AllocationRule) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolUpdateRule {
            operator: *operator,
            pool: *pool,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolUpdateRule { rule },
    )
}

/// `pool_retire`: the operator retires the pool (no allocation or clawback from then on).
pub fn pool_retire(operator: &Pubkey, pool: &Pubkey) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolRetire {
            operator: *operator,
            pool: *pool,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolRetire {},
    )
}

/// `allocation_record_close`: anyone closes `user`'s record in a retired `pool`, its rent going
/// to `rent_payer` (the record's [`allot::state::AllocationRecord::rent_payer`]).
pub fn allocation_record_close(pool: &Pubkey, user: &Pubkey, rent_payer: &Pubkey) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::AllocationRecordClose {
            pool: *pool,
            record: pdas::allocation_record(pool, user),
            rent_payer: *rent_payer,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::AllocationRecordClose {},
    )
}

/// `pool_set_paused`: the operator pauses or resumes allocations.
pub fn pool_set_paused(operator: &Pubkey, pool: &Pubkey, paused: bool) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolSetPaused {
            operator: *operator,
            pool: *pool,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolSetPaused { paused },
    )
}

/// `pool_set_transfers_paused`: the operator of a pausable pool pauses or resumes every
/// movement of its units (Token-2022's Pausable extension on its mint).
pub fn pool_set_transfers_paused(operator: &Pubkey, pool: &Pubkey, paused: bool) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolSetTransfersPaused {
            operator: *operator,
            pool: *pool,
            mint: pdas::mint(pool),
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolSetTransfersPaused { paused },
    )
}

/// `pool_set_metadata`: the operator names the pool's token (name, symbol, URI) in its mint's
/// Token-2022 metadata.
pub fn pool_set_metadata(
    operator: &Pubkey,
    pool: &Pubkey,
    metadata: TokenMetadataArgs,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolSetMetadata {
            operator: *operator,
            pool: *pool,
            mint: pdas::mint(pool),
            token_program: TOKEN_2022_ID,
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolSetMetadata { metadata },
    )
}

/// `pool_fund`: the operator mints `amount` into the vault.
pub fn pool_fund(operator: &Pubkey, pool: &Pubkey, amount: u64) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolFund {
            operator: *operator,
            pool: *pool,
            mint: pdas::mint(pool),
            vault: pdas::vault(pool),
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolFund { amount },
    )
}

/// `pool_propose_operator`: step 1 of the operator transfer.
pub fn pool_propose_operator(
    operator: &Pubkey,
    pool: &Pubkey,
    new_operator: &Pubkey,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolProposeOperator {
            operator: *operator,
            pool: *pool,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolProposeOperator {
            new_operator: *new_operator,
        },
    )
}

/// `pool_accept_operator`: step 2 of the operator transfer, signed by the new operator.
pub fn pool_accept_operator(new_operator: &Pubkey, pool: &Pubkey) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolAcceptOperator {
            new_operator: *new_operator,
            pool: *pool,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolAcceptOperator {},
    )
}

/// `verifier_add`: the operator authorises `authority` as a verifier of `pool`.
pub fn verifier_add(operator: &Pubkey, pool: &Pubkey, authority: &Pubkey) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::VerifierAdd {
            operator: *operator,
            pool: *pool,
            verifier: pdas::verifier(pool, authority),
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::VerifierAdd {
            authority: *authority,
        },
    )
}

/// `verifier_set_active`: the operator deactivates or reactivates verifier `authority`.
pub fn verifier_set_active(
    operator: &Pubkey,
    pool: &Pubkey,
    authority: &Pubkey,
    active: bool,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::VerifierSetActive {
            operator: *operator,
            pool: *pool,
            verifier: pdas::verifier(pool, authority),
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::VerifierSetActive { active },
    )
}

/// `credential_issue`: verifier `authority` writes `user`'s credential.
pub fn credential_issue(
    authority: &Pubkey,
    pool: &Pubkey,
    user: &Pubkey,
    args: CredentialIssueArgs,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::CredentialIssue {
            authority: *authority,
            pool: *pool,
            verifier: pdas::verifier(pool, authority),
            user: *user,
            credential: pdas::credential(pool, user),
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::CredentialIssue { args },
    )
}

/// `credential_revoke`: verifier `authority` revokes `user`'s credential.
pub fn credential_revoke(authority: &Pubkey, pool: &Pubkey, user: &Pubkey) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::CredentialRevoke {
            authority: *authority,
            pool: *pool,
            verifier: pdas::verifier(pool, authority),
            credential: pdas::credential(pool, user),
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::CredentialRevoke {},
    )
}

/// `credential_close`: verifier `authority` closes `user`'s credential, its rent to `rent_payer`
/// (the key that paid it, stored in the credential).
pub fn credential_close(
    authority: &Pubkey,
    pool: &Pubkey,
    user: &Pubkey,
    rent_payer: &Pubkey,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::CredentialClose {
            authority: *authority,
            pool: *pool,
            verifier: pdas::verifier(pool, authority),
            credential: pdas::credential(pool, user),
            rent_payer: *rent_payer,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::CredentialClose {},
    )
}

/// `user_list_publish`: the operator publishes a period's user-list root.
pub fn user_list_publish(
    operator: &Pubkey,
    pool: &Pubkey,
    args: UserListPublishArgs,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::UserListPublish {
            operator: *operator,
            pool: *pool,
            user_list: pdas::user_list(pool, args.period),
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::UserListPublish { args },
    )
}

/// `allocate`: `payer` sends `user`'s allocation for the current period on `evidence`.
pub fn allocate(payer: &Pubkey, pool: &Pubkey, user: &Pubkey, evidence: Evidence) -> Instruction {
    let evidence = evidence.parts(pool, user);
    let (event_authority, program) = event_accounts();
    let mint = pdas::mint(pool);
    build(
        accounts::Allocate {
            payer: *payer,
            user: *user,
            pool: *pool,
            mint,
            vault: pdas::vault(pool),
            user_token: pdas::token_account(user, &mint),
            record: pdas::allocation_record(pool, user),
            credential: evidence.credential,
            user_list: evidence.user_list,
            attestation: evidence.attestation,
            attestation_issuer: evidence.attestation_issuer,
            token_program: TOKEN_2022_ID,
            associated_token_program: ASSOCIATED_TOKEN_ID,
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::Allocate {
            proof: evidence.proof,
        },
    )
}

/// `allocate_sharded`: allocates to `user` on `evidence` from shard `shard` of the pool (the pool
/// account is only read); `payer` funds the token account and record if new.
pub fn allocate_sharded(
    payer: &Pubkey,
    pool: &Pubkey,
    user: &Pubkey,
    shard: u16,
    evidence: Evidence,
) -> Instruction {
    let evidence = evidence.parts(pool, user);
    let (event_authority, program) = event_accounts();
    let mint = pdas::mint(pool);
    build(
        accounts::AllocateSharded {
            payer: *payer,
            user: *user,
            pool: *pool,
            mint,
            shard: pdas::shard(pool, shard),
            shard_vault: pdas::shard_vault(pool, shard),
            user_token: pdas::token_account(user, &mint),
            record: pdas::allocation_record(pool, user),
            credential: evidence.credential,
            user_list: evidence.user_list,
            attestation: evidence.attestation,
            attestation_issuer: evidence.attestation_issuer,
            token_program: TOKEN_2022_ID,
            associated_token_program: ASSOCIATED_TOKEN_ID,
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::AllocateSharded {
            proof: evidence.proof,
        },
    )
}

/// `shard_create`: the operator adds shard number `index` (it must be the pool's `shard_count`).
pub fn shard_create(operator: &Pubkey, pool: &Pubkey, index: u16) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ShardCreate {
            operator: *operator,
            pool: *pool,
            mint: pdas::mint(pool),
            shard: pdas::shard(pool, index),
            shard_vault: pdas::shard_vault(pool, index),
            token_program: TOKEN_2022_ID,
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ShardCreate {},
    )
}

/// `shard_fund`: the operator moves `amount` units from the pool's vault into shard `index`.
pub fn shard_fund(operator: &Pubkey, pool: &Pubkey, index: u16, amount: u64) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ShardFund {
            operator: *operator,
            pool: *pool,
            mint: pdas::mint(pool),
            vault: pdas::vault(pool),
            shard: pdas::shard(pool, index),
            shard_vault: pdas::shard_vault(pool, index),
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ShardFund { amount },
    )
}

/// `shard_drain`: the operator moves `amount` unallocated units of shard `index` back to the
/// pool's vault.
pub fn shard_drain(operator: &Pubkey, pool: &Pubkey, index: u16, amount: u64) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ShardDrain {
            operator: *operator,
            pool: *pool,
            mint: pdas::mint(pool),
            vault: pdas::vault(pool),
            shard: pdas::shard(pool, index),
            shard_vault: pdas::shard_vault(pool, index),
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ShardDrain { amount },
    )
}

/// `shard_sweep`: folds shard `index`'s allocations since its last sweep into the pool's totals.
pub fn shard_sweep(pool: &Pubkey, index: u16) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ShardSweep {
            pool: *pool,
            shard: pdas::shard(pool, index),
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ShardSweep {},
    )
}

/// `clawback`: recovers `user`'s allocated units on `evidence` that the rule no longer holds.
pub fn clawback(pool: &Pubkey, user: &Pubkey, evidence: Evidence) -> Instruction {
    let evidence = evidence.parts(pool, user);
    let (event_authority, program) = event_accounts();
    let mint = pdas::mint(pool);
    build(
        accounts::Clawback {
            user: *user,
            pool: *pool,
            mint,
            vault: pdas::vault(pool),
            user_token: pdas::token_account(user, &mint),
            record: pdas::allocation_record(pool, user),
            credential: evidence.credential,
            user_list: evidence.user_list,
            attestation: evidence.attestation,
            attestation_issuer: evidence.attestation_issuer,
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::Clawback {
            proof: evidence.proof,
        },
    )
}

/// `pool_set_attestation`: the operator accepts SAS attestations under `schema` whose field
/// number `field_index` the rule reads (`None`: accepts none any more).
pub fn pool_set_attestation(
    operator: &Pubkey,
    pool: &Pubkey,
    schema_field: Option<(Pubkey, u8)>,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolSetAttestation {
            operator: *operator,
            pool: *pool,
            schema: schema_field.map(|(schema, _)| schema),
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolSetAttestation {
            field_index: schema_field.map(|(_, field)| field),
        },
    )
}

/// `pool_set_exchange`: the operator sets the exchange configuration.
pub fn pool_set_exchange(operator: &Pubkey, pool: &Pubkey, config: ExchangeConfig) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::PoolSetExchange {
            operator: *operator,
            pool: *pool,
            payout_mint: config.payout_mint,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::PoolSetExchange { config },
    )
}

/// `profit_report_record`: the operator records a period's profit.
pub fn profit_report_record(
    operator: &Pubkey,
    pool: &Pubkey,
    args: ProfitReportArgs,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ProfitReportRecord {
            operator: *operator,
            pool: *pool,
            report: pdas::profit_report(pool, args.period),
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ProfitReportRecord { args },
    )
}

/// `exchange_request`: `user` escrows `amount` units in a request named `id` (draw it with
/// [`crate::request_id::random`]; at most `MAX_REQUEST_ID`). `payer` pays the rent.
pub fn exchange_request(
    user: &Pubkey,
    payer: &Pubkey,
    pool: &Pubkey,
    id: u64,
    amount: u64,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    let mint = pdas::mint(pool);
    build(
        accounts::ExchangeRequestOpen {
            user: *user,
            payer: *payer,
            pool: *pool,
            mint,
            vault: pdas::vault(pool),
            user_token: pdas::token_account(user, &mint),
            escrow: pdas::escrow(pool),
            record: pdas::allocation_record(pool, user),
            request: pdas::exchange_request(pool, id),
            token_program: TOKEN_2022_ID,
            system_program: system_program::ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ExchangeRequest { id, amount },
    )
}

/// The accounts of an on-chain stablecoin payout made at settlement.
#[derive(Clone, Debug, PartialEq)]
pub struct OnChainPayout {
    /// The request's payout mint (frozen in the request when it was made).
    pub mint: Pubkey,
    /// Its token program (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// The settlement authority's treasury account of `mint`.
    pub treasury: Pubkey,
    /// The user's account of `mint`.
    pub user_account: Pubkey,
}

/// `exchange_settle`: the settlement authority settles request `id`, optionally paying on chain.
pub fn exchange_settle(
    authority: &Pubkey,
    pool: &Pubkey,
    id: u64,
    args: ExchangeSettleArgs,
    payout: Option<OnChainPayout>,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ExchangeSettle {
            settlement_authority: *authority,
            pool: *pool,
            mint: pdas::mint(pool),
            escrow: pdas::escrow(pool),
            vault: pdas::vault(pool),
            request: pdas::exchange_request(pool, id),
            token_program: TOKEN_2022_ID,
            payout_mint: payout.as_ref().map(|p| p.mint),
            treasury: payout.as_ref().map(|p| p.treasury),
            user_payout: payout.as_ref().map(|p| p.user_account),
            payout_token_program: payout.as_ref().map(|p| p.token_program),
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ExchangeSettle { args },
    )
}

/// `exchange_lock`: the settlement authority locks request `id` before paying it off chain;
/// `expected_created_at` is the request's `created_at` as read (a later request at the same id
/// is refused).
pub fn exchange_lock(
    authority: &Pubkey,
    pool: &Pubkey,
    id: u64,
    expected_created_at: i64,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ExchangeLock {
            settlement_authority: *authority,
            pool: *pool,
            request: pdas::exchange_request(pool, id),
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ExchangeLock {
            expected_created_at,
        },
    )
}

/// `exchange_cancel`: `user` cancels their request `id` after the timeout.
pub fn exchange_cancel(user: &Pubkey, pool: &Pubkey, id: u64) -> Instruction {
    let (event_authority, program) = event_accounts();
    let mint = pdas::mint(pool);
    build(
        accounts::ExchangeCancel {
            user: *user,
            pool: *pool,
            mint,
            escrow: pdas::escrow(pool),
            user_token: pdas::token_account(user, &mint),
            record: pdas::allocation_record(pool, user),
            request: pdas::exchange_request(pool, id),
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ExchangeCancel {},
    )
}

/// `exchange_reject`: the settlement authority rejects `user`'s request `id`, made at
/// `expected_created_at` (as read: refused on a later request at the id), with `reason`.
pub fn exchange_reject(
    authority: &Pubkey,
    pool: &Pubkey,
    id: u64,
    expected_created_at: i64,
    user: &Pubkey,
    reason: u16,
) -> Instruction {
    let (event_authority, program) = event_accounts();
    let mint = pdas::mint(pool);
    build(
        accounts::ExchangeReject {
            settlement_authority: *authority,
            pool: *pool,
            mint,
            escrow: pdas::escrow(pool),
            user: *user,
            user_token: pdas::token_account(user, &mint),
            record: pdas::allocation_record(pool, user),
            request: pdas::exchange_request(pool, id),
            token_program: TOKEN_2022_ID,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ExchangeReject {
            expected_created_at,
            reason,
        },
    )
}

/// `exchange_close`: closes final request `id`, returning its rent to `rent_payer`.
pub fn exchange_close(pool: &Pubkey, id: u64, rent_payer: &Pubkey) -> Instruction {
    let (event_authority, program) = event_accounts();
    build(
        accounts::ExchangeClose {
            request: pdas::exchange_request(pool, id),
            rent_payer: *rent_payer,
            event_authority,
            program,
        }
        .to_account_metas(None),
        instruction::ExchangeClose {},
    )
}
