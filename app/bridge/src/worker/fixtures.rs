//! Exchange requests for the worker's unit tests.

use allot::state::{ExchangeRequest, RequestStatus};
use anchor_lang::prelude::Pubkey;

/// Request `id` in `status`: 5 units quoted at 5 US cents, locked at 0 for a day when locked.
pub fn request(id: u64, status: RequestStatus) -> ExchangeRequest {
    ExchangeRequest {
        bump: 255,
        pool: Pubkey::new_unique(),
        id,
        user: Pubkey::new_unique(),
        rent_payer: Pubkey::new_unique(),
        amount: 5,
        rate: 1,
        quoted: 5,
        created_at: 0,
        status,
        finalized_at: 0,
        payout_reference: [0; 32],
        paid_amount: 0,
        reject_reason: 0,
        payout_mint: None,
        currency: *b"USD",
        currency_digits: 2,
        cancel_after: 0,
        lock_timeout_seconds: 86_400,
        locked_at: 0,
        payout_base_units: 0,
        locked_by: Pubkey::default(),
        own_units: 0,
    }
}
