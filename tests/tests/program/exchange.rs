//! Profit anchoring, exchange requests, settlement (off chain and atomic on chain), cancel,
//! reject, rent, and clawback around escrow — with a conservation check after every step.

use allot::constants::RATE_SCALE;
use allot::error::AllotError;
use allot::events::*;
use allot::instructions::{ExchangeSettleArgs, ProfitReportArgs};
use allot::state::{
    AllocationRecord, Pricing, ProfitReport, RequestStatus, ResourceKind, SettleAction,
};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence, OnChainPayout};
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain, exchange_config};
use solana_sdk::signature::{Keypair, Signer};

use crate::market::{Market, PayoutExtension, stablecoin, stablecoin_with};

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
    let events = m
        .chain
        .send(
            &[instructions::profit_report_record(
                &op.pubkey(),
                &pool,
                args.clone(),
            )],
            &[&op],
        )
        .await
        .unwrap();
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
    let report: ProfitReport = m.chain.fetch(pdas::profit_report(&pool, 0)).await;
    assert_eq!(
        (report.amount, report.currency, report.rate_after),
        (1_000_000, *b"USD", 500 * RATE_SCALE)
    );
    assert_eq!(
        m.fixture.state(&mut m.chain).await.exchange_state.rate,
        500 * RATE_SCALE
    );

    // Reports are immutable, in the pool's currency, and never for a future period.
    let report_address = pdas::profit_report(&pool, 0);
    m.expect_refused(
        &[instructions::profit_report_record(
            &op.pubkey(),
            &pool,
            args.clone(),
        )],
        &[&op],
        AllotError::ProfitReportExists,
        &[pool, report_address],
    )
    .await;
    let eur = ProfitReportArgs {
        period: 0,
        currency: *b"EUR",
        ..args.clone()
    };
    m.expect_refused(
        &[instructions::profit_report_record(&op.pubkey(), &pool, eur)],
        &[&op],
        AllotError::CurrencyMismatch,
        &[pool, report_address],
    )
    .await;
    let future = ProfitReportArgs {
        period: 1,
        ..args.clone()
    };
    m.expect_refused(
        &[instructions::profit_report_record(
            &op.pubkey(),
            &pool,
            future,
        )],
        &[&op],
        AllotError::PeriodInFuture,
        &[pool],
    )
    .await;
    let stranger = m.users[0].insecure_clone();
    let next = ProfitReportArgs { period: 0, ..args };
    m.expect_refused(
        &[instructions::profit_report_record(
            &stranger.pubkey(),
            &pool,
            next,
        )],
        &[&stranger],
        AllotError::NotOperator,
        &[pool],
    )
    .await;

    // The next period's report moves the rate: 2,000.00 USD, 20%, 400 units → 100 cents.
    m.chain.advance_time(PERIOD).await;
    let args = ProfitReportArgs {
        period: 1,
        amount: 200_000,
        currency: *b"USD",
        evidence_hash: [4; 32],
    };
    let events = m
        .chain
        .send(
            &[instructions::profit_report_record(
                &op.pubkey(),
                &pool,
                args,
            )],
            &[&op],
        )
        .await
        .unwrap();
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
    let events = m
        .chain
        .send(
            &[instructions::pool_set_exchange(&op.pubkey(), &pool, cfg)],
            &[&op],
        )
        .await
        .unwrap();
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
    m.expect_refused(
        &[instructions::pool_set_exchange(
            &stranger.pubkey(),
            &pool,
            cfg,
        )],
        &[&stranger],
        AllotError::NotOperator,
        &[pool],
    )
    .await;
    let mut bad = cfg;
    bad.cancel_timeout_seconds = 0;
    m.expect_refused(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, bad)],
        &[&op],
        AllotError::InvalidExchangeConfig,
        &[pool],
    )
    .await;
}

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
    // Ids grow: the next request gets 1.
    let (second, _) = m.request(1, 10).await.unwrap();
    assert_eq!(second, 1);
    m.conserved().await;
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
    let ix = |m: &Market, amount: u64| {
        instructions::exchange_request(&user.pubkey(), &user.pubkey(), &m.fixture.pool, 0, amount)
    };

    // Holding time since allocation not yet reached.
    let w = watched(&m, 0);
    m.expect_refused(&[ix(&m, 10)], &[&user], AllotError::HoldingTimeNotMet, &w)
        .await;
    m.chain.advance_time(600).await;
    m.expect_refused(&[ix(&m, 101)], &[&user], AllotError::InsufficientUnits, &w)
        .await;
    m.expect_refused(&[ix(&m, 81)], &[&user], AllotError::UserCapExceeded, &w)
        .await;
    m.expect_refused(&[ix(&m, 0)], &[&user], AllotError::ZeroAmount, &w)
        .await;
    let (_, _) = m.request(0, 60).await.unwrap();
    m.conserved().await;
    // User 0 now holds 40 < minimum holding 50.
    let w = [
        pool,
        pdas::escrow(&pool),
        m.user_token(0),
        pdas::exchange_request(&pool, 1),
    ];
    let ix1 = instructions::exchange_request(&user.pubkey(), &user.pubkey(), &pool, 1, 10);
    m.expect_refused(&[ix1], &[&user], AllotError::MinHoldingNotMet, &w)
        .await;
    // Pool-wide cap for the period: 60 + 61 > 120.
    let other = m.users[1].insecure_clone();
    let w = [
        pool,
        pdas::escrow(&pool),
        m.user_token(1),
        pdas::exchange_request(&pool, 1),
    ];
    let ix2 = instructions::exchange_request(&other.pubkey(), &other.pubkey(), &pool, 1, 61);
    m.expect_refused(&[ix2], &[&other], AllotError::PeriodCapExceeded, &w)
        .await;
    // Closing the exchange refuses everything.
    let op = m.fixture.operator.insecure_clone();
    let mut closed = exchange_config(m.bridge.pubkey());
    closed.open = false;
    m.send(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, closed)],
        &[&op],
    )
    .await
    .unwrap();
    let ix3 = instructions::exchange_request(&other.pubkey(), &other.pubkey(), &pool, 1, 10);
    m.expect_refused(&[ix3], &[&other], AllotError::ExchangeClosed, &w)
        .await;
    // A time window that has not opened yet.
    let now = m.chain.clock().await.unix_timestamp;
    let mut later = exchange_config(m.bridge.pubkey());
    later.window_start = now + 100;
    m.send(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, later)],
        &[&op],
    )
    .await
    .unwrap();
    let ix4 = instructions::exchange_request(&other.pubkey(), &other.pubkey(), &pool, 1, 10);
    m.expect_refused(&[ix4], &[&other], AllotError::ExchangeClosed, &w)
        .await;
    m.conserved().await;
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
    let op = m.fixture.operator.insecure_clone();
    let mut tiny = exchange_config(m.bridge.pubkey());
    tiny.fixed_rate = RATE_SCALE / 3; // a third of a cent per unit
    m.send(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, tiny)],
        &[&op],
    )
    .await
    .unwrap();
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

    let op = m.fixture.operator.insecure_clone();
    let now = m.chain.clock().await.unix_timestamp;
    let mut cfg = exchange_config(m.bridge.pubkey());
    cfg.fixed_rate = 8 * RATE_SCALE;
    cfg.strike = 5 * RATE_SCALE;
    cfg.window_start = now + 1_000;
    cfg.window_end = now + 2_000;
    m.send(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, cfg)],
        &[&op],
    )
    .await
    .unwrap();
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

