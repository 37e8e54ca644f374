//! `exchange_close`: a final request's rent goes back to whoever paid it, and its address is
//! free for a later request.

use allot::error::AllotError;
use allot::events::ExchangeRequestClosed;
use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::events::AllotEvent;
use allot_client::instructions;
use allot_client::pdas;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::Market;

#[tokio::test]
async fn rent_returns_to_the_payer_only_once_the_request_is_final() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let sponsor = m.chain.funded_keypair(100_000_000).await;
    let id = 0;
    let ix = instructions::exchange_request(&user.pubkey(), &sponsor.pubkey(), &pool, id, 60);
    m.send_ok(&[ix], &[&user, &sponsor]).await;
    let address = pdas::exchange_request(&pool, id);
    let rent = m.chain.account(address).await.unwrap().lamports;
    let request = m.request_state(id).await;
    assert_eq!(request.rent_payer, sponsor.pubkey());

    let close = |to: &Keypair| instructions::exchange_close(&pool, id, &to.pubkey());
    let watched = [address, sponsor.pubkey()];
    m.expect_refused(
        &[close(&sponsor)],
        &[],
        AllotError::RequestNotFinal,
        &watched,
    )
    .await;
    let bridge = m.bridge.insecure_clone();
    let settle = m.settle_ix(id, 120, None).await;
    m.send_ok(&[settle], &[&bridge]).await;
    // Rent cannot be sent to anyone else.
    let elsewhere = anchor_lang::error::ErrorCode::ConstraintAddress;
    let watched = [address, user.pubkey()];
    m.expect_refused(&[close(&user)], &[], elsewhere, &watched)
        .await;
    let before = m.chain.account(sponsor.pubkey()).await.unwrap().lamports;
    let events = m.send_ok(&[close(&sponsor)], &[]).await;
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
    // The closed request's address is free: a later request may take the same id, and is a new
    // request (the bridge tells the two apart by what each says; `worker::mismatch`).
    m.chain.advance_time(5).await;
    let reopened = m.request_ix(0, id, 10);
    m.send_ok(&[reopened], &[&user]).await;
    let again = m.request_state(id).await;
    assert_eq!(
        (again.id, again.amount, again.status, again.rent_payer),
        (id, 10, RequestStatus::Pending, user.pubkey())
    );
    assert!(
        again.created_at > request.created_at,
        "a new request, made later"
    );
    m.conserved().await;
}

/// A lock signed for a request (its `created_at` as the bridge read it) and landing only after
/// that request was cancelled, closed and its id taken by a later request is refused on the later
/// one, which stays pending and its user's to cancel; a lock naming the later request locks it.
#[tokio::test]
async fn a_lock_signed_for_a_closed_request_does_not_lock_a_later_one_at_its_id() {
    let mut m = Market::open(1, |cfg| cfg.cancel_timeout_seconds = 60).await;
    let pool = m.fixture.pool;
    let bridge = m.bridge.insecure_clone();
    let (id, _) = m.request(0, 30).await.expect("the request lands");
    let earlier = m.request_state(id).await;
    // The bridge signs its lock now; it lands only after what follows.
    let stale = instructions::exchange_lock(&bridge.pubkey(), &pool, id, earlier.created_at);
    let later = cancel_close_and_reopen(&mut m, id, 20).await;
    assert!(later.created_at > earlier.created_at);
    let watched = [pdas::exchange_request(&pool, id)];
    m.expect_refused(
        &[stale],
        &[&bridge],
        AllotError::RequestInstanceMismatch,
        &watched,
    )
    .await;
    let untouched = m.request_state(id).await;
    assert_eq!(
        (untouched.status, untouched.locked_at, untouched.amount),
        (RequestStatus::Pending, 0, 20)
    );
    let lock = m.lock_ix(&bridge, id).await;
    m.send_ok(&[lock], &[&bridge]).await;
    let locked = m.request_state(id).await;
    assert_eq!(
        (locked.status, locked.locked_by, locked.amount),
        (RequestStatus::Locked, bridge.pubkey(), 20)
    );
    m.conserved().await;
}

/// A settlement or a rejection signed for a request lands on no later request at its id, even
/// one of the same user at the same quote: settle bytes still in flight when the paid request
/// was cancelled and closed would otherwise settle the later request, burning its units unpaid.
#[tokio::test]
async fn a_settlement_signed_for_a_closed_request_does_not_settle_a_later_one_at_its_id() {
    let mut m = Market::open(1, |cfg| cfg.cancel_timeout_seconds = 60).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let bridge = m.bridge.insecure_clone();
    let (id, _) = m.request(0, 30).await.expect("the request lands");
    let earlier = m.request_state(id).await;
    // Signed now; sent only after what follows.
    let stale_settle = m.settle_ix(id, earlier.quoted, None).await;
    let stale_reject = instructions::exchange_reject(
        &bridge.pubkey(),
        &pool,
        id,
        earlier.created_at,
        &user.pubkey(),
        7,
    );
    let later = cancel_close_and_reopen(&mut m, id, 30).await;
    assert_eq!((later.user, later.quoted), (user.pubkey(), earlier.quoted));
    assert!(later.created_at > earlier.created_at);
    let watched = [
        pdas::exchange_request(&pool, id),
        pdas::escrow(&pool),
        m.user_token(0),
    ];
    for stale in [stale_settle, stale_reject] {
        m.expect_refused(
            &[stale],
            &[&bridge],
            AllotError::RequestInstanceMismatch,
            &watched,
        )
        .await;
    }
    assert_eq!(m.request_state(id).await.status, RequestStatus::Pending);
    let settle = m.settle_ix(id, later.quoted, None).await;
    m.send_ok(&[settle], &[&bridge]).await;
    let settled = m.request_state(id).await;
    assert_eq!(
        (settled.status, settled.paid_amount, settled.created_at),
        (RequestStatus::Settled, later.quoted, later.created_at)
    );
    m.conserved().await;
}

/// User 0, past the cancel time (60 s), cancels request `id`, closes it and opens a later
/// request of `amount` units at the same id; returns the later request.
async fn cancel_close_and_reopen(m: &mut Market, id: u64, amount: u64) -> ExchangeRequest {
    let user = m.users[0].insecure_clone();
    m.chain.advance_time(61).await;
    m.send_ok(
        &[
            m.cancel_ix(0, id),
            instructions::exchange_close(&m.fixture.pool, id, &user.pubkey()),
        ],
        &[&user],
    )
    .await;
    m.send_ok(&[m.request_ix(0, id, amount)], &[&user]).await;
    m.request_state(id).await
}
