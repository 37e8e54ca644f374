//! `exchange_settle`: the settlement authority settles a pending request once, for the quoted
//! amount, burning the escrowed units or returning them to the vault — off chain, or paying a
//! stablecoin in the same transaction.

use allot::error::AllotError;
use allot::events::ExchangeSettled;
use allot::instructions::ExchangeSettleArgs;
use allot::state::{RequestStatus, SettleAction};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, OnChainPayout};
use allot_client::pdas;
use solana_sdk::signature::Signer;

use crate::market::{Market, stablecoin};

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
        expected_created_at: m.created_at(id).await,
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
    let settle = m.settle_ix(id, 119, None).await;
    m.expect_refused(
        &[settle],
        &[&bridge],
        AllotError::PaidAmountMismatch,
        &watched,
    )
    .await;

    let now = m.chain.clock().await.unix_timestamp;
    let settle = m.settle_ix(id, 120, None).await;
    let events = m.send_ok(&[settle], &[&bridge]).await;
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

    let ix = m.settle_ix(id, 120, None).await;
    m.expect_refused(&[ix], &[&bridge], AllotError::RequestNotPending, &watched)
        .await;
}

#[tokio::test]
async fn settle_can_return_units_to_the_vault() {
    let mut m = Market::open(1, |c| c.settle_action = SettleAction::ReturnToVault).await;
    let (id, _) = m.request(0, 60).await.unwrap();
    let bridge = m.bridge.insecure_clone();
    let settle = m.settle_ix(id, 120, None).await;
    let events = m.send_ok(&[settle], &[&bridge]).await;
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
    m.configure(|cfg| cfg.payout_mint = Some(mint)).await;
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
    let settle = m.settle_ix(id, 120, Some(wrong)).await;
    m.expect_refused(
        &[settle],
        &[&bridge],
        AllotError::PayoutAccountsMismatch,
        &watched,
    )
    .await;

    let ix = m.settle_ix(id, 120, Some(payout.clone())).await;
    let events = m.send_ok(&[ix], &[&bridge]).await;
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
    m.send_ok(&[drain], &[&bridge]).await;
    let ix = m.settle_ix(id2, 80, Some(payout)).await;
    let failure = m.send(&[ix], &[&bridge]).await.unwrap_err();
    assert_eq!(
        failure.custom_code(),
        Some(1),
        "token program: insufficient funds"
    );
    assert_eq!(m.request_state(id2).await.status, RequestStatus::Pending);
    assert_eq!(m.chain.token_balance(pdas::escrow(&pool)).await, 40);
    m.conserved().await;
}