#[tokio::test]
async fn settle_once_by_the_settlement_authority_only() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let (id, _) = m.request(0, 60).await.unwrap();
    let address = pdas::exchange_request(&pool, id);
    let watched = [pool, address, pdas::escrow(&pool), m.fixture.mint];

    // A stranger, and the operator (not the settlement authority), cannot settle.
    let stranger = m.users[0].insecure_clone();
    let args = ExchangeSettleArgs {
        payout_reference: [9; 32],
        paid_amount: 120,
    };
    let ix = instructions::exchange_settle(&stranger.pubkey(), &pool, id, args.clone(), None);
    m.expect_refused(
        &[ix],
        &[&stranger],
        AllotError::NotSettlementAuthority,
        &watched,
    )
    .await;
    let bridge = m.bridge.insecure_clone();
    m.expect_refused(
        &[m.settle_ix(id, 119, None)],
        &[&bridge],
        AllotError::PaidAmountMismatch,
        &watched,
    )
    .await;

    let now = m.chain.clock().await.unix_timestamp;
    let events = m
        .chain
        .send(&[m.settle_ix(id, 120, None)], &[&bridge])
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![AllotEvent::ExchangeSettled(ExchangeSettled {
            pool,
            request: address,
            id,
            user: m.users[0].pubkey(),
            amount: 60,
            quoted: 120,
            paid_amount: 120,
            payout_mint: None,
            payout_base_units: 0,
            payout_reference: [9; 32],
            onchain_payout: false,
            units_burned: true,
            settled_at: now,
        })]
    );
    let request = m.request_state(id).await;
    assert_eq!(
        (
            request.status,
            request.paid_amount,
            request.payout_reference,
            request.finalized_at
        ),
        (RequestStatus::Settled, 120, [9; 32], now)
    );
    assert_eq!(m.chain.token_balance(pdas::escrow(&pool)).await, 0);
    assert_eq!(
        m.chain.mint_supply(m.fixture.mint).await,
        10_000 - 60,
        "settled units are burned"
    );
    let state = m.fixture.state(&mut m.chain).await;
    assert_eq!(
        (
            state.exchange_state.settled,
            state.exchange_state.funds_settled,
            state.totals.outstanding
        ),
        (60, 120, 40)
    );
    m.conserved().await;

    m.expect_refused(
        &[m.settle_ix(id, 120, None)],
        &[&bridge],
        AllotError::RequestNotPending,
        &watched,
    )
    .await;
    m.conserved().await;
}

