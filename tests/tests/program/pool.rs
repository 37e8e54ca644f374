//! Pool creation, funding, rule updates, pausing and the two-step operator transfer.

use allot::events::*;
use allot::state::{Comparison, ResourceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions;
use allot_client::pdas;
use allot_tests::world::PERIOD;
use allot_tests::{PoolFixture, TestChain, pool_args, rule};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};
use spl_token_2022_interface::extension::non_transferable::NonTransferable;
use spl_token_2022_interface::extension::permanent_delegate::PermanentDelegate;
use spl_token_2022_interface::extension::{BaseStateWithExtensions, StateWithExtensions};
use spl_token_2022_interface::state::Mint;

use allot::error::AllotError;
use allot::instructions::PoolCreateArgs;

#[tokio::test]
async fn pool_create_makes_a_permanent_delegate_mint_and_an_empty_vault() {
    let mut chain = TestChain::start().await;
    let creator = chain.funded_keypair(5_000_000_000).await;
    let pool = pdas::pool(&creator.pubkey(), 1);
    let now = chain.clock().await.unix_timestamp;

    let ix = instructions::pool_create(&creator.pubkey(), pool_args(1, true));
    let events = chain.send_ok(&[ix], &[&creator]).await;

    let mint = pdas::mint(&pool);
    let vault = pdas::vault(&pool);
    assert_eq!(
        events,
        vec![AllotEvent::PoolCreated(PoolCreated {
            pool,
            creator: creator.pubkey(),
            pool_id: 1,
            operator: creator.pubkey(),
            kind: ResourceKind::VirtualStock,
            mint,
            vault,
            decimals: 0,
            transferable: true,
            pausable: false,
            supply_cap: 1_000_000,
            rule: rule(),
            period_origin: now,
            period_seconds: PERIOD,
        })]
    );
    let account = chain.account(mint).await.unwrap();
    assert_eq!(account.owner, spl_token_2022_interface::ID);
    let state = StateWithExtensions::<Mint>::unpack(&account.data).unwrap();
    assert_eq!(state.base.mint_authority, Some(pool).into());
    assert_eq!(state.base.freeze_authority, None.into());
    assert_eq!(state.base.supply, 0);
    let delegate = state.get_extension::<PermanentDelegate>().unwrap();
    assert_eq!(Option::<Pubkey>::from(delegate.delegate), Some(pool));
    assert!(state.get_extension::<NonTransferable>().is_err());
    assert_eq!(chain.token_balance(vault).await, 0);
    let stored: allot::state::Pool = chain.fetch(pool).await;
    assert_eq!(
        (stored.operator, stored.totals.minted, stored.paused),
        (creator.pubkey(), 0, false)
    );
}

#[tokio::test]
async fn non_transferable_pool_mint_carries_the_non_transferable_extension() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 2, false).await;
    let account = chain.account(fixture.mint).await.unwrap();
    let state = StateWithExtensions::<Mint>::unpack(&account.data).unwrap();
    assert!(state.get_extension::<NonTransferable>().is_ok());
    assert!(state.get_extension::<PermanentDelegate>().is_ok());
    assert!(!fixture.state(&mut chain).await.transferable);
}

#[tokio::test]
async fn one_creator_runs_several_pools_and_an_id_is_taken_once() {
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let operator = a.operator.insecure_clone();
    let create = |id| instructions::pool_create(&operator.pubkey(), pool_args(id, true));
    chain.send_ok(&[create(2)], &[&operator]).await;
    assert_ne!(pdas::pool(&operator.pubkey(), 2), a.pool);
    // Creating id 1 again fails and leaves the existing pool as it was.
    let before = chain.snapshot(&[a.pool, a.mint, a.vault]).await;
    chain.send(&[create(1)], &[&operator]).await.unwrap_err();
    assert_eq!(chain.snapshot(&[a.pool, a.mint, a.vault]).await, before);
}

