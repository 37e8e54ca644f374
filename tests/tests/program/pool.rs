//! Pool creation, funding, rule updates, pausing and the operator transfer.

use allot_client::events::AllotEvent;
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain};
use solana_sdk::signature::Signer;

#[tokio::test]
async fn pool_is_created_with_a_permanent_delegate_mint_and_vault() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 7, true).await;
    let pool = fixture.state(&mut chain).await;
    assert_eq!(pool.operator, fixture.operator.pubkey());
    assert_eq!(pool.mint, pdas::mint(&fixture.pool));
    assert_eq!(chain.token_balance(fixture.vault).await, 10_000);
    assert_eq!(chain.mint_supply(fixture.mint).await, 10_000);
    let _ = AllotEvent::PoolPauseChanged;
}
