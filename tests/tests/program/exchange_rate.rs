//! The exchange rate: profit reports set it under profit-share pricing, the operator sets a fixed
//! one, and a request is quoted at the rate in force — rounded down, and for options only above
//! the strike and inside the exercise window.

use allot::constants::RATE_SCALE;
use allot::error::AllotError;
use allot::events::{ExchangeConfigured, ProfitReported, RateUpdated};
use allot::instructions::ProfitReportArgs;
use allot::state::{Pricing, ProfitReport, ResourceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions;
use allot_client::pdas;
use allot_tests::{PERIOD, exchange_config};
use solana_sdk::signature::{Keypair, Signer};

use crate::market::Market;

#[tokio::test]
async fn profit_reports_set_the_rate_under_profit_share_pricing() {
    let mut m = Market::open(4, |c| c.pricing = Pricing::ProfitShare { share_bps: 2_000 }).await;
    let op = m.fixture.operator.insecure_clone();
    let pool = m.fixture.pool;
    // 10,000.00 USD profit, 20% shared over 400 outstanding units: 5.00 USD (500 cents) a unit.
    let args = ProfitReportArgs {
        period: 0,
        amount: 1_000_000,
        currency: *b"USD",
        evidence_hash: [3; 32],
    };
    let report =
        |key: &Keypair, args| instructions::profit_report_record(&key.pubkey(), &pool, args);
    let events = m.send_ok(&[report(&op, args.clone())], &[&op]).await;
    assert_eq!(
        events,
        vec![
            AllotEvent::ProfitReported(ProfitReported {
                pool,
                period: 0,
                amount: 1_000_000,
                currency: *b"USD",
                evidence_hash: [3; 32],
                rate_after: 500 * RATE_SCALE,
            }),
            AllotEvent::RateUpdated(RateUpdated {
                pool,
                previous: 0,
                rate: 500 * RATE_SCALE,
                report_period: Some(0)
            }),
        ]
    );
    let stored: ProfitReport = m.chain.fetch(pdas::profit_report(&pool, 0)).await;
    assert_eq!(
        (stored.amount, stored.currency, stored.rate_after),
        (1_000_000, *b"USD", 500 * RATE_SCALE)
    );
    assert_eq!(
        m.fixture.state(&mut m.chain).await.exchange_state.rate,
        500 * RATE_SCALE
    );

    // Reports are immutable, in the pool's currency, and never for a future period.
    let watched = [pool, pdas::profit_report(&pool, 0)];
    let ix = report(&op, args.clone());
    m.expect_refused(&[ix], &[&op], AllotError::ProfitReportExists, &watched)
        .await;
    let eur = ProfitReportArgs {
        period: 0,
        currency: *b"EUR",
        ..args.clone()
    };
    m.expect_refused(
        &[report(&op, eur)],
        &[&op],
        AllotError::CurrencyMismatch,
        &watched,
    )
    .await;
    let future = ProfitReportArgs {
        period: 1,
        ..args.clone()
    };
    m.expect_refused(
        &[report(&op, future)],
        &[&op],
        AllotError::PeriodInFuture,
        &[pool],
    )
    .await;
    let stranger = m.users[0].insecure_clone();
    let next = ProfitReportArgs { period: 0, ..args };
    let ix = report(&stranger, next);
    m.expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &[pool])
        .await;

    // The next period's report moves the rate: 2,000.00 USD, 20%, 400 units → 100 cents.
    m.chain.advance_time(PERIOD).await;
    let args = ProfitReportArgs {
        period: 1,
        amount: 200_000,
        currency: *b"USD",
        evidence_hash: [4; 32],
    };
    let events = m.send_ok(&[report(&op, args)], &[&op]).await;
    assert!(events.contains(&AllotEvent::RateUpdated(RateUpdated {
        pool,
        previous: 500 * RATE_SCALE,
        rate: 100 * RATE_SCALE,
        report_period: Some(1)
    })));
    // A request is quoted at the rate in force.
    let (id, _) = m.request(0, 3).await.unwrap();
    assert_eq!(m.request_state(id).await.quoted, 300);
    m.conserved().await;
}

