//! Retiring a pool and closing its allocation records: a retired pool allocates and claws back
//! no more, its records close (anyone sends it) with their rent going back to whoever paid it,
//! and exchanges go on — a request finding no record opens an empty one.

use allot::error::AllotError;
use allot::events::{AllocationRecordClosed, PoolRetired};
use allot::state::AllocationRecord;
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::PERIOD;
use anchor_lang::Space;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::Market;

/// The operator's retirement of the market's pool.
fn retire_ix(m: &Market) -> solana_sdk::instruction::Instruction {
    instructions::pool_retire(&m.fixture.operator.pubkey(), &m.fixture.pool)
}

#[tokio::test]
async fn a_retired_pool_allocates_and_claws_back_no_more() {
    let mut m = Market::open(2, |_| {}).await;
    let pool = m.fixture.pool;
    let watched = [pool, m.user_token(1)];

    // Only the operator retires.
    let stranger = m.chain.funded_keypair(1_000_000_000).await;
    let by_stranger = instructions::pool_retire(&stranger.pubkey(), &pool);
    m.expect_refused(
        &[by_stranger],
        &[&stranger],
        AllotError::NotOperator,
        &watched,
    )
    .await;

    let op = m.fixture.operator.insecure_clone();
    let now = m.chain.clock().await.unix_timestamp;
    let events = m.send_ok(&[retire_ix(&m)], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::PoolRetired(PoolRetired {
            pool,
            operator: op.pubkey(),
            retired_at: now,
        })]
    );
    assert_eq!(m.fixture.state(&mut m.chain).await.retired_at, now);
    // A retirement is final: it cannot be sent twice.
    m.expect_refused(&[retire_ix(&m)], &[&op], AllotError::PoolRetired, &watched)
        .await;

    // No allocation: not for a new user, not for a holder in a new period.
    m.chain.advance_time(PERIOD).await;
    let newcomer = Keypair::new().pubkey();
    m.fixture
        .issue_credential(&mut m.chain, &newcomer, 1_000)
        .await;
    let payer = m.chain.payer().pubkey();
    let holder = m.users[1].pubkey();
    m.fixture
        .issue_credential(&mut m.chain, &holder, 1_000)
        .await;
    for user in [newcomer, holder] {
        let allocate = instructions::allocate(&payer, &pool, &user, Evidence::Credential);
        let record = pdas::allocation_record(&pool, &user);
        m.expect_refused(&[allocate], &[], AllotError::PoolRetired, &[pool, record])
            .await;
    }
    // No clawback, even of a holder whose credential is revoked.
    m.revoke(1).await;
    let clawback = m.clawback_ix(1);
    m.expect_refused(&[clawback], &[], AllotError::PoolRetired, &watched)
        .await;
    assert_eq!(m.chain.token_balance(m.user_token(1)).await, 100);

    // Exchanges go on.
    let (id, _) = m
        .request(1, 40)
        .await
        .expect("a retired pool's units still exchange");
    let settle = m.settle_ix(id, 80, None).await;
    let bridge = m.bridge.insecure_clone();
    m.send_ok(&[settle], &[&bridge]).await;
}

#[tokio::test]
async fn a_closed_record_returns_its_rent_to_its_payer_and_opens_no_second_allocation() {
    // Sent through the chain directly: the sponsored user is not among the market's holders
    // that its conservation check counts.
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    // A sponsor pays for this user's record (and token account) at its first allocation.
    let sponsor = m.chain.funded_keypair(1_000_000_000).await;
    let user = Keypair::new().pubkey();
    m.fixture.issue_credential(&mut m.chain, &user, 1_000).await;
    let allocate = instructions::allocate(&sponsor.pubkey(), &pool, &user, Evidence::Credential);
    m.chain.send_ok(&[allocate], &[&sponsor]).await;
    let address = pdas::allocation_record(&pool, &user);
    let record: AllocationRecord = m.chain.fetch(address).await;
    assert_eq!(
        (record.pool, record.user, record.rent_payer),
        (pool, user, sponsor.pubkey())
    );
    let close = instructions::allocation_record_close(&pool, &user, &sponsor.pubkey());
    let watched = [address, sponsor.pubkey()];

    // Not before the pool is retired.
    m.chain
        .expect_refused(
            std::slice::from_ref(&close),
            &[],
            AllotError::PoolNotRetired,
            &watched,
        )
        .await;
    let op = m.fixture.operator.insecure_clone();
    let retire = retire_ix(&m);
    m.chain.send_ok(&[retire], &[&op]).await;
    // Not to anyone but the payer.
    let to_stranger = instructions::allocation_record_close(&pool, &user, &op.pubkey());
    let wrong_payer = anchor_lang::error::ErrorCode::ConstraintHasOne;
    m.chain
        .expect_refused(&[to_stranger], &[], wrong_payer, &watched)
        .await;

    // Anyone sends it (here the chain's fee payer); the sponsor gets every lamport back.
    let lamports = m.chain.account(address).await.unwrap().lamports;
    assert_eq!(8 + AllocationRecord::INIT_SPACE, 168);
    assert_eq!(lamports, m.chain.rent().await.minimum_balance(168));
    let before = m.chain.account(sponsor.pubkey()).await.unwrap().lamports;
    let events = m.chain.send_ok(std::slice::from_ref(&close), &[]).await;
    assert_eq!(
        events,
        vec![AllotEvent::AllocationRecordClosed(AllocationRecordClosed {
            pool,
            user,
            record: address,
            rent_payer: sponsor.pubkey(),
            lamports,
        })]
    );
    assert!(m.chain.account(address).await.is_none());
    let after = m.chain.account(sponsor.pubkey()).await.unwrap().lamports;
    assert_eq!(after - before, lamports);
    // The user keeps its units.
    assert_eq!(
        m.chain.token_balance(m.fixture.user_token(&user)).await,
        100
    );

    // The closed address opens no second allocation in the period (nor in any later one).
    let again = instructions::allocate(&sponsor.pubkey(), &pool, &user, Evidence::Credential);
    m.chain
        .expect_refused(&[again], &[&sponsor], AllotError::PoolRetired, &watched)
        .await;
    assert!(m.chain.account(address).await.is_none());
    // And it cannot be closed twice.
    let twice = anchor_lang::error::ErrorCode::AccountNotInitialized;
    m.chain.expect_refused(&[close], &[], twice, &watched).await;
}

