//! Settle transactions: built and signed once, stored, then only those bytes are sent until their
//! blockhash has provably expired.

use allot::instructions::ExchangeSettleArgs;
use allot::state::ExchangeRequest;
use allot_client::compute_budget::{self, ComputeBudget};
use allot_client::{instructions, token};
use anchor_lang::Discriminator as _;
use anchor_lang::prelude::Pubkey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_sdk::instruction::InstructionError;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};
use solana_transaction_status_client_types::{TransactionStatus, UiTransactionEncoding};
use spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent;

use crate::recent::Recent;
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
    /// Landed and failed because a mint it moves is paused (Token-2022's `MintPaused`: the
    /// pool's units, or a Token-2022 payout mint): nothing moved, and the same settlement lands
    /// once transfers resume.
    Paused(String),
    /// Seen by the node but not yet at the commitment it counts as landed at (confirmed, or
    /// finalized for a bridge paying on confirmed locks): look again, without resending (were
    /// its fork dropped, it reads as unseen again, and is resent then).
    Processed,
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

/// One request to settle: its account, the payout reference to record and, for an on-chain
/// payout, the transfer's accounts.
#[derive(Clone, Debug)]
pub struct SettleOrder {
    /// The request account as read before signing.
    pub request: ExchangeRequest,
    /// The payout reference recorded on chain.
    pub reference: [u8; 32],
    /// The on-chain payout, when the request is paid in its frozen payout mint.
    pub payout: Option<instructions::OnChainPayout>,
}

impl SettleOrder {
    /// Compute units reserved for this settlement.
    pub fn units(&self) -> u32 {
        if self.payout.is_some() {
            SETTLE_WITH_PAYOUT_UNITS
        } else {
            SETTLE_UNITS
        }
    }

    /// Its instructions: the user's payout account (created when missing) for an on-chain
    /// payout, then the settlement.
    fn instructions(&self, authority: &Pubkey) -> Vec<solana_sdk::instruction::Instruction> {
        let request = &self.request;
        let mut built = Vec::with_capacity(2);
        if let Some(payout) = &self.payout {
            built.push(create_associated_token_account_idempotent(
                authority,
                &request.user,
                &payout.mint,
                &payout.token_program,
            ));
        }
        built.push(instructions::exchange_settle(
            authority,
            &request.pool,
            request.id,
            ExchangeSettleArgs {
                payout_reference: self.reference,
                paid_amount: request.quoted,
                expected_created_at: request.created_at,
            },
            self.payout.clone(),
        ));
        built
    }
}

/// The most settlements one transaction carries when each reserves `units_each`: as many as the
/// transaction's compute ceiling allows (the packet size may allow fewer, see [`sign`]).
pub fn max_settles(units_each: u32) -> usize {
    (compute_budget::MAX_COMPUTE_UNITS / units_each.max(1)).max(1) as usize
}

/// Builds and signs ONE transaction settling the longest prefix of `orders` (at least the
/// first) that fits the compute ceiling and the 1,232-byte packet: every settlement succeeds or
/// none does, each with its own event. Returns it and how many orders it settles. The blockhash
/// and the unit price (for the first order's pool, under the bridge's fee policy) come from
/// `recent`.
pub async fn sign(
    rpc: &RpcClient,
    recent: &Recent,
    authority: &Keypair,
    orders: &[SettleOrder],
) -> Result<(SignedSettle, usize), RpcFailure> {
    let payer = authority.pubkey();
    let mut count = 0;
    let mut units: u32 = 0;
    for order in orders {
        match units.checked_add(order.units()) {
            Some(sum) if sum <= compute_budget::MAX_COMPUTE_UNITS => {
                units = sum;
                count += 1;
            }
            _ => break,
        }
    }
    let count = count.max(1);
    let price = match orders.first() {
        Some(first) => recent.unit_price(rpc, first.request.pool).await,
        None => 0,
    };
    // The longest prefix whose transaction fits a packet (sized with a price instruction even
    // when the price is 0, so the count never depends on the fee market).
    let build = |n: usize, price: u64| {
        let mut all = settle_budget(&orders[..n], Some(price)).instructions();
        all.extend(orders[..n].iter().flat_map(|o| o.instructions(&payer)));
        all
    };
    let count = (1..=count)
        .rev()
        .find(|n| fits_in_a_packet(&payer, &build(*n, price.max(1))))
        .unwrap_or(1);
    let signed = sign_instructions(rpc, recent, authority, &build(count, price)).await?;
    Ok((signed, count))
}

