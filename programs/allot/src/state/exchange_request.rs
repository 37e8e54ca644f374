//! An exchange request: a user's units in escrow, waiting for the bridge to pay and settle.

use anchor_lang::prelude::*;

/// Where a request is in its life. Only `Pending` moves; the others are final.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    /// Units escrowed, waiting for payment.
    Pending,
    /// Paid and settled by the settlement authority.
    Settled,
    /// Cancelled by the user after the timeout; units returned.
    Cancelled,
    /// Rejected by the settlement authority; units returned.
    Rejected,
}

/// A durable exchange request. PDA: `[SEED_EXCHANGE_REQUEST, pool, id (u64 LE)]`; ids come from
/// the pool's counter and are never reused, so a closed request's address is never reopened.
#[account]
#[derive(InitSpace, Debug)]
pub struct ExchangeRequest {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool exchanged against.
    pub pool: Pubkey,
    /// The request's id in the pool.
    pub id: u64,
    /// The user who requested (and receives the funds and any returned units).
    pub user: Pubkey,
    /// Who paid the account's rent (gets it back when the request is closed).
    pub rent_payer: Pubkey,
    /// Units escrowed.
    pub amount: u64,
    /// The rate in force at request time (funds minor units per base unit × `RATE_SCALE`).
    pub rate: u64,
    /// Funds owed, in the currency's minor units, rounded down.
    pub quoted: u64,
    /// When it was requested (unix seconds).
    pub created_at: i64,
    /// Its status.
    pub status: RequestStatus,
    /// When it became final (unix seconds; 0 while pending).
    pub finalized_at: i64,
    /// Hash of the payment platform's transaction id (settled requests).
    pub payout_reference: [u8; 32],
    /// Funds actually paid (settled requests).
    pub paid_amount: u64,
    /// Reason code given by the settlement authority (rejected requests).
    pub reject_reason: u16,
}

impl ExchangeRequest {
    /// Whether the request is final (settled, cancelled or rejected).
    pub fn is_final(&self) -> bool {
        self.status != RequestStatus::Pending
    }
}
