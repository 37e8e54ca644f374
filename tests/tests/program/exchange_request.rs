//! `exchange_request`: a holder's units go into escrow with everything the settlement authority
//! needs, and requests outside the pool's conditions are refused — with a conservation check
//! after every step.

use allot::constants::{MAX_REQUEST_ID, RATE_SCALE};
use allot::error::AllotError;
use allot::events::ExchangeRequested;
use allot::state::{AllocationRecord, RequestStatus, ResourceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions;
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain, exchange_config};
use solana_sdk::signature::Signer;

use crate::market::Market;

#[tokio::test]
async fn request_escrows_units_and_records_everything_the_bridge_needs() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let now = m.chain.clock().await.unix_timestamp;
    let (id, events) = m.request(0, 60).await.unwrap();
    let request_address = pdas::exchange_request(&pool, id);
    assert_eq!(
        events,
        vec![AllotEvent::ExchangeRequested(ExchangeRequested {
            pool,
            request: request_address,
            id: 0,
            user,
            kind: ResourceKind::VirtualStock,
            amount: 60,
            rate: 2 * RATE_SCALE,
            unit_value: 2 * RATE_SCALE,
            quoted: 120,
            currency: *b"USD",
            currency_digits: 2,
            payout_mint: None,
            created_at: now,
            cancel_after: now + 3_600,
            debt_repaid: 0,
        })]
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 40);
    assert_eq!(m.chain.token_balance(pdas::escrow(&pool)).await, 60);
    let request = m.request_state(id).await;
    assert_eq!(
        (request.user, request.amount, request.quoted, request.status),
        (user, 60, 120, RequestStatus::Pending)
    );
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!(record.exchanged, 60);
    m.conserved().await;
    // A second request, its id the count of requests (the tests' naming; clients draw one).
    let (second, _) = m.request(1, 10).await.unwrap();
    assert_eq!(second, 1);
    assert_eq!(
        m.fixture
            .state(&mut m.chain)
            .await
            .exchange_state
            .requests_opened,
        2
    );
    m.conserved().await;
}

/// Users requesting at once never race for an address: each request is named by its client's
/// random id, not a counter read before signing. Two users' requests built against the same pool
/// state land together, in one transaction (with the pool's counter in the seeds, the second
/// one's address was stale the moment the first landed: `ConstraintSeeds`, after signing).
#[tokio::test]
async fn users_requesting_at_once_each_get_their_own_request() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let ids = [
        allot_client::request_id::random(),
        allot_client::request_id::random(),
    ];
    let both = [m.request_ix(0, ids[0], 60), m.request_ix(1, ids[1], 30)];
    let (first, second) = (m.users[0].insecure_clone(), m.users[1].insecure_clone());
    let events = m.send_ok(&both, &[&first, &second]).await;
    let requested: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AllotEvent::ExchangeRequested(r) => Some((r.id, r.user, r.amount, r.request)),
            _ => None,
        })
        .collect();
    assert_eq!(
        requested,
        vec![
            (
                ids[0],
                first.pubkey(),
                60,
                pdas::exchange_request(&pool, ids[0])
            ),
            (
                ids[1],
                second.pubkey(),
                30,
                pdas::exchange_request(&pool, ids[1])
            ),
        ]
    );
    for (i, (id, amount)) in [(ids[0], 60), (ids[1], 30)].into_iter().enumerate() {
        let request = m.request_state(id).await;
        assert_eq!(
            (request.id, request.user, request.amount, request.status),
            (id, m.users[i].pubkey(), amount, RequestStatus::Pending)
        );
    }
    assert_eq!(m.chain.token_balance(pdas::escrow(&pool)).await, 90);
    let state = m.fixture.state(&mut m.chain).await.exchange_state;
    assert_eq!((state.requests_opened, state.escrowed), (2, 90));
}