#[tokio::test]
async fn settle_can_return_units_to_the_vault() {
    let mut m = Market::open(1, |c| c.settle_action = SettleAction::ReturnToVault).await;
    let (id, _) = m.request(0, 60).await.unwrap();
    let bridge = m.bridge.insecure_clone();
    let events = m
        .chain
        .send(&[m.settle_ix(id, 120, None)], &[&bridge])
        .await
        .unwrap();
    assert!(matches!(&events[..], [AllotEvent::ExchangeSettled(e)] if !e.units_burned));
    assert_eq!(
        m.chain.token_balance(m.fixture.vault).await,
        10_000 - 100 + 60
    );
    assert_eq!(m.chain.mint_supply(m.fixture.mint).await, 10_000);
    m.conserved().await;
}

#[tokio::test]
async fn stablecoin_payout_and_settlement_are_one_atomic_transaction() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let user = m.users[0].pubkey();
    let (mint, treasury, user_account, stranger_account) =
        stablecoin(&mut m.chain, &bridge, &user, 2_000_000).await;
    let op = m.fixture.operator.insecure_clone();
    let mut cfg = exchange_config(bridge.pubkey());
    cfg.payout_mint = Some(mint);
    m.send(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, cfg)],
        &[&op],
    )
    .await
    .unwrap();
    let (id, events) = m.request(0, 60).await.unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ExchangeRequested(e)] if e.payout_mint == Some(mint))
    );
    let payout = OnChainPayout {
        mint,
        token_program: spl_token_2022_interface::ID,
        treasury,
        user_account,
    };

    // A payout to an account that is not the user's fails, and so does the settlement.
    let wrong = OnChainPayout {
        user_account: stranger_account,
        ..payout.clone()
    };
    let watched = [
        pool,
        pdas::exchange_request(&pool, id),
        treasury,
        user_account,
        pdas::escrow(&pool),
    ];
    m.expect_refused(
        &[m.settle_ix(id, 120, Some(wrong))],
        &[&bridge],
        AllotError::PayoutAccountsMismatch,
        &watched,
    )
    .await;

    let events = m
        .chain
        .send(&[m.settle_ix(id, 120, Some(payout.clone()))], &[&bridge])
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ExchangeSettled(e)] if e.onchain_payout
            && e.paid_amount == 120
            && e.payout_mint == Some(mint)
            && e.payout_base_units == 1_200_000)
    );
    // USD 1.20 (120 cents) is 1,200,000 base units of a 6-decimal coin.
    assert_eq!(m.chain.token_balance(user_account).await, 1_200_000);
    assert_eq!(m.chain.token_balance(treasury).await, 800_000);
    assert_eq!(m.request_state(id).await.status, RequestStatus::Settled);
    m.conserved().await;

    // With an empty treasury the transfer fails and the request stays pending: no settlement
    // without the payment.
    let (id2, _) = m.request(0, 40).await.unwrap();
    let drain = spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &treasury,
        &mint,
        &user_account,
        &bridge.pubkey(),
        &[],
        800_000,
        6,
    )
    .unwrap();
    m.send(&[drain], &[&bridge]).await.unwrap();
    let failure = m
        .chain
        .send(&[m.settle_ix(id2, 80, Some(payout))], &[&bridge])
        .await
        .unwrap_err();
    assert_eq!(
        failure.custom_code(),
        Some(1),
        "token program: insufficient funds"
    );
    assert_eq!(m.request_state(id2).await.status, RequestStatus::Pending);
    assert_eq!(m.chain.token_balance(pdas::escrow(&pool)).await, 40);
    m.conserved().await;
}

