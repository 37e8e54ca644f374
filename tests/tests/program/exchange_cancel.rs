//! `exchange_cancel`: the user takes the escrowed units back once the settlement authority has let
//! the timeout pass, and a cancelled request can no longer be settled.

use allot::error::AllotError;
use allot::events::ExchangeCancelled;
use allot::state::{AllocationRecord, RequestStatus};
use allot_client::events::AllotEvent;
use allot_client::instructions;
use allot_client::pdas;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::Market;

#[tokio::test]
async fn user_cancels_after_the_timeout_and_not_before() {
    let (mut m, id) = Market::with_pending_request().await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let watched = m.request_accounts(0, id);
    m.chain.advance_time(3_599).await;
    let early = AllotError::CancelTooEarly;
    m.expect_refused(&[m.cancel_ix(0, id)], &[&user], early, &watched)
        .await;
    // Someone else cannot cancel it.
    let other = Keypair::new();
    let mut ix = instructions::exchange_cancel(&other.pubkey(), &pool, id);
    ix.accounts[4].pubkey = m.user_token(0);
    m.chain.advance_time(1).await;
    let failure = m.send(&[ix], &[&other]).await.unwrap_err();
    assert!(failure.custom_code().is_some(), "{:?}", failure.error);
    let now = m.chain.clock().await.unix_timestamp;
    let events = m.cancel(0, id).await;
    assert_eq!(
        events,
        vec![AllotEvent::ExchangeCancelled(ExchangeCancelled {
            pool,
            request: pdas::exchange_request(&pool, id),
            id,
            user: user.pubkey(),
            amount: 60,
            cancelled_at: now,
        })]
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 100);
    assert_eq!(m.request_state(id).await.status, RequestStatus::Cancelled);
    let record: AllocationRecord = m
        .chain
        .fetch(pdas::allocation_record(&pool, &user.pubkey()))
        .await;
    assert_eq!(record.exchanged, 0);
    // A cancelled request cannot be settled.
    let bridge = m.bridge.insecure_clone();
    let ix = m.settle_ix(id, 120, None).await;
    m.expect_refused(&[ix], &[&bridge], AllotError::RequestNotPending, &watched)
        .await;
}
