//! Seeds and limits shared by the program and the client library.
//!
//! Seeds are defined here once; the client crate imports them (never retype a seed literal).

use anchor_lang::prelude::*;

/// Seed of a [`crate::state::Pool`]: `[SEED_POOL, creator, pool_id (u64 LE)]`.
#[constant]
pub const SEED_POOL: &[u8] = b"pool";
/// Seed of a pool's Token-2022 mint: `[SEED_MINT, pool]`.
#[constant]
pub const SEED_MINT: &[u8] = b"mint";
/// Seed of a [`crate::state::Verifier`]: `[SEED_VERIFIER, pool, verifier authority]`.
#[constant]
pub const SEED_VERIFIER: &[u8] = b"verifier";
/// Seed of a [`crate::state::Credential`]: `[SEED_CREDENTIAL, pool, user]`.
#[constant]
pub const SEED_CREDENTIAL: &[u8] = b"credential";
/// Seed of a [`crate::state::UserList`]: `[SEED_USER_LIST, pool, period (u64 LE)]`.
#[constant]
pub const SEED_USER_LIST: &[u8] = b"user_list";
/// Seed of an [`crate::state::AllocationRecord`]: `[SEED_ALLOCATION, pool, user]`.
#[constant]
pub const SEED_ALLOCATION: &[u8] = b"allocation";

/// Seed of a pool's escrow token account for pending exchange requests: `[SEED_ESCROW, pool]`.
#[constant]
pub const SEED_ESCROW: &[u8] = b"escrow";
/// Seed of a [`crate::state::ProfitReport`]: `[SEED_PROFIT_REPORT, pool, period (u64 LE)]`.
#[constant]
pub const SEED_PROFIT_REPORT: &[u8] = b"profit_report";
/// Seed of an [`crate::state::ExchangeRequest`]: `[SEED_EXCHANGE_REQUEST, pool, id (u64 LE)]`,
/// the id chosen by the client (a random one: no counter that concurrent users race for).
#[constant]
pub const SEED_EXCHANGE_REQUEST: &[u8] = b"exchange_request";

/// Largest request id: 2⁵³ − 1, so that every id is exact wherever it goes: JSON read by
/// JavaScript (`Number.MAX_SAFE_INTEGER`: the page and Actions clients), and the signed 64-bit
/// integers of SQL databases (the bridge's).
#[constant]
pub const MAX_REQUEST_ID: u64 = 9_007_199_254_740_991_u64;

/// Fixed-point scale of rates: a rate is funds (minor units) per base unit × `RATE_SCALE`.
#[constant]
pub const RATE_SCALE: u64 = 1_000_000_000;

/// Number of indicator slots a credential carries (e.g. payment volume, payment count…).
/// What each slot means is the pool operator's published convention; the rule names the slot.
/// (Not an IDL `#[constant]`: Anchor's IDL has no `usize`; the IDL shows it as the length of the
/// `indicators` arrays.)
pub const INDICATOR_COUNT: usize = 4;

/// Longest Merkle proof accepted, in sibling hashes (a tree of 2^32 users). Bounds the
/// verification loop.
#[constant]
pub const MAX_PROOF_NODES: u8 = 32;

/// [`MAX_PROOF_NODES`] as a length (Anchor's IDL constants have no `usize`).
pub const MAX_PROOF_LEN: usize = MAX_PROOF_NODES as usize;

/// Most minor-unit digits a currency may have (ISO 4217's largest exponent is 4, e.g. CLF).
#[constant]
pub const MAX_CURRENCY_DIGITS: u8 = 4;

/// Longest cancel timeout or lock timeout an exchange configuration may set: one year. Keeps a
/// request's deadlines far from overflow and the user's way out within reach.
#[constant]
pub const MAX_EXCHANGE_TIMEOUT_SECONDS: i64 = 366 * 86_400;

/// Most decimals a pool mint may have (as SPL Token).
#[constant]
pub const MAX_DECIMALS: u8 = 9;

/// Shortest allocation period: one minute (prevents a rule that re-allocates every slot).
#[constant]
pub const MIN_PERIOD_SECONDS: i64 = 60;

/// Seed of an [`crate::state::AllocationShard`]: `[SEED_SHARD, pool, index (u16 LE)]`.
#[constant]
pub const SEED_SHARD: &[u8] = b"shard";
/// Seed of an allocation shard's vault, a token account owned by the shard:
/// `[SEED_SHARD_VAULT, pool, index (u16 LE)]`. Not the shard's associated token account: that
/// address is derivable before the shard exists, so units could be allocated into it (with the
/// future shard's address as the user) outside the shard's books.
#[constant]
pub const SEED_SHARD_VAULT: &[u8] = b"shard_vault";

/// Most allocation shards a pool may have. Each shard is one more account a cluster can write in
/// parallel; 64 is far beyond what one pool's allocations need and keeps crank lookups bounded.
#[constant]
pub const MAX_SHARDS: u16 = 64;

/// Longest token name the pool's metadata may carry (bytes; what wallets display, as Metaplex).
#[constant]
pub const MAX_TOKEN_NAME_LEN: u8 = 32;

/// Longest token symbol (bytes).
#[constant]
pub const MAX_TOKEN_SYMBOL_LEN: u8 = 10;

/// Longest URI of the token's JSON description (bytes).
#[constant]
pub const MAX_TOKEN_URI_LEN: u8 = 200;

/// The Solana Attestation Service's program id, taken from its published client
/// (`solana-attestation-service-client`): attestations, their issuers (SAS "credentials") and
/// schemas are accounts of this program.
pub const SAS_PROGRAM_ID: Pubkey = Pubkey::new_from_array(
    solana_attestation_service_client::programs::SOLANA_ATTESTATION_SERVICE_ID.to_bytes(),
);

/// Seed of a SAS attestation under [`SAS_PROGRAM_ID`]: `[SAS_ATTESTATION_SEED, issuer, schema,
/// nonce]`, where allot takes the user's wallet as the nonce (the convention SAS documents for
/// attestations about a wallet). From SAS's `program/src/constants.rs`; its client does not
/// export it.
pub const SAS_ATTESTATION_SEED: &[u8] = b"attestation";
