//! Pausable pools: Token-2022's Pausable extension on the mint of a pool created `pausable`, the
//! pool its authority. Pausing stops holders' own transfers and everything the program moves;
//! resuming lets them move again. Run against Token-2022's real bytecode.

use allot::error::AllotError;
use allot::events::PoolTransfersPauseChanged;
use allot::instructions::PoolCreateArgs;
use allot_client::events::AllotEvent;
use allot_client::{instructions, pdas, token};
use allot_tests::{PoolFixture, TestChain, pool_args};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};
use spl_token_2022_interface::extension::pausable::PausableConfig;
use spl_token_2022_interface::extension::{BaseStateWithExtensions as _, StateWithExtensions};
use spl_token_2022_interface::state::{Account as TokenAccount, Mint};

/// Token-2022's `TokenError::MintPaused`: "Transferring, minting, and burning is paused on this
/// mint".
const MINT_PAUSED: u32 = 67;

/// A transferable pool created `pausable`, funded, with a verifier.
async fn pausable_pool(chain: &mut TestChain, pool_id: u64) -> PoolFixture {
    let args = PoolCreateArgs {
        pausable: true,
        ..pool_args(pool_id, true)
    };
    PoolFixture::create_with(chain, args).await
}

/// `from` sends `amount` of the pool's units from its associated account to `to`'s.
fn transfer(fixture: &PoolFixture, from: &Pubkey, to: &Pubkey, amount: u64) -> Instruction {
    spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &fixture.user_token(from),
        &fixture.mint,
        &fixture.user_token(to),
        from,
        &[],
        amount,
        0,
    )
    .unwrap()
}

/// Whether the pool's units may move, as its mint says (`None`: not pausable).
async fn transfers_paused(chain: &mut TestChain, fixture: &PoolFixture) -> Option<bool> {
    let mint = chain.account(fixture.mint).await.unwrap();
    token::transfers_paused(&mint.data)
}

#[tokio::test]
async fn a_pausable_pool_stops_every_movement_of_its_units_until_resumed() {
    let mut chain = TestChain::start().await;
    let fixture = pausable_pool(&mut chain, 1).await;
    let pool = fixture.pool;
    let op = fixture.operator.insecure_clone();

    // The mint carries the Pausable extension, the pool its authority, running.
    let mint = chain.account(fixture.mint).await.unwrap();
    let state = StateWithExtensions::<Mint>::unpack(&mint.data).unwrap();
    let config = state.get_extension::<PausableConfig>().unwrap();
    assert_eq!(Option::<Pubkey>::from(config.authority), Some(pool));
    assert_eq!(transfers_paused(&mut chain, &fixture).await, Some(false));

    let alice = chain.funded_keypair(1_000_000_000).await;
    let bob = chain.funded_keypair(1_000_000_000).await;
    for user in [&alice, &bob] {
        fixture
            .issue_and_allocate(&mut chain, &user.pubkey(), 1_000)
            .await;
    }
    // Holders' token accounts carry the PausableAccount extension the mint requires.
    let account = chain.account(fixture.user_token(&alice.pubkey())).await;
    let account = StateWithExtensions::<TokenAccount>::unpack(&account.unwrap().data)
        .unwrap()
        .get_extension_types()
        .unwrap();
    assert!(account.contains(&spl_token_2022_interface::extension::ExtensionType::PausableAccount));
    let gift = transfer(&fixture, &alice.pubkey(), &bob.pubkey(), 10);
    chain.send_ok(&[gift], &[&alice]).await;

    // Only the operator pauses.
    let stranger = chain.funded_keypair(1_000_000_000).await;
    chain
        .expect_refused(
            &[instructions::pool_set_transfers_paused(
                &stranger.pubkey(),
                &pool,
                true,
            )],
            &[&stranger],
            AllotError::NotOperator,
            &[fixture.mint],
        )
        .await;

    let pause = instructions::pool_set_transfers_paused(&op.pubkey(), &pool, true);
    let events = chain.send_ok(&[pause], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::PoolTransfersPauseChanged(
            PoolTransfersPauseChanged { pool, paused: true }
        )]
    );
    assert_eq!(transfers_paused(&mut chain, &fixture).await, Some(true));

    // Paused: a holder's own transfer, funding, an allocation and a clawback all stop at
    // Token-2022, and nothing changes.
    let (alice_token, bob_token) = (
        fixture.user_token(&alice.pubkey()),
        fixture.user_token(&bob.pubkey()),
    );
    let watched = [alice_token, bob_token, fixture.vault, fixture.pool];
    let gift = transfer(&fixture, &alice.pubkey(), &bob.pubkey(), 10);
    chain
        .expect_refused(&[gift], &[&alice], MINT_PAUSED, &watched)
        .await;
    let fund = instructions::pool_fund(&op.pubkey(), &pool, 5);
    chain
        .expect_refused(&[fund], &[&op], MINT_PAUSED, &watched)
        .await;
    let carol = Keypair::new();
    fixture
        .issue_credential(&mut chain, &carol.pubkey(), 1_000)
        .await;
    let payer = chain.payer().pubkey();
    let allocate = instructions::allocate(
        &payer,
        &pool,
        &carol.pubkey(),
        allot_client::instructions::Evidence::Credential,
    );
    chain
        .expect_refused(std::slice::from_ref(&allocate), &[], MINT_PAUSED, &watched)
        .await;
    fixture.revoke_credential(&mut chain, &bob.pubkey()).await;
    let clawback = instructions::clawback(
        &pool,
        &bob.pubkey(),
        allot_client::instructions::Evidence::Credential,
    );
    chain
        .expect_refused(std::slice::from_ref(&clawback), &[], MINT_PAUSED, &watched)
        .await;

    // Resumed: everything moves again.
    let resume = instructions::pool_set_transfers_paused(&op.pubkey(), &pool, false);
    let events = chain.send_ok(&[resume], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::PoolTransfersPauseChanged(
            PoolTransfersPauseChanged {
                pool,
                paused: false
            }
        )]
    );
    assert_eq!(transfers_paused(&mut chain, &fixture).await, Some(false));
    let gift = transfer(&fixture, &alice.pubkey(), &bob.pubkey(), 10);
    chain.send_ok(&[gift], &[&alice]).await;
    chain.send_ok(&[allocate], &[]).await;
    chain.send_ok(&[clawback], &[]).await;
    assert_eq!(chain.token_balance(alice_token).await, 80);
    assert_eq!(chain.token_balance(bob_token).await, 20, "the gifts stay");
    assert_eq!(
        chain
            .token_balance(fixture.user_token(&carol.pubkey()))
            .await,
        100
    );
    fixture
        .assert_conserved(&mut chain, &[alice.pubkey(), bob.pubkey(), carol.pubkey()])
        .await;
}

