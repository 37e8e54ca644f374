//! A profit report: what the operator's service earned in a period, recorded on chain.

use anchor_lang::prelude::*;

/// One period's service profit. PDA: `[SEED_PROFIT_REPORT, pool, period (u64 LE)]`. Immutable.
#[account]
#[derive(InitSpace, Debug)]
pub struct ProfitReport {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool whose service earned it.
    pub pool: Pubkey,
    /// The allocation period reported.
    pub period: u64,
    /// Profit in the currency's minor units (e.g. cents).
    pub amount: u64,
    /// ISO 4217 code of the amount.
    pub currency: [u8; 3],
    /// Hash of the off-chain profit statement.
    pub evidence_hash: [u8; 32],
    /// When it was recorded (unix seconds).
    pub reported_at: i64,
    /// The pool's rate after this report (unchanged under fixed pricing).
    pub rate_after: u64,
}
