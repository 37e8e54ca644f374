//! Every address the program derives, derived once. Seeds come from `allot::constants`.

use allot::constants::{
    SEED_ALLOCATION, SEED_CREDENTIAL, SEED_ESCROW, SEED_EXCHANGE_REQUEST, SEED_MINT, SEED_POOL,
    SEED_PROFIT_REPORT, SEED_SHARD, SEED_SHARD_VAULT, SEED_USER_LIST, SEED_VERIFIER,
};
use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anchor_spl::token_2022::ID as TOKEN_2022_ID;

/// Seed of the event authority that signs `emit_cpi!` self-invocations (fixed by Anchor).
pub const EVENT_AUTHORITY_SEED: &[u8] = b"__event_authority";

fn find(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &allot::ID).0
}

/// The pool created by `creator` with `pool_id`.
pub fn pool(creator: &Pubkey, pool_id: u64) -> Pubkey {
    find(&[SEED_POOL, creator.as_ref(), &pool_id.to_le_bytes()])
}

/// The pool's Token-2022 mint.
pub fn mint(pool: &Pubkey) -> Pubkey {
    find(&[SEED_MINT, pool.as_ref()])
}

/// `owner`'s associated Token-2022 account for `mint`.
pub fn token_account(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    get_associated_token_address_with_program_id(owner, mint, &TOKEN_2022_ID)
}

/// The pool's vault: the pool's associated token account for its mint.
pub fn vault(pool: &Pubkey) -> Pubkey {
    token_account(pool, &mint(pool))
}

/// The authorisation of verifier `authority` in `pool`.
pub fn verifier(pool: &Pubkey, authority: &Pubkey) -> Pubkey {
    find(&[SEED_VERIFIER, pool.as_ref(), authority.as_ref()])
}

/// `user`'s credential in `pool`.
pub fn credential(pool: &Pubkey, user: &Pubkey) -> Pubkey {
    find(&[SEED_CREDENTIAL, pool.as_ref(), user.as_ref()])
}

/// `user`'s SAS attestation from `issuer` (a SAS credential account) under `schema`, the address
/// a pool that accepts that schema reads (SAS's program, not allot's).
pub fn attestation(issuer: &Pubkey, schema: &Pubkey, user: &Pubkey) -> Pubkey {
    allot::state::sas_attestation_address(issuer, schema, user)
}

/// The SAS issuer (a SAS "credential" account) `name` of `authority` (SAS's seeds
/// `["credential", authority, name]`, under SAS's program).
pub fn sas_issuer(authority: &Pubkey, name: &str) -> Pubkey {
    sas_find(&[b"credential", authority.as_ref(), name.as_bytes()])
}

/// `issuer`'s SAS schema `name` at `version` (SAS's seeds `["schema", issuer, name, version]`:
/// each version its own account).
pub fn sas_schema(issuer: &Pubkey, name: &str, version: u8) -> Pubkey {
    sas_find(&[b"schema", issuer.as_ref(), name.as_bytes(), &[version]])
}

/// The SAS program's address for `seeds`.
fn sas_find(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &allot::constants::SAS_PROGRAM_ID).0
}

/// `pool`'s user list for `period`.
pub fn user_list(pool: &Pubkey, period: u64) -> Pubkey {
    find(&[SEED_USER_LIST, pool.as_ref(), &period.to_le_bytes()])
}

/// `user`'s allocation record in `pool`.
pub fn allocation_record(pool: &Pubkey, user: &Pubkey) -> Pubkey {
    find(&[SEED_ALLOCATION, pool.as_ref(), user.as_ref()])
}

/// The pool's escrow token account for pending exchange requests.
pub fn escrow(pool: &Pubkey) -> Pubkey {
    find(&[SEED_ESCROW, pool.as_ref()])
}

/// `pool`'s profit report for `period`.
pub fn profit_report(pool: &Pubkey, period: u64) -> Pubkey {
    find(&[SEED_PROFIT_REPORT, pool.as_ref(), &period.to_le_bytes()])
}

/// `pool`'s exchange request number `id`.
pub fn exchange_request(pool: &Pubkey, id: u64) -> Pubkey {
    find(&[SEED_EXCHANGE_REQUEST, pool.as_ref(), &id.to_le_bytes()])
}

/// `pool`'s allocation shard number `index`.
pub fn shard(pool: &Pubkey, index: u16) -> Pubkey {
    find(&[SEED_SHARD, pool.as_ref(), &index.to_le_bytes()])
}

/// The vault of `pool`'s shard `index`: a token account PDA of the pool mint, owned by the shard.
pub fn shard_vault(pool: &Pubkey, index: u16) -> Pubkey {
    find(&[SEED_SHARD_VAULT, pool.as_ref(), &index.to_le_bytes()])
}

/// The program's event authority (first account of every `emit_cpi!` self-invocation).
pub fn event_authority() -> Pubkey {
    find(&[EVENT_AUTHORITY_SEED])
}
