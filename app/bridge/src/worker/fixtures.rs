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

/// A stored row of a request sent to settle, for tests that look only at a few of its columns.
pub fn stored_row() -> crate::store::StoredRequest {
    let address = Pubkey::new_unique().to_string();
    crate::store::StoredRequest {
        stored_payout_key: Some(crate::http_provider::idempotency_key(&address, 0)),
        address,
        pool: Pubkey::new_unique().to_string(),
        request_id: 1,
        user_key: Pubkey::new_unique().to_string(),
        amount: 5,
        rate: 1,
        quoted: 5,
        currency: "USD".into(),
        created_at: 0,
        discovered_signature: None,
        discovered_slot: 0,
        discovered_at_ms: 0,
        state_name: "settle_sent".into(),
        quote: Some(5),
        payment_id: None,
        payout_attempts: 0,
        settle_tx: None,
        settle_signature: None,
        settle_last_valid_height: None,
        settled_at_ms: None,
        review_reason: None,
        claimed_by: None,
        next_attempt_ms: 0,
        settle_sent_ms: None,
    }
}

/// The row the bridge stored from `request`'s event, quoted and free.
pub fn row_of(request: &ExchangeRequest) -> crate::store::StoredRequest {
    let row = stored_row();
    crate::store::StoredRequest {
        stored_payout_key: Some(crate::http_provider::idempotency_key(
            &row.address,
            request.created_at,
        )),
        pool: request.pool.to_string(),
        request_id: i64::try_from(request.id).unwrap(),
        user_key: request.user.to_string(),
        amount: i64::try_from(request.amount).unwrap(),
        quoted: i64::try_from(request.quoted).unwrap(),
        currency: String::from_utf8_lossy(&request.currency).into_owned(),
        created_at: request.created_at,
        state_name: "quoted".into(),
        ..row
    }
}
