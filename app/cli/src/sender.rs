//! Building, signing and sending transactions: v0 messages, a compute-unit limit measured by
//! simulation (with the client library's margin), an optional priority fee, and a fresh
//! blockhash when one expires before the transaction lands.

use allot_client::chain::{Chain, ChainError};
use allot_client::compute_budget::ComputeBudget;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, ensure};
use solana_sdk::instruction::Instruction;
use solana_sdk::message::{AddressLookupTableAccount, VersionedMessage, v0};
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{TransactionError, VersionedTransaction};

pub use allot_client::instructions::MAX_TRANSACTION_BYTES;

/// The most accounts one transaction may lock.
pub const MAX_TRANSACTION_ACCOUNTS: usize = 64;

/// Compute units reserved per instruction when a transaction cannot be simulated (it will then
/// fail when sent, which reports why; an allocation with an associated-account creation and two
/// CPIs stays well below).
pub const COMPUTE_UNITS_PER_INSTRUCTION: u32 = 120_000;

/// How many times a transaction is rebuilt with a new blockhash after its blockhash expired.
const BLOCKHASH_RETRIES: usize = 3;

/// The largest compute budget a transaction carries (a limit and a price): what size checks
/// count, so that a transaction packed to fit still fits with its budget.
pub fn largest_budget() -> ComputeBudget {
    ComputeBudget::for_simulation(Some(1))
}

/// Signs `instructions` (preceded by `budget`) into a v0 transaction paid by `payer`, loading
/// from `tables` the accounts they hold.
pub fn build_transaction(
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
    tables: &[AddressLookupTableAccount],
    blockhash: solana_sdk::hash::Hash,
    budget: ComputeBudget,
) -> Result<VersionedTransaction> {
    let all = budget.apply(instructions);
    let message = v0::Message::try_compile(&payer.pubkey(), &all, tables, blockhash)
        .context("the instructions do not compile into a transaction message")?;
    let mut keys: Vec<&Keypair> = vec![payer];
    keys.extend(signers.iter().filter(|k| k.pubkey() != payer.pubkey()));
    VersionedTransaction::try_new(VersionedMessage::V0(message), &keys)
        .context("signing the transaction")
}

/// Whether the transaction fits the network's size and account-lock limits (counting the
/// accounts it loads from lookup tables).
pub fn fits(transaction: &VersionedTransaction) -> bool {
    let loaded: usize = transaction
        .message
        .address_table_lookups()
        .unwrap_or_default()
        .iter()
        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
        .sum();
    bincode_size(transaction) <= MAX_TRANSACTION_BYTES
        && transaction.message.static_account_keys().len() + loaded <= MAX_TRANSACTION_ACCOUNTS
}

/// Serialized size of a transaction.
pub fn bincode_size(transaction: &VersionedTransaction) -> usize {
    bincode::serialized_size(transaction).map_or(usize::MAX, |s| s as usize)
}

/// Sends `instructions` signed by `payer` and `signers` without a priority fee (see
/// [`send_with_tables`]). Returns the landed signature.
pub async fn send(
    chain: &impl Chain,
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
) -> Result<Signature, ChainError> {
    send_with_tables(chain, payer, signers, instructions, &[], None).await
}

/// Sends `instructions` signed by `payer` and `signers`, loading accounts from lookup `tables`,
/// with a compute-unit limit measured by simulating them and, when `unit_price_micro_lamports`
/// is set, that priority fee; rebuilds with a fresh blockhash when the previous one expired.
/// Returns the landed signature.
pub async fn send_with_tables(
    chain: &impl Chain,
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
    tables: &[AddressLookupTableAccount],
    unit_price_micro_lamports: Option<u64>,
) -> Result<Signature, ChainError> {
    let build = |blockhash, budget| {
        build_transaction(payer, signers, instructions, tables, blockhash, budget).map_err(|e| {
            ChainError::Request {
                method: "buildTransaction",
                reason: format!("{e:#}"),
            }
        })
    };
    let mut blockhash = chain.latest_blockhash().await?;
    // A simulation the node could not run (a rate limit, a timeout) only means no measured
    // limit: nothing was sent, and the send itself reports what is wrong.
    let simulated = chain
        .simulated_units(build(
            blockhash,
            ComputeBudget::for_simulation(unit_price_micro_lamports),
        )?)
        .await
        .unwrap_or(None);
    let reserved = COMPUTE_UNITS_PER_INSTRUCTION
        .saturating_mul(u32::try_from(instructions.len()).unwrap_or(u32::MAX));
    let budget = ComputeBudget::measured(simulated, reserved, unit_price_micro_lamports);
    let mut attempt = 0;
    loop {
        match chain.send(build(blockhash, budget)?).await {
            Err(ChainError::Transaction {
                error: TransactionError::BlockhashNotFound,
                ..
            }) if attempt < BLOCKHASH_RETRIES => {
                attempt += 1;
                blockhash = chain.latest_blockhash().await?;
            }
            other => return other,
        }
    }
}

/// Refuses early, with the numbers, when `payer` cannot cover `lamports` of fees and rent.
pub async fn ensure_can_pay(chain: &impl Chain, payer: &Pubkey, lamports: u64) -> Result<()> {
    let balance = chain
        .account(*payer)
        .await?
        .map_or(0, |account| account.lamports);
    ensure!(
        balance >= lamports,
        "insufficient funds: {payer} holds {} SOL, this needs about {} SOL (fees and rent)",
        sol(balance),
        sol(lamports)
    );
    Ok(())
}

/// Lamports as SOL text, without floating point.
pub fn sol(lamports: u64) -> String {
    format!(
        "{}.{:09}",
        lamports / 1_000_000_000,
        lamports % 1_000_000_000
    )
}