#[tokio::test]
async fn user_cancels_after_the_timeout_and_not_before() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let (id, _) = m.request(0, 60).await.unwrap();
    let watched = [
        pool,
        pdas::exchange_request(&pool, id),
        pdas::escrow(&pool),
        m.user_token(0),
    ];
    m.chain.advance_time(3_599).await;
    m.expect_refused(
        &[instructions::exchange_cancel(&user.pubkey(), &pool, id)],
        &[&user],
        AllotError::CancelTooEarly,
        &watched,
    )
    .await;
    // Someone else cannot cancel it.
    let other = Keypair::new();
    let mut ix = instructions::exchange_cancel(&other.pubkey(), &pool, id);
    ix.accounts[4].pubkey = m.user_token(0);
    m.chain.advance_time(1).await;
    let failure = m.send(&[ix], &[&other]).await.unwrap_err();
    assert!(failure.custom_code().is_some(), "{:?}", failure.error);
    let now = m.chain.clock().await.unix_timestamp;
    let events = m
        .chain
        .send(
            &[instructions::exchange_cancel(&user.pubkey(), &pool, id)],
            &[&user],
        )
        .await
        .unwrap();
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
    m.conserved().await;
    // A cancelled request cannot be settled.
    let bridge = m.bridge.insecure_clone();
    m.expect_refused(
        &[m.settle_ix(id, 120, None)],
        &[&bridge],
        AllotError::RequestNotPending,
        &watched,
    )
    .await;
}

