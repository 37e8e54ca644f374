//! The client library against the program in-process, through its `Chain` trait: fetching and
//! decoding accounts, scanning by pool with `getProgramAccounts` filters, sending transactions
//! and decoding their failures.

use allot::error::AllotError;
use allot::state::{Credential, ExchangeRequest, Pool, RequestStatus};
use allot_client::accounts::{self, FetchError};
use allot_client::chain::{Chain, ChainError};
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain, exchange_config};
use anchor_lang::prelude::Pubkey;
use solana_sdk::message::{VersionedMessage, v0};
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::VersionedTransaction;

#[tokio::test]
async fn fetch_decodes_allot_accounts_and_refuses_foreign_ones() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let embedded = chain.embedded();
    let pool: Pool = accounts::fetch(&embedded, fixture.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pool.operator, fixture.operator.pubkey());
    let missing: Option<Pool> = accounts::fetch(&embedded, Pubkey::new_unique())
        .await
        .unwrap();
    assert!(missing.is_none());
    // The vault is a token account, not an allot account.
    let foreign = accounts::fetch::<Pool>(&embedded, fixture.vault)
        .await
        .unwrap_err();
    assert!(
        matches!(foreign, FetchError::Decode { address, .. } if address == fixture.vault),
        "{foreign}"
    );
    // A credential address read as a pool: wrong type.
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 1_000).await;
    let wrong = accounts::fetch::<Pool>(&embedded, pdas::credential(&fixture.pool, &user))
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("is not a valid Pool"), "{wrong}");
}

#[tokio::test]
async fn scans_find_a_pools_credentials_and_pending_requests_only() {
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let b = PoolFixture::create(&mut chain, 2, true).await;
    let users: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
    for user in &users {
        a.issue_credential(&mut chain, &user.pubkey(), 1_000).await;
    }
    b.issue_credential(&mut chain, &users[0].pubkey(), 1_000)
        .await;
    let embedded = chain.embedded();
    let found = accounts::credentials_of_pool(&embedded, &a.pool)
        .await
        .unwrap();
    let mut found_users: Vec<Pubkey> = found
        .iter()
        .map(|(_, c): &(Pubkey, Credential)| c.user)
        .collect();
    found_users.sort();
    let mut expected: Vec<Pubkey> = users.iter().map(|u| u.pubkey()).collect();
    expected.sort();
    assert_eq!(found_users, expected);
    assert!(
        found
            .iter()
            .all(|(address, c)| *address == pdas::credential(&a.pool, &c.user))
    );
    assert_eq!(
        accounts::credentials_of_pool(&embedded, &b.pool)
            .await
            .unwrap()
            .len(),
        1
    );

    // Two requests; one is rejected: only the other is pending.
    let bridge = chain.funded_keypair(1_000_000_000).await;
    a.set_exchange(&mut chain, exchange_config(bridge.pubkey()))
        .await;
    let payer = chain.payer().pubkey();
    for (i, user) in users.iter().take(2).enumerate() {
        let user_key = user.pubkey();
        let allocate = instructions::allocate(&payer, &a.pool, &user_key, Evidence::Credential);
        chain.send_ok(&[allocate], &[]).await;
        let ix = instructions::exchange_request(&user_key, &payer, &a.pool, i as u64, 10);
        chain.send_ok(&[ix], &[user]).await;
    }
    let first: ExchangeRequest = chain.fetch(pdas::exchange_request(&a.pool, 0)).await;
    let ix = instructions::exchange_reject(
        &bridge.pubkey(),
        &a.pool,
        0,
        first.created_at,
        &users[0].pubkey(),
        1,
    );
    chain.send_ok(&[ix], &[&bridge]).await;
    let pending = accounts::open_requests(&embedded, &a.pool).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].1.id, pending[0].1.user, pending[0].1.status),
        (1, users[1].pubkey(), RequestStatus::Pending)
    );
    assert!(
        accounts::open_requests(&embedded, &b.pool)
            .await
            .unwrap()
            .is_empty()
    );

    // A request in the other pool, and a's request locked: open, each listed with its pool, and
    // every pool's open requests listed at once (the rejected one is not).
    b.set_exchange(&mut chain, exchange_config(bridge.pubkey()))
        .await;
    let user_key = users[0].pubkey();
    let allocate = instructions::allocate(&payer, &b.pool, &user_key, Evidence::Credential);
    chain.send_ok(&[allocate], &[]).await;
    let ix = instructions::exchange_request(&user_key, &payer, &b.pool, 7, 10);
    chain.send_ok(&[ix], &[&users[0]]).await;
    let locked: ExchangeRequest = chain.fetch(pdas::exchange_request(&a.pool, 1)).await;
    let ix = instructions::exchange_lock(&bridge.pubkey(), &a.pool, 1, locked.created_at);
    chain.send_ok(&[ix], &[&bridge]).await;
    let of_b = accounts::open_requests(&embedded, &b.pool).await.unwrap();
    assert_eq!(
        of_b.iter()
            .map(|(address, r)| (*address, r.id, r.status))
            .collect::<Vec<_>>(),
        [(
            pdas::exchange_request(&b.pool, 7),
            7,
            RequestStatus::Pending
        )]
    );
    let mut every: Vec<_> = accounts::open_requests_of_every_pool(&embedded)
        .await
        .unwrap()
        .into_iter()
        .map(|(address, r)| (address, r.pool, r.id, r.status))
        .collect();
    every.sort_by_key(|(address, ..)| *address);
    let mut expected = vec![
        (
            pdas::exchange_request(&a.pool, 1),
            a.pool,
            1,
            RequestStatus::Locked,
        ),
        (
            pdas::exchange_request(&b.pool, 7),
            b.pool,
            7,
            RequestStatus::Pending,
        ),
    ];
    expected.sort_by_key(|(address, ..)| *address);
    assert_eq!(every, expected);
}