#[tokio::test]
async fn pool_create_survives_a_prefunded_mint_address() {
    let mut chain = TestChain::start().await;
    let creator = chain.funded_keypair(5_000_000_000).await;
    let pool = pdas::pool(&creator.pubkey(), 9);
    // A griefer sends lamports to the future mint address.
    let payer = chain.payer().pubkey();
    let grief = anchor_lang::solana_program::system_instruction::transfer(
        &payer,
        &pdas::mint(&pool),
        1_000_000,
    );
    chain.send_ok(&[grief], &[]).await;
    let ix = instructions::pool_create(&creator.pubkey(), pool_args(9, true));
    chain.send_ok(&[ix], &[&creator]).await;
    let account = chain.account(pdas::mint(&pool)).await.unwrap();
    assert_eq!(account.owner, spl_token_2022_interface::ID);
}

/// Turns valid pool arguments into invalid ones.
type BreakArgs = fn(&mut PoolCreateArgs);

#[tokio::test]
async fn invalid_pool_parameters_are_refused() {
    let mut chain = TestChain::start().await;
    let creator = chain.funded_keypair(5_000_000_000).await;
    let pool = pdas::pool(&creator.pubkey(), 3);
    let cases: [(BreakArgs, AllotError); 5] = [
        (|a| a.rule.indicator = 4, AllotError::InvalidRule),
        (|a| a.rule.amount = 0, AllotError::InvalidRule),
        (|a| a.decimals = 10, AllotError::TooManyDecimals),
        (|a| a.period_seconds = 59, AllotError::PeriodTooShort),
        (|a| a.supply_cap = 99, AllotError::SupplyCapTooSmall),
    ];
    for (break_args, error) in cases {
        let mut args = pool_args(3, true);
        break_args(&mut args);
        chain
            .expect_refused(
                &[instructions::pool_create(&creator.pubkey(), args)],
                &[&creator],
                error,
                &[pool, pdas::mint(&pool)],
            )
            .await;
    }
    assert!(chain.account(pool).await.is_none());
}

#[tokio::test]
async fn funding_mints_into_the_vault_up_to_the_cap() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let fund = |amount| instructions::pool_fund(&op.pubkey(), &fixture.pool, amount);
    let events = chain.send_ok(&[fund(989_990)], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::PoolFunded(PoolFunded {
            pool: fixture.pool,
            amount: 989_990,
            total_minted: 999_990,
        })]
    );
    let watched = [fixture.pool, fixture.vault, fixture.mint];
    for (amount, error) in [
        (11, AllotError::SupplyCapExceeded),
        (u64::MAX, AllotError::MathOverflow),
        (0, AllotError::ZeroAmount),
    ] {
        chain
            .expect_refused(&[fund(amount)], &[&op], error, &watched)
            .await;
    }
    chain.send_ok(&[fund(10)], &[&op]).await;
    assert_eq!(chain.token_balance(fixture.vault).await, 1_000_000);
    fixture.assert_conserved(&mut chain, &[]).await;
}

#[tokio::test]
async fn non_transferable_pool_has_no_vault_to_fund() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, false).await;
    let op = fixture.operator.insecure_clone();
    let ix = instructions::pool_fund(&op.pubkey(), &fixture.pool, 10);
    let watched = [fixture.pool, fixture.vault, fixture.mint];
    let no_vault = AllotError::NonTransferableHasNoVault;
    chain
        .expect_refused(&[ix], &[&op], no_vault, &watched)
        .await;
}

#[tokio::test]
async fn operator_updates_the_rule_and_others_cannot() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let update =
        |key: &Keypair, rule| instructions::pool_update_rule(&key.pubkey(), &fixture.pool, rule);
    let mut new_rule = rule();
    new_rule.comparison = Comparison::AtMost;
    new_rule.threshold = 5;
    new_rule.amount = 7;
    let events = chain.send_ok(&[update(&op, new_rule)], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::PoolRuleUpdated(PoolRuleUpdated {
            pool: fixture.pool,
            previous: rule(),
            rule: new_rule,
        })]
    );
    assert_eq!(fixture.state(&mut chain).await.rule, new_rule);

    let stranger = Keypair::new();
    let ix = update(&stranger, rule());
    let watched = [fixture.pool];
    chain
        .expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &watched)
        .await;
    let mut invalid = rule();
    invalid.credential_max_age = -1;
    chain
        .expect_refused(
            &[update(&op, invalid)],
            &[&op],
            AllotError::InvalidRule,
            &watched,
        )
        .await;
}