#[tokio::test]
async fn settlement_authority_rejects_with_a_reason() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let (id, _) = m.request(0, 60).await.unwrap();
    let op = m.fixture.operator.insecure_clone();
    let watched = [
        pool,
        pdas::exchange_request(&pool, id),
        pdas::escrow(&pool),
        m.user_token(0),
    ];
    m.expect_refused(
        &[instructions::exchange_reject(
            &op.pubkey(),
            &pool,
            id,
            &user,
            7,
        )],
        &[&op],
        AllotError::NotSettlementAuthority,
        &watched,
    )
    .await;
    let bridge = m.bridge.insecure_clone();
    let now = m.chain.clock().await.unix_timestamp;
    let events = m
        .chain
        .send(
            &[instructions::exchange_reject(
                &bridge.pubkey(),
                &pool,
                id,
                &user,
                7,
            )],
            &[&bridge],
        )
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![AllotEvent::ExchangeRejected(ExchangeRejected {
            pool,
            request: pdas::exchange_request(&pool, id),
            id,
            user,
            amount: 60,
            reason: 7,
            rejected_at: now,
        })]
    );
    let request = m.request_state(id).await;
    assert_eq!(
        (request.status, request.reject_reason),
        (RequestStatus::Rejected, 7)
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 100);
    m.conserved().await;
    m.expect_refused(
        &[instructions::exchange_reject(
            &bridge.pubkey(),
            &pool,
            id,
            &user,
            7,
        )],
        &[&bridge],
        AllotError::RequestNotPending,
        &watched,
    )
    .await;
}

#[tokio::test]
async fn rent_returns_to_the_payer_only_once_the_request_is_final() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let sponsor = m.chain.funded_keypair(100_000_000).await;
    let id = 0;
    let ix = instructions::exchange_request(&user.pubkey(), &sponsor.pubkey(), &pool, id, 60);
    m.send(&[ix], &[&user, &sponsor]).await.unwrap();
    let address = pdas::exchange_request(&pool, id);
    let rent = m.chain.account(address).await.unwrap().lamports;
    let request = m.request_state(id).await;
    assert_eq!(request.rent_payer, sponsor.pubkey());

    m.expect_refused(
        &[instructions::exchange_close(&pool, id, &sponsor.pubkey())],
        &[],
        AllotError::RequestNotFinal,
        &[address, sponsor.pubkey()],
    )
    .await;
    let bridge = m.bridge.insecure_clone();
    m.send(&[m.settle_ix(id, 120, None)], &[&bridge])
        .await
        .unwrap();
    // Rent cannot be sent to anyone else.
    m.expect_refused(
        &[instructions::exchange_close(&pool, id, &user.pubkey())],
        &[],
        anchor_lang::error::ErrorCode::ConstraintAddress,
        &[address, user.pubkey()],
    )
    .await;
    let before = m.chain.account(sponsor.pubkey()).await.unwrap().lamports;
    let events = m
        .chain
        .send(
            &[instructions::exchange_close(&pool, id, &sponsor.pubkey())],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![AllotEvent::ExchangeRequestClosed(ExchangeRequestClosed {
            pool,
            request: address,
            id,
            rent_payer: sponsor.pubkey(),
            lamports: rent
        })]
    );
    assert_eq!(
        m.chain.account(sponsor.pubkey()).await.unwrap().lamports,
        before + rent
    );
    assert!(m.chain.account(address).await.is_none());
    // The id is never reused: the next request takes id 1.
    let (next, _) = m.request(0, 10).await.unwrap();
    assert_eq!(next, 1);
    m.conserved().await;
}

#[tokio::test]
async fn clawback_leaves_escrowed_units_alone_and_recovers_them_once_returned() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let (id, _) = m.request(0, 60).await.unwrap();
    m.revoke(0).await;

    let events = m
        .chain
        .send(
            &[instructions::clawback(&pool, &user, Evidence::Credential)],
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 40));
    assert_eq!(
        m.chain.token_balance(pdas::escrow(&pool)).await,
        60,
        "escrow untouched"
    );
    m.conserved().await;
    m.expect_refused(
        &[instructions::clawback(&pool, &user, Evidence::Credential)],
        &[],
        AllotError::NothingToClawBack,
        &[pool, pdas::escrow(&pool)],
    )
    .await;

    // The bridge rejects the request: the units go back to the user, then to the pool.
    let bridge = m.bridge.insecure_clone();
    m.reject(&bridge, id, 0, 1).await;
    m.conserved().await;
    let events = m
        .chain
        .send(
            &[instructions::clawback(&pool, &user, Evidence::Credential)],
            &[],
        )
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 60 && e.pool_outstanding == 0)
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 0);
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!(
        (record.allocated, record.clawed_back, record.exchanged),
        (100, 100, 0)
    );
    m.conserved().await;
}

