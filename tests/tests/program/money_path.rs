//! The money path with real money: quotes paid exactly in a payout mint's base units, terms
//! frozen when the user signs, and the payout lock that no cancel can race (with the user's way
//! out when the operator stops settling).

use allot::constants::RATE_SCALE;
use allot::error::AllotError;
use allot::events::ExchangeLocked;
use allot::state::{ExchangeConfig, RequestStatus};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, OnChainPayout};
use allot_client::pdas;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::{Market, PayoutExtension, stablecoin};

/// The on-chain payout accounts of `user` for a Token-2022 `mint` held in `treasury`.
fn payout(mint: Pubkey, treasury: Pubkey, user_account: Pubkey) -> OnChainPayout {
    OnChainPayout {
        mint,
        token_program: spl_token_2022_interface::ID,
        treasury,
        user_account,
    }
}

/// A quote and what pays it in a 6-decimal coin.
struct PaidExactly {
    currency: [u8; 3],
    digits: u8,
    rate_minor_units: u64,
    units: u64,
    owed_minor_units: u64,
    paid_base_units: u64,
}

#[tokio::test]
async fn usd_and_jpy_quotes_are_paid_exactly_in_a_six_decimal_mint() {
    let cases = [
        // USD 2.00 a unit, 60 units: USD 120.00 = 12,000 cents = 120,000,000 base units.
        PaidExactly {
            currency: *b"USD",
            digits: 2,
            rate_minor_units: 200,
            units: 60,
            owed_minor_units: 12_000,
            paid_base_units: 120_000_000,
        },
        // JPY 150 a unit (no minor unit), 10 units: 1,500 yen = 1,500,000,000 base units.
        PaidExactly {
            currency: *b"JPY",
            digits: 0,
            rate_minor_units: 150,
            units: 10,
            owed_minor_units: 1_500,
            paid_base_units: 1_500_000_000,
        },
    ];
    for case in cases {
        let PaidExactly {
            currency,
            digits,
            rate_minor_units: rate,
            units,
            owed_minor_units: owed,
            paid_base_units: base_units,
        } = case;
        let mut m = Market::open(1, |_| {}).await;
        let bridge = m.bridge.insecure_clone();
        let user = m.users[0].pubkey();
        let (mint, treasury, user_account, _) =
            stablecoin(&mut m.chain, &bridge, &user, 10_000_000_000).await;
        m.configure(|cfg| {
            cfg.currency = currency;
            cfg.currency_digits = digits;
            cfg.fixed_rate = rate * RATE_SCALE;
            cfg.payout_mint = Some(mint);
        })
        .await;
        let (id, _) = m.request(0, units).await.unwrap();
        let request = m.request_state(id).await;
        assert_eq!(
            (request.quoted, request.currency, request.currency_digits),
            (owed, currency, digits)
        );
        let ix = m
            .settle_ix(id, owed, Some(payout(mint, treasury, user_account)))
            .await;
        let events = m.send_ok(&[ix], &[&bridge]).await;
        assert!(
            matches!(&events[..], [AllotEvent::ExchangeSettled(e)]
                if e.paid_amount == owed
                    && e.payout_mint == Some(mint)
                    && e.payout_base_units == base_units),
            "{events:?}"
        );
        assert_eq!(m.chain.token_balance(user_account).await, base_units);
        assert_eq!(
            m.chain.token_balance(treasury).await,
            10_000_000_000 - base_units
        );
        let settled = m.request_state(id).await;
        assert_eq!(
            (settled.status, settled.payout_base_units),
            (RequestStatus::Settled, base_units)
        );
    }
}

#[tokio::test]
async fn a_payout_mint_with_fewer_decimals_than_the_currency_is_refused_at_configuration() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    // One decimal cannot pay a quote in cents exactly.
    let (mint, _, _, _) = m.payout_coin(1_000, PayoutExtension::None, 1).await;
    let paid_in_mint = |cfg: &mut ExchangeConfig| cfg.payout_mint = Some(mint);
    m.configure_refused(paid_in_mint, AllotError::PayoutMintTooFewDecimals)
        .await;
    // The configuration names a mint whose account is not passed: refused too.
    let op = m.fixture.operator.insecure_clone();
    let mut ix = m.configure_ix(paid_in_mint);
    ix.accounts[2].pubkey = allot::ID;
    m.expect_refused(&[ix], &[&op], AllotError::PayoutAccountsMismatch, &[pool])
        .await;
    // Timeouts far enough to overflow a deadline are refused.
    m.configure_refused(
        |cfg| cfg.cancel_timeout_seconds = i64::MAX,
        AllotError::InvalidExchangeConfig,
    )
    .await;
}

