//! Allocation shards: allocations that write a shard instead of the pool, folded into the pool's
//! totals by a sweep, with the pool's books and the tokens in agreement at every step.

use allot::error::AllotError;
use allot::events::{Allocated, ShardDrained, ShardFunded, ShardSwept};
use allot::instructions::UserListPublishArgs;
use allot::state::{AllocationShard, EvidenceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::merkle_tree::UserListTree;
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain};
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

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
    let events = chain.send(&[sharded], &[]).await.unwrap();
    assert_eq!(
        events,
        vec![AllotEvent::Allocated(Allocated {
            pool: fixture.pool,
            user,
            period: 0,
            amount: 100,
            evidence: EvidenceKind::Credential,
            user_allocated: 100,
            pool_outstanding: 0,
            shard: Some(1),
        })]
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

    let events = chain
        .send(&[instructions::shard_sweep(&fixture.pool, 1)], &[])
        .await
        .unwrap();
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
    let again = chain
        .send(&[instructions::shard_sweep(&fixture.pool, 1)], &[])
        .await
        .unwrap();
    assert!(
        matches!(&again[..], [AllotEvent::ShardSwept(e)] if e.units == 0 && e.allocations == 0),
        "a second sweep finds nothing new: {again:?}"
    );
    chain
        .send(&[instructions::shard_sweep(&fixture.pool, 0)], &[])
        .await
        .unwrap();
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
    let watched = [
        fixture.pool,
        pdas::shard(&fixture.pool, 0),
        pdas::shard_vault(&fixture.pool, 0),
        fixture.vault,
    ];
    chain
        .expect_refused(
            &[instructions::allocate_sharded(
                &payer,
                &fixture.pool,
                &direct_first,
                0,
                Evidence::Credential,
            )],
            &[],
            AllotError::AlreadyAllocatedThisPeriod,
            &watched,
        )
        .await;
    chain
        .expect_refused(
            &[instructions::allocate(
                &payer,
                &fixture.pool,
                &sharded_first,
                Evidence::Credential,
            )],
            &[],
            AllotError::AlreadyAllocatedThisPeriod,
            &watched,
        )
        .await;

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
    chain
        .send(&[instructions::shard_create(&operator, &pool, 0)], &[&op])
        .await
        .unwrap();
    let events = chain
        .send(
            &[instructions::shard_fund(&operator, &pool, 0, 150)],
            &[&op],
        )
        .await
        .unwrap();
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
    chain
        .expect_refused(
            &[instructions::allocate_sharded(
                &payer,
                &pool,
                &users[1],
                0,
                Evidence::Credential,
            )],
            &[],
            AllotError::ShardInsufficient,
            &watched,
        )
        .await;

    // Units given to the shard's vault by a holder do not extend what the shard may allocate.
    let holder = Keypair::new();
    fixture
        .issue_credential(&mut chain, &holder.pubkey(), 5_000)
        .await;
    fixture
        .allocate_by_credential(&mut chain, &holder.pubkey())
        .await
        .unwrap();
    chain
        .send(
            &[spl_token_2022_interface::instruction::transfer_checked(
                &spl_token_2022_interface::ID,
                &fixture.user_token(&holder.pubkey()),
                &fixture.mint,
                &shard_vault,
                &holder.pubkey(),
                &[],
                100,
                0,
            )
            .unwrap()],
            &[&holder],
        )
        .await
        .expect("a holder may send units anywhere in a transferable pool");
    assert_eq!(chain.token_balance(shard_vault).await, 150);
    chain
        .expect_refused(
            &[instructions::allocate_sharded(
                &payer,
                &pool,
                &users[1],
                0,
                Evidence::Credential,
            )],
            &[],
            AllotError::ShardInsufficient,
            &watched,
        )
        .await;
    chain
        .expect_refused(
            &[instructions::shard_drain(&operator, &pool, 0, 51)],
            &[&op],
            AllotError::ShardInsufficient,
            &watched,
        )
        .await;

    let events = chain
        .send(
            &[instructions::shard_drain(&operator, &pool, 0, 50)],
            &[&op],
        )
        .await
        .unwrap();
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
        .send(&[instructions::shard_sweep(&fixture.pool, 0)], &[])
        .await
        .unwrap();
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
    let op = fixed.operator.insecure_clone();
    chain
        .expect_refused(
            &[instructions::shard_create(&op.pubkey(), &fixed.pool, 0)],
            &[&op],
            AllotError::ShardsNeedTransferablePool,
            &[fixed.pool, pdas::shard(&fixed.pool, 0)],
        )
        .await;

    let fixture = PoolFixture::create(&mut chain, 2, true).await;
    let op = fixture.operator.insecure_clone();
    let pool = fixture.pool;
    chain
        .expect_refused(
            &[instructions::shard_create(&op.pubkey(), &pool, 1)],
            &[&op],
            anchor_lang::error::ErrorCode::ConstraintSeeds,
            &[pool, pdas::shard(&pool, 1)],
        )
        .await;
    let max = allot::constants::MAX_SHARDS;
    // Four creations a transaction: each makes 8 instruction-trace entries (the limit is 64).
    for first in (0..max).step_by(4) {
        let batch: Vec<Instruction> = (first..first + 4)
            .map(|index| instructions::shard_create(&op.pubkey(), &pool, index))
            .collect();
        chain.send(&batch, &[&op]).await.unwrap();
    }
    assert_eq!(fixture.state(&mut chain).await.shard_count, max);
    let last: AllocationShard = chain.fetch(pdas::shard(&pool, max - 1)).await;
    assert_eq!(
        (last.index, last.vault),
        (max - 1, pdas::shard_vault(&pool, max - 1))
    );
    chain
        .expect_refused(
            &[instructions::shard_create(&op.pubkey(), &pool, max)],
            &[&op],
            AllotError::TooManyShards,
            &[pool, pdas::shard(&pool, max)],
        )
        .await;
}

