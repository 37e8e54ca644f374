//! Allocation shards: allocations that write a shard instead of the pool, folded into the pool's
//! totals by a sweep, with the pool's books and the tokens in agreement at every step.

use allot::error::AllotError;
use allot::events::{ShardDrained, ShardFunded, ShardSwept};
use allot::state::{AllocationShard, EvidenceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain, list_evidence};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::first_allocation;

/// The accounts an instruction write-locks, by address.
fn writable(ix: &Instruction) -> Vec<Pubkey> {
    ix.accounts
        .iter()
        .filter(|m| m.is_writable)
        .map(|m| m.pubkey)
        .collect()
}

/// A transferable pool (10,000 units in its vault) with `shards` shards of 1,000 units each, and
/// `users` users holding credentials that meet the rule (100 units a period).
async fn sharded_pool(shards: u16, users: usize) -> (TestChain, PoolFixture, Vec<Pubkey>) {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    fixture.create_shards(&mut chain, shards, 1_000).await;
    let mut keys = Vec::new();
    for _ in 0..users {
        let user = Keypair::new().pubkey();
        fixture.issue_credential(&mut chain, &user, 5_000).await;
        keys.push(user);
    }
    (chain, fixture, keys)
}

/// `fixture`'s operator creates shard `index`, which is refused with `code`; the pool and the
/// shard's address are unchanged.
async fn create_refused(
    chain: &mut TestChain,
    fixture: &PoolFixture,
    index: u16,
    code: impl Into<u32>,
) {
    let (pool, op) = (fixture.pool, &fixture.operator);
    let ix = instructions::shard_create(&op.pubkey(), &pool, index);
    let watched = [pool, pdas::shard(&pool, index)];
    chain.expect_refused(&[ix], &[op], code, &watched).await;
}