#[tokio::test]
async fn a_payout_past_the_largest_amount_is_refused_and_changes_nothing() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let (mint, treasury, user_account, _) = m.payout_coin(1_000, PayoutExtension::None, 9).await;
    // 10^9 yen a unit: 60 units owe 6·10^10 yen, which is 6·10^19 base units of a 9-decimal
    // mint — past u64.
    m.configure(|cfg| {
        cfg.currency = *b"JPY";
        cfg.currency_digits = 0;
        cfg.fixed_rate = 1_000_000_000 * RATE_SCALE;
        cfg.payout_mint = Some(mint);
    })
    .await;
    let (id, _) = m.request(0, 60).await.unwrap();
    let quoted = m.request_state(id).await.quoted;
    assert_eq!(quoted, 60_000_000_000);
    let settle = m
        .settle_ix(id, quoted, Some(payout(mint, treasury, user_account)))
        .await;
    m.expect_refused(
        &[settle],
        &[&bridge],
        AllotError::MathOverflow,
        &[
            pool,
            pdas::exchange_request(&pool, id),
            treasury,
            user_account,
        ],
    )
    .await;
    assert_eq!(m.request_state(id).await.status, RequestStatus::Pending);
}

#[tokio::test]
async fn requests_settle_and_cancel_under_the_terms_they_were_made_under() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let user = m.users[0].insecure_clone();
    let (mint_a, treasury_a, user_a, _) =
        stablecoin(&mut m.chain, &bridge, &user.pubkey(), 1_000_000_000).await;
    let (mint_b, treasury_b, user_b, _) =
        stablecoin(&mut m.chain, &bridge, &user.pubkey(), 1_000_000_000).await;
    m.configure(|cfg| cfg.payout_mint = Some(mint_a)).await;
    // Requests 0 and 1 under mint A and a one-hour cancel timeout.
    let (first, _) = m.request(0, 30).await.unwrap();
    let (second, _) = m.request(0, 10).await.unwrap();
    // Paid on chain, atomically with the settlement: nothing to lock.
    let watched = [pdas::exchange_request(&pool, first)];
    let ix = m.lock_ix(&bridge, first).await;
    m.expect_refused(&[ix], &[&bridge], AllotError::LockNotNeeded, &watched)
        .await;

    // The operator switches to mint B and a cancel timeout of a year.
    m.configure(|cfg| {
        cfg.payout_mint = Some(mint_b);
        cfg.cancel_timeout_seconds = 365 * 86_400;
    })
    .await;
    let watched = [
        pool,
        pdas::exchange_request(&pool, first),
        treasury_a,
        treasury_b,
    ];
    // Settling request 0 in mint B, or off chain, is refused: it was made to be paid in A.
    let settle = m
        .settle_ix(first, 60, Some(payout(mint_b, treasury_b, user_b)))
        .await;
    m.expect_refused(
        &[settle],
        &[&bridge],
        AllotError::PayoutAccountsMismatch,
        &watched,
    )
    .await;
    let settle = m.settle_ix(first, 60, None).await;
    m.expect_refused(
        &[settle],
        &[&bridge],
        AllotError::PayoutTermsMismatch,
        &watched,
    )
    .await;
    let ix = m
        .settle_ix(first, 60, Some(payout(mint_a, treasury_a, user_a)))
        .await;
    m.send_ok(&[ix], &[&bridge]).await;
    assert_eq!(m.chain.token_balance(user_a).await, 600_000);
    assert_eq!(m.chain.token_balance(user_b).await, 0);

    // Request 2 is made under the new terms.
    let (third, _) = m.request(0, 10).await.unwrap();
    assert_eq!(m.request_state(third).await.payout_mint, Some(mint_b));
    m.chain.advance_time(3_600).await;
    // Request 1 cancels after its own hour, though the pool now says a year...
    m.cancel(0, second).await;
    assert_eq!(
        m.request_state(second).await.status,
        RequestStatus::Cancelled
    );
    // ...and request 2 is held to the year.
    let watched = [pool, pdas::exchange_request(&pool, third)];
    let ix = m.cancel_ix(0, third);
    m.expect_refused(&[ix], &[&user], AllotError::CancelTooEarly, &watched)
        .await;
}