/// `key`'s `pool_set_paused` of `fixture`'s pool.
fn set_paused(fixture: &PoolFixture, key: &Keypair, paused: bool) -> Instruction {
    instructions::pool_set_paused(&key.pubkey(), &fixture.pool, paused)
}

#[tokio::test]
async fn operator_pauses_and_unpauses() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let events = chain
        .send_ok(&[set_paused(&fixture, &op, true)], &[&op])
        .await;
    assert_eq!(
        events,
        vec![AllotEvent::PoolPauseChanged(PoolPauseChanged {
            pool: fixture.pool,
            paused: true
        })]
    );
    assert!(fixture.state(&mut chain).await.paused);
    let stranger = Keypair::new();
    let ix = set_paused(&fixture, &stranger, false);
    chain
        .expect_refused(
            &[ix],
            &[&stranger],
            AllotError::NotOperator,
            &[fixture.pool],
        )
        .await;
    chain
        .send_ok(&[set_paused(&fixture, &op, false)], &[&op])
        .await;
    assert!(!fixture.state(&mut chain).await.paused);
}

#[tokio::test]
async fn operator_transfer_takes_a_proposal_and_an_acceptance() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let old = fixture.operator.insecure_clone();
    let new = Keypair::new();
    let impostor = Keypair::new();
    let accept = |key: &Keypair| instructions::pool_accept_operator(&key.pubkey(), &fixture.pool);
    let watched = [fixture.pool];

    let none = AllotError::NoPendingOperator;
    chain
        .expect_refused(&[accept(&new)], &[&new], none, &watched)
        .await;
    let pool = fixture.pool;
    let ix = instructions::pool_propose_operator(&impostor.pubkey(), &pool, &impostor.pubkey());
    chain
        .expect_refused(&[ix], &[&impostor], AllotError::NotOperator, &watched)
        .await;
    let ix = instructions::pool_propose_operator(&old.pubkey(), &pool, &new.pubkey());
    let events = chain.send_ok(&[ix], &[&old]).await;
    assert_eq!(
        events,
        vec![AllotEvent::OperatorTransferProposed(
            OperatorTransferProposed {
                pool,
                operator: old.pubkey(),
                proposed: new.pubkey(),
            }
        )]
    );
    // Proposed, not yet accepted: the old operator still rules.
    assert_eq!(fixture.state(&mut chain).await.operator, old.pubkey());
    let not_pending = AllotError::NotPendingOperator;
    chain
        .expect_refused(&[accept(&impostor)], &[&impostor], not_pending, &watched)
        .await;
    let events = chain.send_ok(&[accept(&new)], &[&new]).await;
    assert_eq!(
        events,
        vec![AllotEvent::OperatorTransferred(OperatorTransferred {
            pool,
            previous: old.pubkey(),
            operator: new.pubkey(),
            settlement_authority: new.pubkey(),
        })]
    );
    let state = fixture.state(&mut chain).await;
    assert_eq!(
        (state.operator, state.pending_operator),
        (new.pubkey(), None)
    );
    // The old operator was the settlement authority: the new one is now.
    assert_eq!(state.exchange.settlement_authority, new.pubkey());
    let ix = set_paused(&fixture, &old, true);
    chain
        .expect_refused(&[ix], &[&old], AllotError::NotOperator, &watched)
        .await;
    chain
        .send_ok(&[set_paused(&fixture, &new, true)], &[&new])
        .await;
}