#[tokio::test]
async fn a_sharded_allocation_writes_its_shard_and_not_the_pool_mint_or_vault() {
    let (mut chain, fixture, users) = sharded_pool(2, 1).await;
    let user = users[0];
    let payer = chain.payer().pubkey();
    let direct = instructions::allocate(&payer, &fixture.pool, &user, Evidence::Credential);
    let sharded =
        instructions::allocate_sharded(&payer, &fixture.pool, &user, 1, Evidence::Credential);
    for pool_wide in [fixture.pool, fixture.mint, fixture.vault] {
        assert!(writable(&direct).contains(&pool_wide));
        assert!(!writable(&sharded).contains(&pool_wide));
    }
    let per_user = [
        payer,
        fixture.user_token(&user),
        pdas::allocation_record(&fixture.pool, &user),
    ];
    let shard = [
        pdas::shard(&fixture.pool, 1),
        pdas::shard_vault(&fixture.pool, 1),
    ];
    let mut expected: Vec<Pubkey> = per_user.iter().chain(&shard).copied().collect();
    let mut locked = writable(&sharded);
    expected.sort();
    locked.sort();
    assert_eq!(
        locked, expected,
        "only the payer, the user's accounts and the shard"
    );

    let pool_before = chain.account(fixture.pool).await;
    let events = chain.send_ok(&[sharded], &[]).await;
    let credential = EvidenceKind::Credential;
    assert_eq!(
        events,
        vec![first_allocation(fixture.pool, user, credential, 0, Some(1))]
    );
    assert_eq!(
        chain.account(fixture.pool).await,
        pool_before,
        "the pool is untouched"
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    assert_eq!(chain.token_balance(shard[1]).await, 900);
    let state: AllocationShard = chain.fetch(shard[0]).await;
    assert_eq!(
        (
            state.funded,
            state.allocated,
            state.allocations,
            state.swept_units
        ),
        (1_000, 100, 1, 0)
    );
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn a_sweep_folds_each_sharded_allocation_into_the_pool_once() {
    let (mut chain, fixture, users) = sharded_pool(2, 3).await;
    for (user, shard) in users.iter().zip([0, 1, 1]) {
        fixture
            .allocate_sharded_by_credential(&mut chain, user, shard)
            .await
            .unwrap();
        fixture.assert_conserved(&mut chain, &users).await;
    }
    let before = fixture.state(&mut chain).await.totals;
    assert_eq!(
        (
            before.allocated,
            before.allocations,
            before.staged,
            before.outstanding
        ),
        (0, 0, 2_000, 2_000)
    );

    let sweep = |index| instructions::shard_sweep(&fixture.pool, index);
    let events = chain.send_ok(&[sweep(1)], &[]).await;
    assert_eq!(
        events,
        vec![AllotEvent::ShardSwept(ShardSwept {
            pool: fixture.pool,
            index: 1,
            units: 200,
            allocations: 2,
            pool_allocated: 200,
            pool_outstanding: 200,
        })]
    );
    let again = chain.send_ok(&[sweep(1)], &[]).await;
    assert!(
        matches!(&again[..], [AllotEvent::ShardSwept(e)] if e.units == 0 && e.allocations == 0),
        "a second sweep finds nothing new: {again:?}"
    );
    chain.send_ok(&[sweep(0)], &[]).await;
    let after = fixture.state(&mut chain).await;
    assert_eq!(
        (
            after.totals.allocated,
            after.totals.allocations,
            after.totals.staged,
            after.totals.outstanding
        ),
        (300, 3, 1_700, 2_000)
    );
    assert_eq!(after.held_by_users(), 300);
    fixture.assert_conserved(&mut chain, &users).await;
}

#[tokio::test]
async fn a_user_gets_one_allocation_a_period_whether_direct_or_sharded() {
    let (mut chain, fixture, users) = sharded_pool(1, 2).await;
    let (direct_first, sharded_first) = (users[0], users[1]);
    fixture
        .allocate_by_credential(&mut chain, &direct_first)
        .await
        .unwrap();
    fixture
        .allocate_sharded_by_credential(&mut chain, &sharded_first, 0)
        .await
        .unwrap();
    let payer = chain.payer().pubkey();
    let (pool, credential) = (fixture.pool, Evidence::Credential);
    let watched = [
        pool,
        pdas::shard(&pool, 0),
        pdas::shard_vault(&pool, 0),
        fixture.vault,
    ];
    for ix in [
        instructions::allocate_sharded(&payer, &pool, &direct_first, 0, credential.clone()),
        instructions::allocate(&payer, &pool, &sharded_first, credential),
    ] {
        let again = AllotError::AlreadyAllocatedThisPeriod;
        chain.expect_refused(&[ix], &[], again, &watched).await;
    }

    chain.advance_time(PERIOD).await;
    for user in &users {
        fixture.issue_credential(&mut chain, user, 5_000).await;
        fixture
            .allocate_sharded_by_credential(&mut chain, user, 0)
            .await
            .expect("a new period allows a new allocation");
    }
    assert_eq!(
        chain.token_balance(fixture.user_token(&direct_first)).await,
        200
    );
    fixture.assert_conserved(&mut chain, &users).await;
}

#[tokio::test]
async fn a_shard_gives_and_returns_only_what_it_holds_by_its_own_books() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let (pool, operator) = (fixture.pool, op.pubkey());
    let create = instructions::shard_create(&operator, &pool, 0);
    chain.send_ok(&[create], &[&op]).await;
    let fund = instructions::shard_fund(&operator, &pool, 0, 150);
    let events = chain.send_ok(&[fund], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::ShardFunded(ShardFunded {
            pool,
            index: 0,
            amount: 150,
            shard_available: 150,
            pool_staged: 150,
        })]
    );
    let users: Vec<Pubkey> = (0..3).map(|_| Keypair::new().pubkey()).collect();
    for user in &users {
        fixture.issue_credential(&mut chain, user, 5_000).await;
    }
    fixture
        .allocate_sharded_by_credential(&mut chain, &users[0], 0)
        .await
        .unwrap();
    let shard_vault = pdas::shard_vault(&pool, 0);
    let watched = [
        pool,
        pdas::shard(&pool, 0),
        shard_vault,
        fixture.vault,
        fixture.user_token(&users[1]),
    ];
    let payer = chain.payer().pubkey();
    let allocate =
        instructions::allocate_sharded(&payer, &pool, &users[1], 0, Evidence::Credential);
    let short = AllotError::ShardInsufficient;
    chain
        .expect_refused(std::slice::from_ref(&allocate), &[], short, &watched)
        .await;

    // Units given to the shard's vault by a holder do not extend what the shard may allocate.
    let holder = Keypair::new();
    fixture
        .issue_and_allocate(&mut chain, &holder.pubkey(), 5_000)
        .await;
    // A holder may send units anywhere in a transferable pool.
    let gift = spl_token_2022_interface::instruction::transfer_checked(
        &spl_token_2022_interface::ID,
        &fixture.user_token(&holder.pubkey()),
        &fixture.mint,
        &shard_vault,
        &holder.pubkey(),
        &[],
        100,
        0,
    )
    .unwrap();
    chain.send_ok(&[gift], &[&holder]).await;
    assert_eq!(chain.token_balance(shard_vault).await, 150);
    chain
        .expect_refused(&[allocate], &[], short, &watched)
        .await;
    let drain = |amount| instructions::shard_drain(&operator, &pool, 0, amount);
    chain
        .expect_refused(&[drain(51)], &[&op], short, &watched)
        .await;

    let events = chain.send_ok(&[drain(50)], &[&op]).await;
    assert_eq!(
        events,
        vec![AllotEvent::ShardDrained(ShardDrained {
            pool,
            index: 0,
            amount: 50,
            shard_available: 0,
            pool_staged: 100,
        })]
    );
    assert_eq!(chain.token_balance(shard_vault).await, 100);
    // 10,000 funded − 150 staged − 100 to the holder + 50 drained back.
    assert_eq!(chain.token_balance(fixture.vault).await, 9_800);
    let state = fixture.state(&mut chain).await;
    state.invariant().unwrap();
    assert_eq!((state.totals.staged, state.totals.outstanding), (100, 200));
}