#[tokio::test]
async fn a_locked_request_cannot_be_cancelled_and_ends_by_settle_or_reject() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let user = m.users[0].insecure_clone();
    let (paid, _) = m.request(0, 30).await.unwrap();
    let (refused, _) = m.request(0, 20).await.unwrap();

    // Only the settlement authority locks.
    let stranger = Keypair::new();
    let watched = [pdas::exchange_request(&pool, paid)];
    let not_authority = AllotError::NotSettlementAuthority;
    let ix = m.lock_ix(&stranger, paid).await;
    m.expect_refused(&[ix], &[&stranger], not_authority, &watched)
        .await;
    let now = m.chain.clock().await.unix_timestamp;
    let locks = [
        m.lock_ix(&bridge, paid).await,
        m.lock_ix(&bridge, refused).await,
    ];
    let events = m.send_ok(&locks, &[&bridge]).await;
    assert_eq!(
        events[0],
        AllotEvent::ExchangeLocked(ExchangeLocked {
            pool,
            request: pdas::exchange_request(&pool, paid),
            id: paid,
            user: user.pubkey(),
            locked_at: now,
            cancel_after_lock: now + 86_400,
            locked_by: bridge.pubkey(),
        })
    );
    let locked = m.request_state(paid).await;
    assert_eq!(
        (locked.status, locked.locked_at, locked.locked_by),
        (RequestStatus::Locked, now, bridge.pubkey())
    );
    // A second lock is refused.
    let ix = m.lock_ix(&bridge, paid).await;
    m.expect_refused(&[ix], &[&bridge], AllotError::RequestNotPending, &watched)
        .await;

    // Past the request's cancel time the user still cannot cancel a locked request.
    m.chain.advance_time(3_600).await;
    for id in [paid, refused] {
        let watched = [pool, pdas::exchange_request(&pool, id), m.user_token(0)];
        m.expect_refused(
            &[m.cancel_ix(0, id)],
            &[&user],
            AllotError::RequestLocked,
            &watched,
        )
        .await;
    }
    // Settle ends one; reject ends the other and returns the units.
    let settle = m.settle_ix(paid, 60, None).await;
    m.send_ok(&[settle], &[&bridge]).await;
    assert_eq!(m.request_state(paid).await.status, RequestStatus::Settled);
    let before = m.chain.token_balance(m.user_token(0)).await;
    m.reject(&bridge, refused, 0, 3).await;
    assert_eq!(
        m.request_state(refused).await.status,
        RequestStatus::Rejected
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, before + 20);
}

#[tokio::test]
async fn the_user_cancels_a_locked_request_once_its_lock_expires() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let user = m.users[0].insecure_clone();
    let (id, _) = m.request(0, 30).await.unwrap();
    let lock = m.lock_ix(&bridge, id).await;
    m.send_ok(&[lock], &[&bridge]).await;
    // The operator lengthens the lock timeout afterwards: the request keeps its own day.
    m.configure(|cfg| cfg.lock_timeout_seconds = 365 * 86_400)
        .await;
    let watched = [pool, pdas::exchange_request(&pool, id), m.user_token(0)];
    m.chain.advance_time(86_399).await;
    let ix = m.cancel_ix(0, id);
    m.expect_refused(&[ix], &[&user], AllotError::RequestLocked, &watched)
        .await;
    m.chain.advance_time(1).await;
    let before = m.chain.token_balance(m.user_token(0)).await;
    m.cancel(0, id).await;
    assert_eq!(m.request_state(id).await.status, RequestStatus::Cancelled);
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, before + 30);
    // Once cancelled, the operator can no longer settle it.
    let ix = m.settle_ix(id, 60, None).await;
    m.expect_refused(&[ix], &[&bridge], AllotError::RequestNotPending, &watched)
        .await;
}