#[tokio::test]
async fn a_sharded_list_allocation_needs_a_root_sealed_by_a_direct_one() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    fixture.create_shards(&mut chain, 1, 1_000).await;
    let users: Vec<Pubkey> = (0..2).map(|_| Keypair::new().pubkey()).collect();
    let tree = UserListTree::build(
        &fixture.pool,
        0,
        users.iter().map(|u| (*u, 5_000)).collect(),
    )
    .unwrap();
    let op = fixture.operator.insecure_clone();
    let args = UserListPublishArgs {
        period: 0,
        root: tree.root(),
        user_count: 2,
    };
    chain
        .send(
            &[instructions::user_list_publish(
                &op.pubkey(),
                &fixture.pool,
                args,
            )],
            &[&op],
        )
        .await
        .unwrap();
    let evidence = |user: &Pubkey| Evidence::UserList {
        period: 0,
        proof: tree.proof(user).unwrap(),
    };
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
    chain
        .send(
            &[instructions::allocate(
                &payer,
                &fixture.pool,
                &users[0],
                evidence(&users[0]),
            )],
            &[],
        )
        .await
        .unwrap();
    let events = chain.send(&[sharded(&users[1])], &[]).await.unwrap();
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
async fn a_griefer_cannot_block_the_next_shard_by_funding_its_address_or_making_its_vault() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let payer = chain.payer().pubkey();
    // Lamports at the next shard's address, and its vault created by someone else beforehand.
    let shard = pdas::shard(&fixture.pool, 0);
    let fund = anchor_lang::solana_program::system_instruction::transfer(&payer, &shard, 1_000_000);
    let vault = spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(
        &payer,
        &shard,
        &fixture.mint,
        &spl_token_2022_interface::ID,
    );
    chain.send(&[fund, vault], &[]).await.unwrap();
    assert!(
        chain
            .account(pdas::shard_vault(&fixture.pool, 0))
            .await
            .is_some()
    );

    fixture.create_shards(&mut chain, 1, 500).await;
    let state: AllocationShard = chain.fetch(shard).await;
    assert_eq!(
        (state.index, state.vault, state.funded),
        (0, pdas::shard_vault(&fixture.pool, 0), 500)
    );
    let user = Keypair::new().pubkey();
    fixture.issue_credential(&mut chain, &user, 5_000).await;
    fixture
        .allocate_sharded_by_credential(&mut chain, &user, 0)
        .await
        .expect("the shard works");
    fixture.assert_conserved(&mut chain, &[user]).await;
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
    chain
        .expect_refused(
            &[instructions::allocate_sharded(
                &payer,
                &pool,
                &pool,
                0,
                Evidence::Credential,
            )],
            &[],
            AllotError::UserIsProgramAccount,
            &watched,
        )
        .await;
}

#[tokio::test]
async fn a_sharded_allocation_refuses_another_pools_user_list() {
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let b = PoolFixture::create(&mut chain, 2, true).await;
    a.create_shards(&mut chain, 1, 1_000).await;
    let user = Keypair::new().pubkey();
    // Pool B's list (sealed by a direct allocation there) names the user.
    let tree = UserListTree::build(&b.pool, 0, vec![(user, 5_000)]).unwrap();
    let op = b.operator.insecure_clone();
    let args = UserListPublishArgs {
        period: 0,
        root: tree.root(),
        user_count: 1,
    };
    chain
        .send(
            &[instructions::user_list_publish(&op.pubkey(), &b.pool, args)],
            &[&op],
        )
        .await
        .unwrap();
    let proof = Evidence::UserList {
        period: 0,
        proof: tree.proof(&user).unwrap(),
    };
    let payer = chain.payer().pubkey();
    chain
        .send(
            &[instructions::allocate(
                &payer,
                &b.pool,
                &user,
                proof.clone(),
            )],
            &[],
        )
        .await
        .unwrap();
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