#[tokio::test]
async fn the_escrow_and_shard_vaults_of_a_pausable_pool_hold_and_move_units() {
    let mut chain = TestChain::start().await;
    let fixture = pausable_pool(&mut chain, 1).await;
    // The escrow and a shard's vault are token-account PDAs the program creates: sized for the
    // PausableAccount extension, or Token-2022 would refuse to initialise them.
    fixture.create_shards(&mut chain, 1, 500).await;
    let user = Keypair::new();
    fixture
        .issue_credential(&mut chain, &user.pubkey(), 1_000)
        .await;
    fixture
        .allocate_sharded_by_credential(&mut chain, &user.pubkey(), 0)
        .await
        .unwrap();
    assert_eq!(
        chain
            .token_balance(fixture.user_token(&user.pubkey()))
            .await,
        100
    );
    for vault in [
        pdas::escrow(&fixture.pool),
        pdas::shard_vault(&fixture.pool, 0),
    ] {
        let account = chain.account(vault).await.unwrap();
        let types = StateWithExtensions::<TokenAccount>::unpack(&account.data)
            .unwrap()
            .get_extension_types()
            .unwrap();
        assert_eq!(
            types,
            [spl_token_2022_interface::extension::ExtensionType::PausableAccount],
            "{vault}"
        );
    }
    assert_eq!(
        chain
            .token_balance(pdas::shard_vault(&fixture.pool, 0))
            .await,
        400
    );
    fixture.assert_conserved(&mut chain, &[user.pubkey()]).await;
}

#[tokio::test]
async fn a_pool_created_without_pausable_cannot_pause_its_transfers() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    assert_eq!(transfers_paused(&mut chain, &fixture).await, None);
    let pause = instructions::pool_set_transfers_paused(&op.pubkey(), &fixture.pool, true);
    chain
        .expect_refused(
            &[pause],
            &[&op],
            AllotError::TransfersNotPausable,
            &[fixture.mint, fixture.pool],
        )
        .await;
}

#[tokio::test]
async fn only_a_transferable_pool_can_be_created_pausable() {
    let mut chain = TestChain::start().await;
    let creator = chain.funded_keypair(10_000_000_000).await;
    let args = PoolCreateArgs {
        pausable: true,
        ..pool_args(1, false)
    };
    let pool = pdas::pool(&creator.pubkey(), 1);
    chain
        .expect_refused(
            &[instructions::pool_create(&creator.pubkey(), args)],
            &[&creator],
            AllotError::PausableNeedsTransferable,
            &[pool, pdas::mint(&pool)],
        )
        .await;
    assert!(chain.account(pool).await.is_none());
}