#[tokio::test]
async fn a_record_counting_this_periods_requests_waits_and_a_request_reopens_a_closed_one() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].insecure_clone();
    let address = pdas::allocation_record(&pool, &user.pubkey());
    let payer = m.chain.payer().pubkey();
    let (id, _) = m.request(0, 60).await.expect("the request lands");
    let op = m.fixture.operator.insecure_clone();
    m.send_ok(&[retire_ix(&m)], &[&op]).await;

    // The record counts this period's request (the per-user cap): it waits for the next period.
    let close = instructions::allocation_record_close(&pool, &user.pubkey(), &payer);
    m.expect_refused(
        std::slice::from_ref(&close),
        &[],
        AllotError::RecordStillInUse,
        &[address],
    )
    .await;
    m.chain.advance_time(PERIOD).await;
    m.send_ok(&[close], &[]).await;
    assert!(m.chain.account(address).await.is_none());

    // The request made before the close still cancels: its units come back to the user.
    let cancelled = m.cancel(0, id).await;
    assert!(matches!(cancelled[..], [AllotEvent::ExchangeCancelled(_)]));
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 100);
    assert!(m.chain.account(address).await.is_none());

    // The next request opens an empty record, the user paying, and lands.
    let (id, _) = m
        .request(0, 30)
        .await
        .expect("a request reopens the record");
    let record: AllocationRecord = m.chain.fetch(address).await;
    assert_eq!(
        (record.pool, record.user, record.rent_payer),
        (pool, user.pubkey(), user.pubkey())
    );
    assert_eq!(
        (record.allocations, record.allocated, record.exchanged),
        (0, 0, 0)
    );
    assert_eq!(record.period_requested, 30);
    assert_eq!(m.request_state(id).await.own_units, 0);
}

#[tokio::test]
async fn a_record_waits_for_the_holding_time_of_its_last_allocation() {
    let hold = 3 * PERIOD;
    let mut m = Market::open(1, |c| c.min_holding_seconds = hold).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let op = m.fixture.operator.insecure_clone();
    m.send_ok(&[retire_ix(&m)], &[&op]).await;
    let payer = m.chain.payer().pubkey();
    let close = instructions::allocation_record_close(&pool, &user, &payer);
    let address = pdas::allocation_record(&pool, &user);
    m.chain.advance_time(PERIOD).await;
    m.expect_refused(
        std::slice::from_ref(&close),
        &[],
        AllotError::RecordStillInUse,
        &[address],
    )
    .await;
    m.chain.advance_time(2 * PERIOD).await;
    m.send_ok(&[close], &[]).await;
    assert!(m.chain.account(address).await.is_none());
}

#[tokio::test]
async fn a_request_made_before_the_close_still_cancels_once_a_new_request_reopened_the_record() {
    let mut m = Market::open(1, |_| {}).await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let address = pdas::allocation_record(&pool, &user);
    let (old, _) = m.request(0, 60).await.expect("the request lands");
    let op = m.fixture.operator.insecure_clone();
    m.send_ok(&[retire_ix(&m)], &[&op]).await;
    m.chain.advance_time(PERIOD).await;
    let payer = m.chain.payer().pubkey();
    let close = instructions::allocation_record_close(&pool, &user, &payer);
    m.send_ok(&[close], &[]).await;
    // A new request reopens the record empty; it counts none of the old request's own units.
    let (new, _) = m
        .request(0, 30)
        .await
        .expect("a request reopens the record");
    let record: AllocationRecord = m.chain.fetch(address).await;
    assert_eq!((record.exchanged, record.period_requested), (0, 30));

    // The old request cancels all the same (its 60 units back), and the bridge rejects the new.
    let cancelled = m.cancel(0, old).await;
    assert!(matches!(cancelled[..], [AllotEvent::ExchangeCancelled(_)]));
    let bridge = m.bridge.insecure_clone();
    m.reject(&bridge, new, 0, 3).await;
    assert_eq!(m.chain.token_balance(m.user_token(0)).await, 100);
    let record: AllocationRecord = m.chain.fetch(address).await;
    assert_eq!((record.exchanged, record.period_requested), (0, 0));
}