/// The budget of a transaction settling `orders`: their reservations summed, at `price`.
fn settle_budget(orders: &[SettleOrder], price: Option<u64>) -> ComputeBudget {
    ComputeBudget {
        unit_limit: Some(orders.iter().map(SettleOrder::units).sum()),
        unit_price_micro_lamports: price,
    }
}

/// How many `exchange_settle` instructions the stored transaction `base64` carries (0 when it
/// does not decode).
pub fn settles_in(base64: &str) -> usize {
    let Ok(transaction) = decode(base64) else {
        return 0;
    };
    let message = &transaction.message;
    message
        .instructions
        .iter()
        .filter(|ix| {
            message.account_keys.get(usize::from(ix.program_id_index)) == Some(&allot::ID)
                && ix
                    .data
                    .starts_with(allot::instruction::ExchangeSettle::DISCRIMINATOR)
        })
        .count()
}

/// Compute units reserved for a lock: the runtime's default for one instruction. allot runs
/// unmetered natively, so its own cost is not measured here; the default is what these
/// transactions always had, and a priority fee is paid on it.
pub const LOCK_UNITS: u32 = 200_000;
/// Compute units reserved for an off-chain settlement (allot, a Token-2022 burn or transfer, the
/// event self-CPI): the runtime's default for one instruction, so seven fit one transaction.
/// allot's own cost cannot be measured without an SBF build; a measured figure would let more
/// settlements share a transaction.
pub const SETTLE_UNITS: u32 = 200_000;
/// Compute units reserved for a settlement that pays on chain: the default for its two
/// instructions (the user's payout account, created when missing, and the settlement with the
/// stablecoin transfer), so three fit one transaction.
pub const SETTLE_WITH_PAYOUT_UNITS: u32 = 400_000;

/// Builds and signs ONE `exchange_lock` transaction locking the longest prefix of `requests`
/// (at least the first; all of one pool) that fits the compute ceiling ([`LOCK_UNITS`] each)
/// and the 1,232-byte packet: the locks that must be on chain before any off-chain payment
/// starts. The transaction is atomic: one request that cannot be locked (cancelled meanwhile, or
/// locked by an earlier transaction) fails them all in simulation, and the caller sends them
/// again alone. Returns it and how many requests it locks. A lock moves no money, so it is not
/// stored: one that never lands is simply signed and sent again (within
/// [`crate::recent::BLOCKHASH_MAX_AGE`] on the same blockhash: with an unchanged fee, the same
/// bytes, which the node takes as the same transaction).
pub async fn sign_locks(
    rpc: &RpcClient,
    recent: &Recent,
    authority: &Keypair,
    requests: &[ExchangeRequest],
) -> Result<(SignedSettle, usize), RpcFailure> {
    let Some(first) = requests.first() else {
        return Err(RpcFailure::new("sendTransaction", "no request to lock"));
    };
    let payer = authority.pubkey();
    let price = recent.unit_price(rpc, first.pool).await;
    let build = |n: usize, price: u64| {
        let budget = ComputeBudget {
            unit_limit: Some(LOCK_UNITS.saturating_mul(n as u32)),
            unit_price_micro_lamports: Some(price),
        };
        let locks: Vec<_> = requests[..n]
            .iter()
            .map(|request| {
                instructions::exchange_lock(&payer, &request.pool, request.id, request.created_at)
            })
            .collect();
        budget.apply(&locks)
    };
    let count = (1..=requests.len().min(max_settles(LOCK_UNITS)))
        .rev()
        .find(|n| fits_in_a_packet(&payer, &build(*n, price.max(1))))
        .unwrap_or(1);
    let signed = sign_instructions(rpc, recent, authority, &build(count, price)).await?;
    Ok((signed, count))
}

