//! Exchange caps come back with the units (audit finding of issue #18): a cancelled or rejected
//! request no longer counts against the per-user or the per-period cap of the period it was made
//! in, while settled and open requests still do.

use allot::error::AllotError;
use allot::state::{AllocationRecord, Pool};
use allot_client::instructions;
use allot_client::pdas;
use solana_sdk::signature::Signer;

use crate::market::Market;

#[tokio::test]
async fn cancelled_and_rejected_requests_give_their_caps_back() {
    let mut m = Market::open(2, |c| {
        c.per_user_period_cap = 60;
        c.per_period_cap = 100;
    })
    .await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();

    // User 0 takes the whole per-user cap; the settlement authority rejects the request.
    let (rejected, _) = m.request(0, 60).await.unwrap();
    m.reject(&bridge, rejected, 0, 7).await;
    assert_eq!(requested_counts(&mut m).await, (0, 0));

    // In the same period the cap is whole again for the user, and for the pool beside user 1.
    let (cancelled, _) = m.request(0, 60).await.unwrap();
    m.request(1, 40).await.unwrap();
    assert_eq!(requested_counts(&mut m).await, (60, 100));

    // The user cancels once allowed: both caps get the 60 units back.
    m.chain.advance_time(3_600).await;
    m.cancel(0, cancelled).await;
    assert_eq!(requested_counts(&mut m).await, (0, 40));
    let (_, _) = m.request(0, 60).await.unwrap();
    assert_eq!(requested_counts(&mut m).await, (60, 100));
    m.conserved().await;

    // Open requests still count: the pool's cap for the period is used up.
    let state: Pool = m.chain.fetch(pool).await;
    let next = state.exchange_state.requests_opened;
    let other = m.users[1].insecure_clone();
    let watched = [
        pool,
        pdas::escrow(&pool),
        m.user_token(1),
        pdas::exchange_request(&pool, next),
    ];
    let ix = instructions::exchange_request(&other.pubkey(), &other.pubkey(), &pool, next, 1);
    m.expect_refused(&[ix], &[&other], AllotError::PeriodCapExceeded, &watched)
        .await;
}

#[tokio::test]
async fn a_request_cancelled_in_a_later_period_leaves_that_periods_caps_alone() {
    let mut m = Market::open(2, |c| {
        c.per_user_period_cap = 60;
        c.per_period_cap = 100;
    })
    .await;

    // User 0 requests in one period; in the next, user 1 requests 40 of the pool's 100.
    let (old, _) = m.request(0, 60).await.unwrap();
    m.chain.advance_time(allot_tests::PERIOD).await;
    m.request(1, 40).await.unwrap();
    assert_eq!(requested_counts(&mut m).await, (60, 40));

    // Cancelling the old request returns its units to the old period's counts only: the pool's
    // count of this period keeps user 1's 40 (it would have underflowed, refusing the cancel).
    m.cancel(0, old).await;
    assert_eq!(requested_counts(&mut m).await, (0, 40));

    // User 0's cap of this period is whole, and the pool's has 60 left for it.
    m.request(0, 60).await.unwrap();
    assert_eq!(requested_counts(&mut m).await, (60, 100));
    m.conserved().await;
}

/// User 0's units requested this period, and the pool's.
async fn requested_counts(m: &mut Market) -> (u64, u64) {
    let record: AllocationRecord = m
        .chain
        .fetch(pdas::allocation_record(
            &m.fixture.pool,
            &m.users[0].pubkey(),
        ))
        .await;
    let pool: Pool = m.chain.fetch(m.fixture.pool).await;
    (
        record.period_requested,
        pool.exchange_state.period_requested,
    )
}