#[tokio::test]
async fn a_clawback_before_the_sweep_keeps_the_books_whole() {
    let (mut chain, fixture, users) = sharded_pool(1, 1).await;
    let user = users[0];
    fixture
        .allocate_sharded_by_credential(&mut chain, &user, 0)
        .await
        .unwrap();
    fixture.revoke_credential(&mut chain, &user).await;
    let events = fixture
        .clawback_by_credential(&mut chain, &user)
        .await
        .expect("units allocated by a shard are recoverable before any sweep");
    assert!(
        matches!(&events[..], [AllotEvent::ClawedBack(e)] if e.amount == 100 && !e.burned),
        "{events:?}"
    );
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 0);
    assert_eq!(chain.token_balance(fixture.vault).await, 9_100);
    fixture.assert_conserved(&mut chain, &users).await;

    chain
        .send_ok(&[instructions::shard_sweep(&fixture.pool, 0)], &[])
        .await;
    let totals = fixture.state(&mut chain).await.totals;
    assert_eq!(
        (
            totals.allocated,
            totals.clawed_back,
            totals.staged,
            totals.outstanding
        ),
        (100, 100, 900, 900)
    );
    fixture.assert_conserved(&mut chain, &users).await;
}

#[tokio::test]
async fn shards_are_numbered_in_order_up_to_the_limit_and_only_in_transferable_pools() {
    let mut chain = TestChain::start().await;
    let fixed = PoolFixture::create(&mut chain, 1, false).await;
    let fixture = PoolFixture::create(&mut chain, 2, true).await;
    let transferable_only = AllotError::ShardsNeedTransferablePool;
    create_refused(&mut chain, &fixed, 0, transferable_only).await;
    let out_of_order = anchor_lang::error::ErrorCode::ConstraintSeeds;
    create_refused(&mut chain, &fixture, 1, out_of_order).await;
    let op = fixture.operator.insecure_clone();
    let pool = fixture.pool;
    let max = allot::constants::MAX_SHARDS;
    // Four creations a transaction: each makes 8 instruction-trace entries (the limit is 64).
    for first in (0..max).step_by(4) {
        let batch: Vec<Instruction> = (first..first + 4)
            .map(|index| instructions::shard_create(&op.pubkey(), &pool, index))
            .collect();
        chain.send_ok(&batch, &[&op]).await;
    }
    assert_eq!(fixture.state(&mut chain).await.shard_count, max);
    let last: AllocationShard = chain.fetch(pdas::shard(&pool, max - 1)).await;
    assert_eq!(
        (last.index, last.vault),
        (max - 1, pdas::shard_vault(&pool, max - 1))
    );
    create_refused(&mut chain, &fixture, max, AllotError::TooManyShards).await;
}

