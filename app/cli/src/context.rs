//! What every command gets: the chain, the signer, and the checks shared by the commands (the pool
//! exists, the signer holds the role) — run before anything is sent.

use allot::state::Pool;
use allot_client::accounts;
use allot_client::chain::{Chain, ChainError};
use allot_client::compute_budget::ComputeBudget;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use solana_sdk::instruction::Instruction;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signature, Signer};

use crate::sender;

/// Lamports one signature costs.
pub const SIGNATURE_FEE: u64 = 5_000;

/// The chain and the signer a command runs with.
pub struct Context<'a, C: Chain> {
    /// Where accounts come from and transactions go.
    pub chain: &'a C,
    /// The `--keypair`: pays fees and signs in its role.
    pub signer: Keypair,
    /// `--with-compute-unit-price`: the priority fee of every transaction the command sends, in
    /// micro-lamports per compute unit (`None`: none).
    pub unit_price_micro_lamports: Option<u64>,
}

impl<C: Chain> Context<'_, C> {
    /// The signer's key.
    pub fn me(&self) -> Pubkey {
        self.signer.pubkey()
    }

    /// Sends `instructions`, paid by the signer and signed by it and `signers`, at the command's
    /// priority fee (see [`sender::send_with_tables`]).
    pub async fn send(
        &self,
        signers: &[&Keypair],
        instructions: &[Instruction],
    ) -> Result<Signature, ChainError> {
        self.send_with_tables(signers, instructions, &[]).await
    }

    /// [`Context::send`], loading accounts from lookup `tables`.
    pub async fn send_with_tables(
        &self,
        signers: &[&Keypair],
        instructions: &[Instruction],
        tables: &[AddressLookupTableAccount],
    ) -> Result<Signature, ChainError> {
        sender::send_with_tables(
            self.chain,
            &self.signer,
            signers,
            instructions,
            tables,
            self.unit_price_micro_lamports,
        )
        .await
    }

    /// The pool at `address`, or an error saying nothing is there.
    pub async fn pool(&self, address: &Pubkey) -> Result<Pool> {
        accounts::fetch::<Pool>(self.chain, *address)
            .await
            .with_context(|| format!("cannot read pool {address}"))?
            .with_context(|| {
                format!("no pool at {address} on this cluster (check --pool and --url)")
            })
    }

    /// The pool at `address`, checking that the signer is its operator.
    pub async fn operated_pool(&self, address: &Pubkey) -> Result<Pool> {
        let pool = self.pool(address).await?;
        ensure!(
            pool.operator == self.me(),
            "keypair {} is not the operator of pool {address} (the operator is {}); pass the \
             operator's --keypair",
            self.me(),
            pool.operator
        );
        Ok(pool)
    }

    /// Refuses early when the signer cannot pay `signatures` fees (with the priority fee of a
    /// transaction that reserves [`sender::COMPUTE_UNITS_PER_INSTRUCTION`] each) plus rent for
    /// accounts of `account_sizes` bytes.
    pub async fn ensure_can_pay(&self, signatures: u64, account_sizes: &[usize]) -> Result<()> {
        let rent = Rent::default();
        let priority_fee = ComputeBudget {
            unit_limit: Some(sender::COMPUTE_UNITS_PER_INSTRUCTION),
            unit_price_micro_lamports: self.unit_price_micro_lamports,
        }
        .priority_fee_lamports(sender::COMPUTE_UNITS_PER_INSTRUCTION);
        let needed = account_sizes
            .iter()
            .map(|size| rent.minimum_balance(*size))
            .fold(
                SIGNATURE_FEE
                    .saturating_add(priority_fee)
                    .saturating_mul(signatures),
                u64::saturating_add,
            );
        sender::ensure_can_pay(self.chain, &self.me(), needed).await
    }

    /// The chain's current unix time and the pool's period at that time.
    pub async fn now_and_period(&self, pool: &Pool) -> Result<(i64, u64)> {
        let now = self.chain.unix_timestamp().await?;
        let period = pool
            .period_at(now)
            .map_err(|e| anyhow::anyhow!("period of pool: {e}"))?;
        Ok((now, period))
    }
}
