//! Settle transactions: built and signed once, stored, then only those bytes are sent until their
//! blockhash has provably expired.

use allot::instructions::ExchangeSettleArgs;
use allot::state::ExchangeRequest;
use allot_client::compute_budget::{self, ComputeBudget};
use allot_client::{instructions, pdas, token};
use anchor_lang::prelude::Pubkey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::Transaction;
use solana_transaction_status_client_types::UiTransactionEncoding;
use spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent;

use crate::config::FeePolicy;
use crate::rpc_failure::{RpcFailure, RpcResultExt as _};

/// A signed settle transaction, ready to store.
#[derive(Clone, Debug)]
pub struct SignedSettle {
    /// The serialized transaction (base64).
    pub base64: String,
    /// Its signature (base58).
    pub signature: String,
    /// The last block height at which it can land.
    pub last_valid_height: u64,
}

/// Where a sent settle transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettleStatus {
    /// Landed and succeeded (confirmed or finalized).
    Succeeded,
    /// Landed and failed.
    Failed(String),
    /// Not seen yet, and it can still land: resend the same bytes.
    InFlight,
    /// Not seen, and its blockhash has expired (the finalized block height is past its last
    /// valid height): it can never land.
    Expired,
}

/// The payout reference recorded on chain: the client's hash of the provider's payment id, or of
/// the request address for on-chain payouts (the transfer is in the same transaction) — the same
/// bytes the CLI's manual settle records.
pub use allot_client::reference::reference_hash as payout_reference;

/// The accounts of an on-chain payout from `treasury` (default: the authority's associated
/// account) to the user's associated account of the request's payout mint (frozen in the request
/// when the user made it); `None` when the request is paid off chain.
pub fn onchain_payout(
    request: &ExchangeRequest,
    authority: &Pubkey,
    payout_mint_program: Pubkey,
    treasury: Option<Pubkey>,
) -> Option<instructions::OnChainPayout> {
    let mint = request.payout_mint?;
    Some(instructions::OnChainPayout {
        mint,
        token_program: payout_mint_program,
        treasury: treasury
            .unwrap_or_else(|| token::associated_account(authority, &mint, &payout_mint_program)),
        user_account: token::associated_account(&request.user, &mint, &payout_mint_program),
    })
}

/// Builds and signs the settle transaction of `request` (with its on-chain payout, if any: the
/// user's payout account is created in the same transaction when missing).
pub async fn sign(
    rpc: &RpcClient,
    authority: &Keypair,
    request: &ExchangeRequest,
    reference: [u8; 32],
    payout: Option<instructions::OnChainPayout>,
    fees: FeePolicy,
) -> Result<SignedSettle, RpcFailure> {
    let units = if payout.is_some() {
        SETTLE_WITH_PAYOUT_UNITS
    } else {
        SETTLE_UNITS
    };
    let address = pdas::exchange_request(&request.pool, request.id);
    let budget = budget(rpc, &[address, request.pool], units, fees).await;
    let mut program_instructions = budget.instructions();
    if let Some(payout) = &payout {
        program_instructions.push(create_associated_token_account_idempotent(
            &authority.pubkey(),
            &request.user,
            &payout.mint,
            &payout.token_program,
        ));
    }
    program_instructions.push(instructions::exchange_settle(
        &authority.pubkey(),
        &request.pool,
        request.id,
        ExchangeSettleArgs {
            payout_reference: reference,
            paid_amount: request.quoted,
        },
        payout,
    ));
    sign_instructions(rpc, authority, &program_instructions).await
}

/// Compute units reserved for a lock: the runtime's default for one instruction. allot runs
/// unmetered natively, so its own cost is not measured here; the default is what these
/// transactions always had, and a priority fee is paid on it.
pub const LOCK_UNITS: u32 = 200_000;
/// Compute units reserved for an off-chain settlement (allot, a Token-2022 burn or transfer, the
/// event self-CPI): the runtime's default for one instruction.
pub const SETTLE_UNITS: u32 = 200_000;
/// Compute units reserved for a settlement that pays on chain: the default for its two
/// instructions (the user's payout account, created when missing, and the settlement with the
/// stablecoin transfer).
pub const SETTLE_WITH_PAYOUT_UNITS: u32 = 400_000;

/// The compute budget of a transaction writing `writable`, reserving `units`, priced by `fees`
/// (a failed fee lookup sends at no priority fee rather than not at all).
async fn budget(
    rpc: &RpcClient,
    writable: &[Pubkey],
    units: u32,
    fees: FeePolicy,
) -> ComputeBudget {
    ComputeBudget {
        unit_limit: Some(units),
        unit_price_micro_lamports: Some(compute_budget::unit_price(rpc, writable, fees).await),
    }
}