/// Exchanging units received from another holder does not shield one's own allocation from
/// clawback (audit finding of issue #18): received units are exchanged first, so all 100 of the
/// user's own stay claw-backable, and a reject gives back to the record only what was its own.
#[tokio::test]
async fn exchanging_received_units_leaves_ones_own_allocation_clawable() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let friend = m.users[1].insecure_clone();
    let gift = spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &m.user_token(1),
        &m.fixture.mint,
        &m.user_token(0),
        &friend.pubkey(),
        &[],
        60,
        0,
    )
    .unwrap();
    m.send(&[gift], &[&friend]).await.unwrap();
    // Of 160 held (100 own, 60 received), 60 go to exchange: the received ones.
    let (id, _) = m.request(0, 60).await.unwrap();
    assert_eq!(m.request_state(id).await.own_units, 0);
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!((record.exchanged, record.clawable()), (0, 100));

    m.revoke(0).await;
    let events = m
        .send(
            &[instructions::clawback(&pool, &user, Evidence::Credential)],
            &[],
        )
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 100),
        "{events:?}"
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 0);

    // Rejected, the request's 60 received units go back to the user, and none of them becomes
    // claw-backable: the allocation was recovered in full already.
    let bridge = m.bridge.insecure_clone();
    m.reject(&bridge, id, 0, 1).await;
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 60);
    let record: AllocationRecord = m.chain.fetch(pdas::allocation_record(&pool, &user)).await;
    assert_eq!(
        (record.allocated, record.clawed_back, record.exchanged),
        (100, 100, 0)
    );
    m.expect_refused(
        &[instructions::clawback(&pool, &user, Evidence::Credential)],
        &[],
        AllotError::NothingToClawBack,
        &[pool, m.user_token(0)],
    )
    .await;
}

#[tokio::test]
async fn non_transferable_pools_cannot_escrow() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, false).await;
    let user = chain.funded_keypair(100_000_000).await;
    fixture
        .issue_credential(&mut chain, &user.pubkey(), 1_000)
        .await;
    fixture
        .allocate_by_credential(&mut chain, &user.pubkey())
        .await
        .unwrap();
    let op = fixture.operator.insecure_clone();
    chain
        .send(
            &[instructions::pool_set_exchange(
                &op.pubkey(),
                &fixture.pool,
                exchange_config(op.pubkey()),
            )],
            &[&op],
        )
        .await
        .unwrap();
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

#[tokio::test]
async fn payout_mints_with_a_transfer_fee_are_refused_at_configuration() {
    payout_mint_is_refused_at_configuration(PayoutExtension::TransferFee(100)).await;
}

#[tokio::test]
async fn payout_mints_with_a_transfer_hook_are_refused_at_configuration() {
    payout_mint_is_refused_at_configuration(PayoutExtension::TransferHook).await;
}

/// A payout mint with `extension` cannot be configured: the pool's exchange is unchanged.
async fn payout_mint_is_refused_at_configuration(extension: PayoutExtension) {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let user = m.users[0].pubkey();
    let (mint, _, _, _) = stablecoin_with(&mut m.chain, &bridge, &user, 1_000, extension, 6).await;
    let op = m.fixture.operator.insecure_clone();
    let mut cfg = exchange_config(bridge.pubkey());
    cfg.payout_mint = Some(mint);
    m.expect_refused(
        &[instructions::pool_set_exchange(&op.pubkey(), &pool, cfg)],
        &[&op],
        AllotError::PayoutMintUnsupported,
        &[pool],
    )
    .await;
    assert_eq!(
        m.fixture.state(&mut m.chain).await.exchange.payout_mint,
        None
    );
}