/// An operator transfer takes the settlement authority from the former operator's bridge key
/// (audit finding of issue #18): that key can no longer lock, settle or reject, except the
/// requests it locked before (it may have paid them off chain: if it could not settle them, the
/// lock would expire and their users could cancel after being paid). The new operator settles the
/// rest.
#[tokio::test]
async fn an_operator_transfer_leaves_the_old_bridge_key_only_the_requests_it_locked() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let old_bridge = m.bridge.insecure_clone();
    let operator = m.fixture.operator.insecure_clone();
    let user = m.users[0].insecure_clone();
    let new_operator = m.chain.funded_keypair(1_000_000_000).await;
    let (paid, _) = m.request(0, 30).await.unwrap();
    let (refused, _) = m.request(0, 20).await.unwrap();
    let (open, _) = m.request(0, 10).await.unwrap();
    let locks = [
        m.lock_ix(&old_bridge, paid).await,
        m.lock_ix(&old_bridge, refused).await,
    ];
    m.send_ok(&locks, &[&old_bridge]).await;
    let new = new_operator.pubkey();
    let propose = instructions::pool_propose_operator(&operator.pubkey(), &pool, &new);
    m.send_ok(&[propose], &[&operator]).await;
    let accept = instructions::pool_accept_operator(&new, &pool);
    m.send_ok(&[accept], &[&new_operator]).await;
    let state = m.fixture.state(&mut m.chain).await;
    assert_eq!(
        (state.operator, state.exchange.settlement_authority),
        (new_operator.pubkey(), new_operator.pubkey())
    );

    // The old key can no longer lock, settle or reject a request it did not lock.
    let (open_at, paid_at) = (m.created_at(open).await, m.created_at(paid).await);
    let args = |paid_amount, id| allot::instructions::ExchangeSettleArgs {
        payout_reference: [7; 32],
        paid_amount,
        expected_created_at: if id == open { open_at } else { paid_at },
    };
    let open_address = pdas::exchange_request(&pool, open);
    let user_key = user.pubkey();
    let refusals = [
        m.lock_ix(&old_bridge, open).await,
        instructions::exchange_settle(&old_bridge.pubkey(), &pool, open, args(20, open), None),
        instructions::exchange_reject(&old_bridge.pubkey(), &pool, open, open_at, &user_key, 1),
    ];
    for refused_ix in refusals {
        m.expect_refused(
            &[refused_ix],
            &[&old_bridge],
            AllotError::NotSettlementAuthority,
            &[pool, open_address, m.user_token(0)],
        )
        .await;
    }
    // Nor can the new authority finish what the old key locked (it may be paying it), nor a
    // stranger.
    let not_authority = AllotError::NotSettlementAuthority;
    let paid_address = pdas::exchange_request(&pool, paid);
    let ix = instructions::exchange_reject(&new, &pool, paid, paid_at, &user_key, 1);
    let watched = [pool, paid_address, m.user_token(0)];
    m.expect_refused(&[ix], &[&new_operator], not_authority, &watched)
        .await;
    let stranger = m.chain.funded_keypair(1_000_000_000).await;
    let settle = |key: &Keypair, id, paid_amount| {
        instructions::exchange_settle(&key.pubkey(), &pool, id, args(paid_amount, id), None)
    };
    let ix = settle(&stranger, paid, 60);
    m.expect_refused(&[ix], &[&stranger], not_authority, &[pool, paid_address])
        .await;

    // What it locked, it still settles or rejects.
    m.send_ok(&[settle(&old_bridge, paid, 60)], &[&old_bridge])
        .await;
    let settled = m.request_state(paid).await;
    assert_eq!(
        (
            settled.status,
            settled.paid_amount,
            settled.payout_reference
        ),
        (RequestStatus::Settled, 60, [7; 32])
    );
    let before = m.chain.token_balance(m.user_token(0)).await;
    m.reject(&old_bridge, refused, 0, 2).await;
    assert_eq!(
        m.request_state(refused).await.status,
        RequestStatus::Rejected
    );
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, before + 20);

    // The new operator, now the settlement authority, locks and settles the rest.
    let lock_and_settle = [
        m.lock_ix(&new_operator, open).await,
        settle(&new_operator, open, 20),
    ];
    m.send_ok(&lock_and_settle, &[&new_operator]).await;
    let settled = m.request_state(open).await;
    assert_eq!(
        (settled.status, settled.locked_by),
        (RequestStatus::Settled, new_operator.pubkey())
    );
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
    let (mint, _, _, _) = m.payout_coin(1_000, extension, 6).await;
    m.configure_refused(
        |cfg| cfg.payout_mint = Some(mint),
        AllotError::PayoutMintUnsupported,
    )
    .await;
    assert_eq!(
        m.fixture.state(&mut m.chain).await.exchange.payout_mint,
        None
    );
}