/// Builds and signs the `exchange_lock` transaction of `request`: the lock that must be on chain
/// before any off-chain payment starts. A lock moves no money, so it is not stored: one that
/// never lands is simply signed and sent again.
pub async fn sign_lock(
    rpc: &RpcClient,
    authority: &Keypair,
    request: &ExchangeRequest,
    fees: FeePolicy,
) -> Result<SignedSettle, RpcFailure> {
    let address = pdas::exchange_request(&request.pool, request.id);
    let budget = budget(rpc, &[address], LOCK_UNITS, fees).await;
    let lock = instructions::exchange_lock(&authority.pubkey(), &request.pool, request.id);
    sign_instructions(rpc, authority, &budget.apply(&[lock])).await
}

/// Signs `program_instructions` with the authority as fee payer, on a fresh blockhash.
async fn sign_instructions(
    rpc: &RpcClient,
    authority: &Keypair,
    program_instructions: &[solana_sdk::instruction::Instruction],
) -> Result<SignedSettle, RpcFailure> {
    let (blockhash, last_valid_height) = rpc
        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        .await
        .method("getLatestBlockhash")?;
    let transaction = Transaction::new_signed_with_payer(
        program_instructions,
        Some(&authority.pubkey()),
        &[authority],
        blockhash,
    );
    let bytes = bincode::serialize(&transaction).expect("a transaction serializes");
    Ok(SignedSettle {
        base64: BASE64.encode(bytes),
        signature: transaction.signatures[0].to_string(),
        last_valid_height,
    })
}

/// Sends a lock transaction with preflight: a lock whose request is already locked (an earlier
/// lock landed) fails simulation and costs nothing.
pub async fn send_lock(rpc: &RpcClient, signed: &SignedSettle) -> Result<(), RpcFailure> {
    let transaction = decode(&signed.base64)?;
    rpc.send_transaction_with_config(
        &transaction,
        RpcSendTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            preflight_commitment: Some(CommitmentConfig::processed().commitment),
            ..RpcSendTransactionConfig::default()
        },
    )
    .await
    .method("sendTransaction")?;
    Ok(())
}

/// The transaction stored as `base64`.
fn decode(base64: &str) -> Result<Transaction, RpcFailure> {
    BASE64
        .decode(base64)
        .ok()
        .and_then(|bytes| bincode::deserialize(&bytes).ok())
        .ok_or_else(|| {
            RpcFailure::new(
                "sendTransaction",
                "the stored settle transaction does not decode",
            )
        })
}

/// Sends the stored bytes `base64` (no preflight: the outcome is read from the signature's
/// status, the same way after a crash as now).
pub async fn send(rpc: &RpcClient, base64: &str) -> Result<(), RpcFailure> {
    let transaction = decode(base64)?;
    rpc.send_transaction_with_config(
        &transaction,
        RpcSendTransactionConfig {
            skip_preflight: true,
            encoding: Some(UiTransactionEncoding::Base64),
            ..RpcSendTransactionConfig::default()
        },
    )
    .await
    .method("sendTransaction")?;
    Ok(())
}

/// Where the transaction `signature`, valid up to `last_valid_height`, is. The finalized block
/// height is read before the status, so "expired" is only said when no block that could still
/// carry it is unseen.
pub async fn status(
    rpc: &RpcClient,
    signature: &str,
    last_valid_height: u64,
) -> Result<SettleStatus, RpcFailure> {
    let signature: Signature = signature.parse().map_err(|e| {
        RpcFailure::new(
            "getSignatureStatuses",
            format!("stored signature {signature}: {e}"),
        )
    })?;
    let finalized_height = rpc
        .get_block_height_with_commitment(CommitmentConfig::finalized())
        .await
        .method("getBlockHeight")?;
    let statuses = rpc
        .get_signature_statuses_with_history(&[signature])
        .await
        .method("getSignatureStatuses")?;
    match statuses.value.into_iter().next().flatten() {
        Some(found) if found.satisfies_commitment(CommitmentConfig::confirmed()) => {
            Ok(match found.err {
                None => SettleStatus::Succeeded,
                Some(error) => SettleStatus::Failed(error.to_string()),
            })
        }
        Some(_) => Ok(SettleStatus::InFlight),
        None if finalized_height > last_valid_height => Ok(SettleStatus::Expired),
        None => Ok(SettleStatus::InFlight),
    }
}