#[tokio::test]
async fn fixed_price_is_set_by_the_operator_with_an_event() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let op = m.fixture.operator.insecure_clone();
    let mut cfg = exchange_config(m.bridge.pubkey());
    cfg.fixed_rate = 7 * RATE_SCALE;
    let configure = |key: &Keypair, cfg| instructions::pool_set_exchange(&key.pubkey(), &pool, cfg);
    let events = m.send_ok(&[configure(&op, cfg)], &[&op]).await;
    assert_eq!(
        events,
        vec![
            AllotEvent::ExchangeConfigured(ExchangeConfigured { pool, config: cfg }),
            AllotEvent::RateUpdated(RateUpdated {
                pool,
                previous: 2 * RATE_SCALE,
                rate: 7 * RATE_SCALE,
                report_period: None
            }),
        ]
    );
    let stranger = m.users[0].insecure_clone();
    let ix = configure(&stranger, cfg);
    m.expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &[pool])
        .await;
    let mut bad = cfg;
    bad.cancel_timeout_seconds = 0;
    let invalid = AllotError::InvalidExchangeConfig;
    m.expect_refused(&[configure(&op, bad)], &[&op], invalid, &[pool])
        .await;
}

#[tokio::test]
async fn rate_must_be_set_and_quotes_must_be_positive() {
    let mut m = Market::open(1, |c| c.fixed_rate = 0).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let w = [pool, pdas::escrow(&pool), m.user_token(0)];
    let ix = instructions::exchange_request(&user.pubkey(), &user.pubkey(), &pool, 0, 1);
    m.expect_refused(&[ix], &[&user], AllotError::RateNotSet, &w)
        .await;
    m.configure(|tiny| tiny.fixed_rate = RATE_SCALE / 3).await; // a third of a cent per unit
    let ix = instructions::exchange_request(&user.pubkey(), &user.pubkey(), &pool, 0, 2);
    m.expect_refused(&[ix], &[&user], AllotError::QuoteIsZero, &w)
        .await;
    // Three units are worth one cent, rounded down from 1.0 (never rounded up for the user).
    let (id, _) = m.request(0, 5).await.unwrap();
    assert_eq!(m.request_state(id).await.quoted, 1);
}

#[tokio::test]
async fn options_pay_above_the_strike_inside_the_exercise_window_only() {
    let mut m = Market::open_kind(1, ResourceKind::VirtualOption, |c| {
        c.fixed_rate = 5 * RATE_SCALE;
        c.strike = 5 * RATE_SCALE;
    })
    .await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let w = [pool, pdas::escrow(&pool), m.user_token(0)];
    let ix =
        |amount| instructions::exchange_request(&user.pubkey(), &user.pubkey(), &pool, 0, amount);
    m.expect_refused(&[ix(10)], &[&user], AllotError::OutOfTheMoney, &w)
        .await;

    let now = m.chain.clock().await.unix_timestamp;
    m.configure(|cfg| {
        cfg.fixed_rate = 8 * RATE_SCALE;
        cfg.strike = 5 * RATE_SCALE;
        cfg.window_start = now + 1_000;
        cfg.window_end = now + 2_000;
    })
    .await;
    m.expect_refused(&[ix(10)], &[&user], AllotError::OutsideExerciseWindow, &w)
        .await;
    m.chain.advance_time(1_000).await;
    let (id, events) = m.request(0, 10).await.unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ExchangeRequested(e)] if e.unit_value == 3 * RATE_SCALE && e.quoted == 30 && e.kind == ResourceKind::VirtualOption)
    );
    assert_eq!(m.request_state(id).await.quoted, 30);
    m.chain.advance_time(1_000).await;
    let after_window = instructions::exchange_request(&user.pubkey(), &user.pubkey(), &pool, 1, 10);
    m.expect_refused(
        &[after_window],
        &[&user],
        AllotError::OutsideExerciseWindow,
        &[pool, pdas::escrow(&pool), m.user_token(0)],
    )
    .await;
    m.conserved().await;
}