#[tokio::test]
async fn pools_are_found_by_their_settlement_authority() {
    let mut chain = TestChain::start().await;
    let mut created = Vec::new();
    for id in [1, 2, 3] {
        created.push(PoolFixture::create(&mut chain, id, true).await);
    }
    let platform = Keypair::new().pubkey();
    let other = Keypair::new().pubkey();
    // Pools 1 and 3 are settled by the platform, pool 2 by another bridge.
    for (fixture, authority) in created.iter().zip([platform, other, platform]) {
        fixture
            .set_exchange(&mut chain, exchange_config(authority))
            .await;
    }
    let embedded = chain.embedded();
    let found = accounts::pools_settled_by(&embedded, &platform)
        .await
        .unwrap();
    let mut expected = vec![created[0].pool, created[2].pool];
    expected.sort();
    let addresses: Vec<Pubkey> = found.iter().map(|(address, _)| *address).collect();
    assert_eq!(addresses, expected);
    assert!(
        found
            .iter()
            .all(|(_, pool)| pool.exchange.settlement_authority == platform)
    );
    let by_other = accounts::pools_settled_by(&embedded, &other).await.unwrap();
    assert_eq!(by_other.len(), 1);
    assert_eq!(by_other[0].0, created[1].pool);
    assert!(
        accounts::pools_settled_by(&embedded, &Keypair::new().pubkey())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn chain_send_lands_v0_transactions_and_decodes_program_errors() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let embedded = chain.embedded();
    let payer = chain.payer().insecure_clone();
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 1_000).await;
    let v0_tx = |ixs: &[solana_sdk::instruction::Instruction], blockhash| {
        let message = v0::Message::try_compile(&payer.pubkey(), ixs, &[], blockhash).unwrap();
        VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer]).unwrap()
    };
    let allocate =
        instructions::allocate(&payer.pubkey(), &fixture.pool, &user, Evidence::Credential);
    let blockhash = embedded.latest_blockhash().await.unwrap();
    embedded
        .send(v0_tx(std::slice::from_ref(&allocate), blockhash))
        .await
        .unwrap();
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    // The index learned the accounts the transaction named.
    let record = pdas::allocation_record(&fixture.pool, &user);
    let owned = embedded.program_accounts(allot::ID, vec![]).await.unwrap();
    assert!(owned.iter().any(|(address, _)| *address == record));

    // Same period again (a distinct transaction: it also sets a compute-unit limit): the
    // failure carries the allot error, decoded into words.
    let limit =
        solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(400_000);
    let failure = embedded
        .send(v0_tx(&[limit, allocate], blockhash))
        .await
        .unwrap_err();
    assert!(
        matches!(failure, ChainError::Transaction { .. }),
        "{failure}"
    );
    assert_eq!(
        failure.custom_code(),
        Some(u32::from(AllotError::AlreadyAllocatedThisPeriod))
    );
    assert!(
        failure.to_string().contains("AlreadyAllocatedThisPeriod"),
        "{failure}"
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    let now = embedded.unix_timestamp().await.unwrap();
    assert_eq!(now, chain.clock().await.unix_timestamp);
}