/// Whether a transaction of `instructions` paid by `payer` fits the network's packet.
fn fits_in_a_packet(payer: &Pubkey, instructions: &[solana_sdk::instruction::Instruction]) -> bool {
    let unsigned = Transaction::new_with_payer(instructions, Some(payer));
    bincode::serialized_size(&unsigned)
        .is_ok_and(|size| size <= instructions::MAX_TRANSACTION_BYTES as u64)
}

/// Signs `program_instructions` with the authority as fee payer, on `recent`'s blockhash.
async fn sign_instructions(
    rpc: &RpcClient,
    recent: &Recent,
    authority: &Keypair,
    program_instructions: &[solana_sdk::instruction::Instruction],
) -> Result<SignedSettle, RpcFailure> {
    let (blockhash, last_valid_height) = recent.blockhash(rpc).await?;
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

/// Why a lock was not sent.
#[derive(Debug, thiserror::Error)]
pub enum LockNotSent {
    /// The program refused it in simulation because the signer is not the pool's settlement
    /// authority (any more: an operator transfer or `pool_set_exchange` moved it).
    #[error("the signer is not the pool's settlement authority")]
    NotSettlementAuthority,
    /// The program refused one of its instructions in simulation for another reason (usually
    /// an earlier lock that already landed, or a request cancelled meanwhile).
    #[error("refused by the program in simulation: {0}")]
    ProgramRefused(RpcFailure),
    /// Any other failure: the node, the fee payer or the blockhash (a simulation can fail for
    /// those too, before any instruction runs).
    #[error(transparent)]
    Failed(#[from] RpcFailure),
}

/// Sends a lock transaction with preflight: a lock whose request is already locked (an earlier
/// lock landed) fails simulation and costs nothing.
pub async fn send_lock(rpc: &RpcClient, signed: &SignedSettle) -> Result<(), LockNotSent> {
    let transaction = decode(&signed.base64)?;
    let sent = rpc
        .send_transaction_with_config(
            &transaction,
            RpcSendTransactionConfig {
                encoding: Some(UiTransactionEncoding::Base64),
                preflight_commitment: Some(CommitmentConfig::processed().commitment),
                ..RpcSendTransactionConfig::default()
            },
        )
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(error) => {
            let refusal = error.get_transaction_error();
            if refused_as_not_authority(refusal.clone()) {
                return Err(LockNotSent::NotSettlementAuthority);
            }
            let failure = RpcFailure::new("sendTransaction", error);
            Err(match refusal {
                Some(TransactionError::InstructionError(..)) => {
                    LockNotSent::ProgramRefused(failure)
                }
                _ => LockNotSent::Failed(failure),
            })
        }
    }
}

/// Token-2022's `TokenError::MintPaused`, as an instruction that called it fails with.
const MINT_PAUSED: u32 = 67;

/// Whether `error` is Token-2022's refusal to move a paused mint's tokens, in any instruction
/// (allot's own codes start at 6000, Anchor's at 100: a code this low is a called program's).
pub fn failed_on_paused_mint(error: &TransactionError) -> bool {
    matches!(
        error,
        TransactionError::InstructionError(_, InstructionError::Custom(MINT_PAUSED))
    )
}

/// Whether `error` is allot's `NotSettlementAuthority`, in any instruction.
fn refused_as_not_authority(error: Option<TransactionError>) -> bool {
    let code = u32::from(allot::error::AllotError::NotSettlementAuthority);
    matches!(
        error,
        Some(TransactionError::InstructionError(_, InstructionError::Custom(c))) if c == code
    )
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

/// Where the transaction `signature`, valid up to `last_valid_height`, is (landed once it
/// satisfies `landed_at`). The finalized block height is read before the status, so "expired"
/// is only said when no block that could still carry it is unseen.
pub async fn status(
    rpc: &RpcClient,
    signature: &str,
    last_valid_height: u64,
    landed_at: CommitmentConfig,
) -> Result<SettleStatus, RpcFailure> {
    statuses(rpc, &[(signature, last_valid_height)], landed_at)
        .await?
        .pop()
        .unwrap_or_else(|| Err(RpcFailure::new("getSignatureStatuses", "no answer")))
}

/// Most signatures one `getSignatureStatuses` call may name (the node's limit).
pub const MAX_STATUSES_PER_CALL: usize = 256;

/// Where each of the transactions `sent` (a signature and the block height it is valid up to)
/// is, in order: one finalized block height, read first, then one `getSignatureStatuses` call
/// for up to [`MAX_STATUSES_PER_CALL`] signatures; one counts as landed once it satisfies
/// `landed_at` (seen before that: processed). A stored signature that does not parse is its own
/// error; a failed call fails them all.
pub async fn statuses(
    rpc: &RpcClient,
    sent: &[(&str, u64)],
    landed_at: CommitmentConfig,
) -> Result<Vec<Result<SettleStatus, RpcFailure>>, RpcFailure> {
    let parsed: Vec<Result<Signature, RpcFailure>> = sent
        .iter()
        .map(|(signature, _)| {
            signature.parse().map_err(|e| {
                RpcFailure::new(
                    "getSignatureStatuses",
                    format!("stored signature {signature}: {e}"),
                )
            })
        })
        .collect();
    let valid: Vec<Signature> = parsed.iter().flatten().copied().collect();
    if valid.is_empty() {
        // Every one failed to parse: nothing to ask the node.
        return Ok(parsed
            .into_iter()
            .filter_map(Result::err)
            .map(Err)
            .collect());
    }
    let finalized_height = rpc
        .get_block_height_with_commitment(CommitmentConfig::finalized())
        .await
        .method("getBlockHeight")?;
    let mut found = Vec::with_capacity(valid.len());
    for chunk in valid.chunks(MAX_STATUSES_PER_CALL) {
        let answered = rpc
            .get_signature_statuses_with_history(chunk)
            .await
            .method("getSignatureStatuses")?
            .value;
        if answered.len() != chunk.len() {
            return Err(RpcFailure::new(
                "getSignatureStatuses",
                format!(
                    "the node answered {} statuses for {} signatures",
                    answered.len(),
                    chunk.len()
                ),
            ));
        }
        found.extend(answered);
    }
    let last_valid: Vec<u64> = sent.iter().map(|(_, height)| *height).collect();
    Ok(fates(
        parsed,
        &last_valid,
        found,
        finalized_height,
        landed_at,
    ))
}

/// Each transaction's fate, in order: `parsed` its signature (an error stays its own),
/// `last_valid` the block height it is valid up to, `found` the node's answers for the parsed
/// signatures alone, in their order, read when the finalized chain was `finalized_height` high;
/// landed once at `landed_at`.
fn fates(
    parsed: Vec<Result<Signature, RpcFailure>>,
    last_valid: &[u64],
    found: Vec<Option<TransactionStatus>>,
    finalized_height: u64,
    landed_at: CommitmentConfig,
) -> Vec<Result<SettleStatus, RpcFailure>> {
    let mut found = found.into_iter();
    parsed
        .into_iter()
        .zip(last_valid)
        .map(|(signature, last_valid_height)| {
            signature?;
            let status = found.next().flatten();
            Ok(status_of(
                status,
                finalized_height,
                *last_valid_height,
                landed_at,
            ))
        })
        .collect()
}

/// What a signature's `status` (`None`: the node knows none) says of its transaction, valid up
/// to `last_valid_height`, when the finalized chain is `finalized_height` blocks high: landed
/// (succeeded or failed) once it satisfies `landed_at`, processed before.
fn status_of(
    status: Option<TransactionStatus>,
    finalized_height: u64,
    last_valid_height: u64,
    landed_at: CommitmentConfig,
) -> SettleStatus {
    match status {
        Some(found) if found.satisfies_commitment(landed_at) => match found.err {
            None => SettleStatus::Succeeded,
            Some(error) if failed_on_paused_mint(&error) => SettleStatus::Paused(error.to_string()),
            Some(error) => SettleStatus::Failed(error.to_string()),
        },
        Some(_) => SettleStatus::Processed,
        None if finalized_height > last_valid_height => SettleStatus::Expired,
        None => SettleStatus::InFlight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::instruction::Instruction;

    /// Only allot's own refusal of the signer reads as a lost authority: another program error,
    /// another runtime error or none at all is an ordinary failure.
    #[test]
    fn a_lost_authority_is_told_from_other_refusals() {
        let custom = |code| TransactionError::InstructionError(1, InstructionError::Custom(code));
        let lost = u32::from(allot::error::AllotError::NotSettlementAuthority);
        let pending = u32::from(allot::error::AllotError::RequestNotPending);
        assert!(refused_as_not_authority(Some(custom(lost))));
        assert!(!refused_as_not_authority(Some(custom(pending))));
        assert!(!refused_as_not_authority(Some(
            TransactionError::AccountNotFound
        )));
        assert!(!refused_as_not_authority(None));
    }

    /// Only Token-2022's paused-mint refusal reads as a pause; allot's own codes do not.
    #[test]
    fn a_paused_mint_is_told_from_other_failures() {
        let custom = |code| TransactionError::InstructionError(0, InstructionError::Custom(code));
        assert!(failed_on_paused_mint(&custom(67)));
        assert!(!failed_on_paused_mint(&custom(1)));
        assert!(!failed_on_paused_mint(&custom(6_067)));
        assert!(!failed_on_paused_mint(&TransactionError::AccountNotFound));
    }

    /// A transaction status seen at `confirmation`, failed with `err` if any.
    fn seen(
        confirmation: solana_transaction_status_client_types::TransactionConfirmationStatus,
        err: Option<TransactionError>,
    ) -> Option<TransactionStatus> {
        use solana_transaction_status_client_types::TransactionConfirmationStatus::Finalized;
        Some(TransactionStatus {
            slot: 1,
            // A node reports no count of confirmations once a transaction is finalized.
            confirmations: (confirmation != Finalized).then_some(1),
            status: err.clone().map_or(Ok(()), Err),
            err,
            confirmation_status: Some(confirmation),
        })
    }

    /// A settle transaction is settled or failed only once confirmed (finalized, when asked),
    /// and expired only once the finalized chain is past its last valid height without it; one
    /// seen before that is processed (not resent), and one unseen before then is in flight
    /// (resent).
    #[test]
    fn a_status_is_read_as_the_transactions_fate() {
        use solana_transaction_status_client_types::TransactionConfirmationStatus::{
            Confirmed, Finalized, Processed,
        };
        let paused = TransactionError::InstructionError(0, InstructionError::Custom(67));
        let failed = TransactionError::InstructionError(0, InstructionError::Custom(1));
        let confirmed = CommitmentConfig::confirmed();
        assert_eq!(
            status_of(seen(Confirmed, None), 0, 10, confirmed),
            SettleStatus::Succeeded
        );
        assert_eq!(
            status_of(seen(Processed, None), 20, 10, confirmed),
            SettleStatus::Processed
        );
        assert_eq!(
            status_of(seen(Confirmed, Some(paused.clone())), 0, 10, confirmed),
            SettleStatus::Paused(paused.to_string())
        );
        assert_eq!(
            status_of(seen(Confirmed, Some(failed.clone())), 0, 10, confirmed),
            SettleStatus::Failed(failed.to_string())
        );
        assert_eq!(status_of(None, 10, 10, confirmed), SettleStatus::InFlight);
        assert_eq!(status_of(None, 11, 10, confirmed), SettleStatus::Expired);
        // A bridge paying on confirmed locks counts a settlement landed only once finalized: a
        // confirmed one is still processed (followed, not resent).
        let finalized = CommitmentConfig::finalized();
        assert_eq!(
            status_of(seen(Confirmed, None), 0, 10, finalized),
            SettleStatus::Processed
        );
        assert_eq!(
            status_of(seen(Finalized, None), 0, 10, finalized),
            SettleStatus::Succeeded
        );
        assert_eq!(
            status_of(seen(Finalized, Some(failed.clone())), 0, 10, finalized),
            SettleStatus::Failed(failed.to_string())
        );
    }

    /// Signatures that did not parse keep their own errors, and the node's answers (for the
    /// parsed ones only) go to the right transactions around them.
    #[test]
    fn each_answer_goes_to_its_own_transaction() {
        use solana_transaction_status_client_types::TransactionConfirmationStatus::Confirmed;
        let bad = || {
            Err(RpcFailure::new(
                "getSignatureStatuses",
                "stored signature x",
            ))
        };
        let parsed = vec![
            bad(),
            Ok(Signature::default()),
            bad(),
            Ok(Signature::default()),
            Ok(Signature::default()),
        ];
        let found = vec![seen(Confirmed, None), None, None];
        let last_valid = [100, 100, 100, 100, 5];
        let fates: Vec<Option<SettleStatus>> = fates(
            parsed,
            &last_valid,
            found,
            50,
            CommitmentConfig::confirmed(),
        )
        .into_iter()
        .map(Result::ok)
        .collect();
        assert_eq!(
            fates,
            [
                None,
                Some(SettleStatus::Succeeded),
                None,
                Some(SettleStatus::InFlight),
                Some(SettleStatus::Expired),
            ]
        );
    }

    /// The settlements of requests 0..`count` of `pool`, paid off chain, signed by `authority`.
    fn settlements(authority: &Pubkey, pool: &Pubkey, count: u64) -> Vec<Instruction> {
        (0..count)
            .map(|id| {
                let args = ExchangeSettleArgs {
                    payout_reference: [7; 32],
                    paid_amount: 10,
                    expected_created_at: 0,
                };
                instructions::exchange_settle(authority, pool, id, args, None)
            })
            .collect()
    }

    /// A stored transaction of `settles` settlements (and a compute budget), as base64.
    fn stored(settles: u64) -> String {
        let authority = Pubkey::new_unique();
        let pool = Pubkey::new_unique();
        let mut all = settle_budget(&[], Some(1)).instructions();
        all.extend(settlements(&authority, &pool, settles));
        all.push(instructions::exchange_lock(&authority, &pool, 99, 0));
        let transaction = Transaction::new_with_payer(&all, Some(&authority));
        BASE64.encode(bincode::serialize(&transaction).unwrap())
    }

    #[test]
    fn settlements_are_counted_in_a_stored_transaction() {
        assert_eq!(settles_in(&stored(1)), 1);
        assert_eq!(settles_in(&stored(2)), 2);
        assert_eq!(settles_in(&stored(0)), 0, "a lock is not a settlement");
        assert_eq!(settles_in("not a transaction"), 0);
    }

    #[test]
    fn seven_off_chain_settlements_fit_a_packet_and_the_compute_ceiling() {
        assert_eq!(max_settles(SETTLE_UNITS), 7);
        assert_eq!(max_settles(SETTLE_WITH_PAYOUT_UNITS), 3);
        // Seven requests of one pool, as the worker gathers them, with the budget's two
        // instructions: under 1,232 bytes.
        let authority = Pubkey::new_unique();
        let pool = Pubkey::new_unique();
        let mut all = ComputeBudget {
            unit_limit: Some(SETTLE_UNITS * 7),
            unit_price_micro_lamports: Some(1),
        }
        .instructions();
        all.extend(settlements(&authority, &pool, 7));
        assert!(fits_in_a_packet(&authority, &all));
    }
}
