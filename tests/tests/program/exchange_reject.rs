//! `exchange_reject`: the settlement authority, and nobody else, refuses a pending request with a
//! reason, and the escrowed units go back to the user.

use allot::error::AllotError;
use allot::events::ExchangeRejected;
use allot::state::RequestStatus;
use allot_client::events::AllotEvent;
use allot_client::instructions;
use allot_client::pdas;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::Market;

#[tokio::test]
async fn settlement_authority_rejects_with_a_reason() {
    let (mut m, id) = Market::with_pending_request().await;
    let pool = m.fixture.pool;
    let user = m.users[0].pubkey();
    let op = m.fixture.operator.insecure_clone();
    let watched = m.request_accounts(0, id);
    let created_at = m.created_at(id).await;
    let reject = |key: &Keypair| {
        instructions::exchange_reject(&key.pubkey(), &pool, id, created_at, &user, 7)
    };
    let not_authority = AllotError::NotSettlementAuthority;
    m.expect_refused(&[reject(&op)], &[&op], not_authority, &watched)
        .await;
    let bridge = m.bridge.insecure_clone();
    let now = m.chain.clock().await.unix_timestamp;
    let events = m.send_ok(&[reject(&bridge)], &[&bridge]).await;
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
    let not_pending = AllotError::RequestNotPending;
    m.expect_refused(&[reject(&bridge)], &[&bridge], not_pending, &watched)
        .await;
}
