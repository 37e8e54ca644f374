//! Building, signing and sending transactions: v0 messages, a compute-unit limit sized to the
//! instructions, and a fresh blockhash when one expires before the transaction lands.

use allot_client::chain::{Chain, ChainError};
use allot_client::compute_budget::ComputeBudget;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, ensure};
use solana_sdk::instruction::Instruction;
use solana_sdk::message::{AddressLookupTableAccount, VersionedMessage, v0};
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{TransactionError, VersionedTransaction};

/// The most bytes a serialized transaction may take (the network's packet limit).
pub const MAX_TRANSACTION_BYTES: usize = 1232;

/// The most accounts one transaction may lock.
pub const MAX_TRANSACTION_ACCOUNTS: usize = 64;

/// Compute units reserved per allot instruction (allocation with an associated-account creation
/// and two CPIs stays well below; the limit only caps what a transaction may burn).
pub const COMPUTE_UNITS_PER_INSTRUCTION: u32 = 120_000;

/// How many times a transaction is rebuilt with a new blockhash after its blockhash expired.
const BLOCKHASH_RETRIES: usize = 3;

/// Signs `instructions` (preceded by a compute-unit limit) into a v0 transaction paid by `payer`,
/// loading from `tables` the accounts they hold.
pub fn build_transaction(
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
    tables: &[AddressLookupTableAccount],
    blockhash: solana_sdk::hash::Hash,
) -> Result<VersionedTransaction> {
    let units = COMPUTE_UNITS_PER_INSTRUCTION
        .saturating_mul(u32::try_from(instructions.len()).unwrap_or(u32::MAX));
    let budget = ComputeBudget {
        unit_limit: Some(units),
        unit_price_micro_lamports: None,
    };
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

/// Sends `instructions` signed by `payer` and `signers`, rebuilding with a fresh blockhash when
/// the previous one expired. Returns the landed signature.
pub async fn send(
    chain: &impl Chain,
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
) -> Result<Signature, ChainError> {
    send_with_tables(chain, payer, signers, instructions, &[]).await
}

/// [`send`], loading accounts from lookup `tables`.
pub async fn send_with_tables(
    chain: &impl Chain,
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
    tables: &[AddressLookupTableAccount],
) -> Result<Signature, ChainError> {
    let mut attempt = 0;
    loop {
        let blockhash = chain.latest_blockhash().await?;
        let transaction = build_transaction(payer, signers, instructions, tables, blockhash)
            .map_err(|e| ChainError::Request {
                method: "buildTransaction",
                reason: format!("{e:#}"),
            })?;
        match chain.send(transaction).await {
            Err(ChainError::Transaction {
                error: TransactionError::BlockhashNotFound,
                ..
            }) if attempt < BLOCKHASH_RETRIES => attempt += 1,
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