#[tokio::test]
async fn a_sharded_list_allocation_needs_a_root_sealed_by_a_direct_one() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    fixture.create_shards(&mut chain, 1, 1_000).await;
    let users: Vec<Pubkey> = (0..2).map(|_| Keypair::new().pubkey()).collect();
    let entries = users.iter().map(|u| (*u, 5_000)).collect();
    let (tree, _) = fixture.publish_list(&mut chain, 0, entries).await;
    let evidence = |user: &Pubkey| list_evidence(&tree, 0, user);
    let payer = chain.payer().pubkey();
    let sharded = |user: &Pubkey| {
        instructions::allocate_sharded(&payer, &fixture.pool, user, 0, evidence(user))
    };
    let list = pdas::user_list(&fixture.pool, 0);
    chain
        .expect_refused(
            &[sharded(&users[1])],
            &[],
            AllotError::UserListNotSealed,
            &[list, pdas::shard(&fixture.pool, 0)],
        )
        .await;
    let direct = instructions::allocate(&payer, &fixture.pool, &users[0], evidence(&users[0]));
    chain.send_ok(&[direct], &[]).await;
    let events = chain.send_ok(&[sharded(&users[1])], &[]).await;
    assert!(
        matches!(&events[..], [AllotEvent::Allocated(e)] if e.shard == Some(0) && e.evidence == EvidenceKind::UserList),
        "{events:?}"
    );
    assert!(
        !writable(&sharded(&users[1])).contains(&list),
        "the list is only read"
    );
    fixture.assert_conserved(&mut chain, &users).await;
}

#[tokio::test]
async fn a_shard_of_another_pool_is_refused() {
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let b = PoolFixture::create(&mut chain, 2, true).await;
    b.create_shards(&mut chain, 1, 1_000).await;
    a.create_shards(&mut chain, 1, 1_000).await;
    let user = Keypair::new().pubkey();
    a.issue_credential(&mut chain, &user, 5_000).await;
    let payer = chain.payer().pubkey();
    let mut ix = instructions::allocate_sharded(&payer, &a.pool, &user, 0, Evidence::Credential);
    for meta in &mut ix.accounts {
        if meta.pubkey == pdas::shard(&a.pool, 0) {
            meta.pubkey = pdas::shard(&b.pool, 0);
        } else if meta.pubkey == pdas::shard_vault(&a.pool, 0) {
            meta.pubkey = pdas::shard_vault(&b.pool, 0);
        }
    }
    chain
        .expect_refused(
            &[ix],
            &[],
            // The shard's address is checked against the seeds of pool A before its `pool` field.
            anchor_lang::error::ErrorCode::ConstraintSeeds,
            &[pdas::shard(&b.pool, 0), pdas::shard_vault(&b.pool, 0)],
        )
        .await;
}

#[tokio::test]
async fn a_griefer_cannot_block_the_next_shard_by_funding_its_addresses() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let payer = chain.payer().pubkey();
    // Lamports at the next shard's address and at its vault's (nobody else can create either).
    let shard = pdas::shard(&fixture.pool, 0);
    let vault = pdas::shard_vault(&fixture.pool, 0);
    let fund = |to: &Pubkey| {
        anchor_lang::solana_program::system_instruction::transfer(&payer, to, 1_000_000)
    };
    chain.send_ok(&[fund(&shard), fund(&vault)], &[]).await;

    fixture.create_shards(&mut chain, 1, 500).await;
    let state: AllocationShard = chain.fetch(shard).await;
    assert_eq!((state.index, state.vault, state.funded), (0, vault, 500));
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 5_000).await;
    fixture
        .allocate_sharded_by_credential(&mut chain, &user, 0)
        .await
        .expect("the shard works");
    fixture.assert_conserved(&mut chain, &[user]).await;
}