/// An id whose request is open is never taken over, by another user or a resent transaction, and
/// an id beyond `MAX_REQUEST_ID` (not exact in JavaScript's numbers) is refused; both change
/// nothing. The largest id itself is a request like any other.
#[tokio::test]
async fn an_open_requests_id_and_an_id_too_large_are_refused() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let id = allot_client::request_id::random();
    m.send_ok(&[m.request_ix(0, id, 60)], &[&m.users[0].insecure_clone()])
        .await;
    let other = m.users[1].insecure_clone();
    let watched = [
        pool,
        pdas::escrow(&pool),
        m.user_token(1),
        pdas::exchange_request(&pool, id),
        pdas::allocation_record(&pool, &other.pubkey()),
    ];
    // Named as such before anything else is checked: more units than it holds, the same error.
    for amount in [10, 1_000_000] {
        m.expect_refused(
            &[m.request_ix(1, id, amount)],
            &[&other],
            AllotError::RequestIdInUse,
            &watched,
        )
        .await;
    }
    let too_large = MAX_REQUEST_ID + 1;
    let watched = [
        pool,
        pdas::escrow(&pool),
        m.user_token(1),
        pdas::exchange_request(&pool, too_large),
    ];
    m.expect_refused(
        &[m.request_ix(1, too_large, 10)],
        &[&other],
        AllotError::RequestIdTooLarge,
        &watched,
    )
    .await;
    m.send_ok(&[m.request_ix(1, MAX_REQUEST_ID, 10)], &[&other])
        .await;
    let request = m.request_state(MAX_REQUEST_ID).await;
    assert_eq!(
        (request.id, request.user, request.amount),
        (MAX_REQUEST_ID, other.pubkey(), 10)
    );
    // The first request is untouched.
    let first = m.request_state(id).await;
    assert_eq!(
        (first.user, first.amount, first.status),
        (m.users[0].pubkey(), 60, RequestStatus::Pending)
    );
}

#[tokio::test]
async fn requests_outside_the_conditions_are_refused() {
    let mut m = Market::open(2, |c| {
        c.min_holding = 50;
        c.min_holding_seconds = 600;
        c.per_user_period_cap = 80;
        c.per_period_cap = 120;
    })
    .await;
    let pool = m.fixture.pool;
    let watched = |m: &Market, i: usize| {
        [
            pool,
            pdas::escrow(&pool),
            m.user_token(i),
            pdas::exchange_request(&pool, 0),
        ]
    };
    let user = m.users[0].insecure_clone();

    // Holding time since allocation not yet reached.
    let w = watched(&m, 0);
    let ix = m.request_ix(0, 0, 10);
    m.expect_refused(&[ix], &[&user], AllotError::HoldingTimeNotMet, &w)
        .await;
    m.chain.advance_time(600).await;
    for (amount, error) in [
        (101, AllotError::InsufficientUnits),
        (81, AllotError::UserCapExceeded),
        (0, AllotError::ZeroAmount),
    ] {
        m.expect_refused(&[m.request_ix(0, 0, amount)], &[&user], error, &w)
            .await;
    }
    let (_, _) = m.request(0, 60).await.unwrap();
    m.conserved().await;
    // User 0 now holds 40 < minimum holding 50.
    let watched = |m: &Market, i: usize| {
        [
            pool,
            pdas::escrow(&pool),
            m.user_token(i),
            pdas::exchange_request(&pool, 1),
        ]
    };
    let w = watched(&m, 0);
    let ix = m.request_ix(0, 1, 10);
    m.expect_refused(&[ix], &[&user], AllotError::MinHoldingNotMet, &w)
        .await;
    // Pool-wide cap for the period: 60 + 61 > 120.
    let other = m.users[1].insecure_clone();
    let w = watched(&m, 1);
    let ix = m.request_ix(1, 1, 61);
    m.expect_refused(&[ix], &[&other], AllotError::PeriodCapExceeded, &w)
        .await;
    // Closing the exchange refuses everything.
    m.configure(|closed| closed.open = false).await;
    let ix = m.request_ix(1, 1, 10);
    m.expect_refused(&[ix], &[&other], AllotError::ExchangeClosed, &w)
        .await;
    // A time window that has not opened yet.
    let now = m.chain.clock().await.unix_timestamp;
    m.configure(|later| later.window_start = now + 100).await;
    let ix = m.request_ix(1, 1, 10);
    m.expect_refused(&[ix], &[&other], AllotError::ExchangeClosed, &w)
        .await;
    m.conserved().await;
}

#[tokio::test]
async fn non_transferable_pools_cannot_escrow() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, false).await;
    let user = chain.funded_keypair(100_000_000).await;
    fixture
        .issue_and_allocate(&mut chain, &user.pubkey(), 1_000)
        .await;
    let config = exchange_config(fixture.operator.pubkey());
    fixture.set_exchange(&mut chain, config).await;
    let ix = instructions::exchange_request(&user.pubkey(), &user.pubkey(), &fixture.pool, 0, 10);
    chain
        .expect_refused(
            &[ix],
            &[&user],
            anchor_lang::error::ErrorCode::AccountNotInitialized,
            &[fixture.pool, fixture.user_token(&user.pubkey())],
        )
        .await;
}