#[tokio::test]
async fn an_operator_transfer_takes_a_separate_settlement_authority_too() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let old = fixture.operator.insecure_clone();
    let new = chain.funded_keypair(1_000_000_000).await;
    let bridge = Pubkey::new_unique();
    let pool = fixture.pool;
    let config = allot_tests::exchange_config(bridge);
    let configure = instructions::pool_set_exchange(&old.pubkey(), &pool, config);
    let propose = instructions::pool_propose_operator(&old.pubkey(), &pool, &new.pubkey());
    chain.send_ok(&[configure, propose], &[&old]).await;
    let accept = instructions::pool_accept_operator(&new.pubkey(), &pool);
    chain.send_ok(&[accept], &[&new]).await;
    // The former operator's bridge key loses the authority with it (what it had locked stays
    // its to finish: money_path.rs).
    let state = fixture.state(&mut chain).await;
    assert_eq!(
        (state.operator, state.exchange.settlement_authority),
        (new.pubkey(), new.pubkey())
    );
}

/// The operator names the pool's token: the metadata lives in the mint (its metadata pointer
/// names itself, the pool is the update authority), reads back as wallets read it, can be
/// renamed, and the mint stays rent-exempt at every size. Nobody else can name it, and names
/// wallets cannot show are refused.
#[tokio::test]
async fn the_operator_names_the_token_in_its_mint() {
    use allot::instructions::TokenMetadataArgs;
    use allot_client::token::{TokenName, metadata};
    use spl_token_2022_interface::extension::metadata_pointer::MetadataPointer;

    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let mint_address = fixture.state(&mut chain).await.mint;
    let set_metadata =
        |key: &Keypair, args| instructions::pool_set_metadata(&key.pubkey(), &fixture.pool, args);
    let named = |name: &str, symbol: &str, uri: &str| TokenMetadataArgs {
        name: name.into(),
        symbol: symbol.into(),
        uri: uri.into(),
    };
    let mint = chain.account(mint_address).await.unwrap();
    let state = StateWithExtensions::<Mint>::unpack(&mint.data).unwrap();
    let pointer = state.get_extension::<MetadataPointer>().unwrap();
    assert_eq!(
        Option::<Pubkey>::from(pointer.metadata_address),
        Some(mint_address)
    );
    assert_eq!(
        Option::<Pubkey>::from(pointer.authority),
        Some(fixture.pool)
    );
    assert_eq!(metadata(&mint.data), None, "unnamed at creation");

    for (name, symbol, uri) in [
        ("Acme merchant shares", "ACMES", ""),
        (
            "Acme merchant shares, series B",
            "ACMESB",
            "https://example.com/acmes-b.json",
        ),
        ("Acme", "A", ""),
    ] {
        let ix = set_metadata(&op, named(name, symbol, uri));
        let events = chain.send_ok(&[ix], &[&op]).await;
        assert_eq!(
            events,
            vec![AllotEvent::PoolMetadataSet(PoolMetadataSet {
                pool: fixture.pool,
                mint: mint_address,
                name: name.into(),
                symbol: symbol.into(),
                uri: uri.into(),
            })]
        );
        let mint = chain.account(mint_address).await.unwrap();
        assert_eq!(
            metadata(&mint.data),
            Some(TokenName {
                name: name.into(),
                symbol: symbol.into(),
                uri: uri.into(),
            })
        );
        let rent = chain.rent().await.minimum_balance(mint.data.len());
        assert!(mint.lamports >= rent, "the mint stays rent-exempt");
    }

    let stranger = chain.funded_keypair(1_000_000_000).await;
    let ix = set_metadata(&stranger, named("Not yours", "NOPE", ""));
    let watched = [fixture.pool, mint_address];
    chain
        .expect_refused(&[ix], &[&stranger], AllotError::NotOperator, &watched)
        .await;
    for (args, error) in [
        (named("", "ACMES", ""), AllotError::TokenMetadataEmpty),
        (named("Acme", " ", ""), AllotError::TokenMetadataEmpty),
        (
            named(&"x".repeat(33), "ACMES", ""),
            AllotError::TokenMetadataTooLong,
        ),
        (
            named("Acme", "ELEVENCHARS", ""),
            AllotError::TokenMetadataTooLong,
        ),
        (
            named("Acme", "A", &"u".repeat(201)),
            AllotError::TokenMetadataTooLong,
        ),
    ] {
        chain
            .expect_refused(&[set_metadata(&op, args)], &[&op], error, &watched)
            .await;
    }
}