#[tokio::test]
async fn units_allocated_to_the_next_shards_address_stay_outside_its_vault() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    // A careless verifier credentials the next shard's address before the shard exists: it is
    // not an allot account yet, so the allocation lands (100 units to that address).
    let shard = pdas::shard(&fixture.pool, 0);
    fixture.issue_and_allocate(&mut chain, &shard, 5_000).await;
    assert_eq!(chain.token_balance(fixture.user_token(&shard)).await, 100);

    fixture.create_shards(&mut chain, 1, 500).await;
    // The shard's vault is not that address's associated account: it holds exactly its books.
    let vault = pdas::shard_vault(&fixture.pool, 0);
    let books: AllocationShard = chain.fetch(shard).await;
    assert_eq!(books.expected_balance().unwrap(), 500);
    assert_eq!(
        chain.token_balance(vault).await,
        500,
        "the vault holds what the shard's books say, not the units allocated to its address"
    );
    assert_ne!(vault, fixture.user_token(&shard));
    fixture.assert_conserved(&mut chain, &[shard]).await;

    // The units held at that address are still the pool's to claw back, without touching the
    // shard's vault; the shard allocates all it was given.
    fixture.revoke_credential(&mut chain, &shard).await;
    fixture
        .clawback_by_credential(&mut chain, &shard)
        .await
        .unwrap();
    assert_eq!(chain.token_balance(fixture.user_token(&shard)).await, 0);
    assert_eq!(chain.token_balance(vault).await, 500);
    let users: Vec<Pubkey> = (0..5).map(|_| Keypair::new().pubkey()).collect();
    for user in &users {
        fixture.issue_credential(&mut chain, user, 5_000).await;
        fixture
            .allocate_sharded_by_credential(&mut chain, user, 0)
            .await
            .expect("the shard allocates what its books hold");
    }
    assert_eq!(chain.token_balance(vault).await, 0);
    let holders: Vec<Pubkey> = users.iter().copied().chain([shard]).collect();
    fixture.assert_conserved(&mut chain, &holders).await;
}

#[tokio::test]
async fn the_pool_or_a_shard_cannot_be_the_user() {
    let (mut chain, fixture, _) = sharded_pool(1, 0).await;
    let pool = fixture.pool;
    let shard = pdas::shard(&pool, 0);
    // A careless verifier credentials the pool's and the shard's addresses.
    for address in [pool, shard] {
        fixture.issue_credential(&mut chain, &address, 5_000).await;
    }
    let payer = chain.payer().pubkey();
    let watched = [
        pool,
        fixture.vault,
        shard,
        pdas::shard_vault(&pool, 0),
        pdas::allocation_record(&pool, &pool),
        pdas::allocation_record(&pool, &shard),
    ];
    // As the user, the pool's associated account would be the vault itself: units booked as
    // held would sit in the vault and be allocated again.
    for ix in [
        instructions::allocate_sharded(&payer, &pool, &pool, 0, Evidence::Credential),
        instructions::allocate(&payer, &pool, &shard, Evidence::Credential),
        instructions::allocate_sharded(&payer, &pool, &shard, 0, Evidence::Credential),
    ] {
        let failure = match chain.send(std::slice::from_ref(&ix), &[]).await {
            Ok(events) => panic!("an allot account was allocated to: {events:?}"),
            Err(failure) => failure,
        };
        // Either our check, or (shard as its own user) Anchor's duplicate-account check first.
        let code = failure.custom_code();
        assert!(
            code == Some(AllotError::UserIsProgramAccount.into())
                || code
                    == Some(
                        anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount.into()
                    ),
            "{failure:?}"
        );
    }
    let ix = instructions::allocate_sharded(&payer, &pool, &pool, 0, Evidence::Credential);
    let not_a_user = AllotError::UserIsProgramAccount;
    chain.expect_refused(&[ix], &[], not_a_user, &watched).await;
}

#[tokio::test]
async fn a_sharded_allocation_refuses_another_pools_user_list() {
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let b = PoolFixture::create(&mut chain, 2, true).await;
    a.create_shards(&mut chain, 1, 1_000).await;
    let user = Keypair::new().pubkey();
    // Pool B's list (sealed by a direct allocation there) names the user.
    let (tree, _) = b.publish_list(&mut chain, 0, vec![(user, 5_000)]).await;
    let proof = list_evidence(&tree, 0, &user);
    let payer = chain.payer().pubkey();
    let direct = instructions::allocate(&payer, &b.pool, &user, proof.clone());
    chain.send_ok(&[direct], &[]).await;
    let mut ix = instructions::allocate_sharded(&payer, &a.pool, &user, 0, proof);
    for meta in &mut ix.accounts {
        if meta.pubkey == pdas::user_list(&a.pool, 0) {
            meta.pubkey = pdas::user_list(&b.pool, 0);
        }
    }
    chain
        .expect_refused(
            &[ix],
            &[],
            anchor_lang::error::ErrorCode::ConstraintHasOne,
            &[
                pdas::shard(&a.pool, 0),
                pdas::shard_vault(&a.pool, 0),
                pdas::allocation_record(&a.pool, &user),
            ],
        )
        .await;
}
