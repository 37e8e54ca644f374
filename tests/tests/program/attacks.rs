//! Attacks on the instructions that move units or write evidence: substituted PDAs, forged
//! accounts, type cosplay, wrong mint/vault, fake programs and mismatched evidence. Each is refused
//! with the expected error and changes nothing.
//!
//! Duplicate mutable accounts: the vault passed as the user's token account. Reinitialisation: a
//! pool created twice. Closing then reviving: a closed request sent lamports back. Overflow and
//! underflow: u64::MAX as a rule amount, a request, a payment and a profit.
//!
//! `catalogue.rs` attacks every instruction mechanically (missing signer, impostor, PDA
//! substitution, fake programs, foreign owners, type cosplay, non-canonical bumps, duplicates).
//!
//! Attacks covered elsewhere: wrong signer on every operator instruction (`pool.rs`,
//! `verifier.rs`, `user_list.rs`), verifier of another pool (`verifier.rs`), impostor revoking
//! (`credential.rs`), overflow and cap (`pool.rs`, `allocation.rs`), forged proofs (`user_list.rs`).

use allot::error::AllotError;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain, pool_args};
use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use solana_sdk::account::Account;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};

use crate::market::Market;

/// Position of an account in an instruction built by the client.
fn position(ix: &Instruction, key: &Pubkey) -> usize {
    ix.accounts
        .iter()
        .position(|meta| meta.pubkey == *key)
        .expect("account in instruction")
}

/// Replaces the account `from` with `to` in `ix`.
fn substitute(mut ix: Instruction, from: &Pubkey, to: Pubkey) -> Instruction {
    let i = position(&ix, from);
    ix.accounts[i].pubkey = to;
    ix
}

/// Two pools, a qualified user with a credential in pool A, and a user without one.
async fn world() -> (TestChain, PoolFixture, PoolFixture, Pubkey, Pubkey) {
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let b = PoolFixture::create(&mut chain, 2, true).await;
    let qualified = Keypair::new().pubkey();
    a.issue_credential(&mut chain, &qualified, 5_000).await;
    b.issue_credential(&mut chain, &qualified, 5_000).await;
    (chain, a, b, qualified, Keypair::new().pubkey())
}

fn watched(fixture: &PoolFixture, user: &Pubkey) -> Vec<Pubkey> {
    vec![
        fixture.pool,
        fixture.vault,
        fixture.mint,
        fixture.user_token(user),
        pdas::allocation_record(&fixture.pool, user),
    ]
}

/// The fee payer's allocation of pool `a`'s units to `user` on their credential.
fn allocate_ix(chain: &TestChain, a: &PoolFixture, user: &Pubkey) -> Instruction {
    instructions::allocate(&chain.payer().pubkey(), &a.pool, user, Evidence::Credential)
}

/// `ix`, signed by the fee payer alone, is refused with `code` and leaves `user`'s accounts in
/// pool `a` as they were.
async fn refused(
    chain: &mut TestChain,
    ix: Instruction,
    code: impl Into<u32>,
    a: &PoolFixture,
    user: &Pubkey,
) {
    chain
        .expect_refused(&[ix], &[], code, &watched(a, user))
        .await;
}

#[tokio::test]
async fn allocate_with_another_users_credential_is_refused() {
    let (mut chain, a, _, qualified, attacker) = world().await;
    let ix = substitute(
        allocate_ix(&chain, &a, &attacker),
        &pdas::credential(&a.pool, &attacker),
        pdas::credential(&a.pool, &qualified),
    );
    refused(&mut chain, ix, AnchorError::ConstraintSeeds, &a, &attacker).await;
}

#[tokio::test]
async fn allocate_with_a_credential_of_another_pool_is_refused() {
    let (mut chain, a, b, qualified, _) = world().await;
    // The user qualifies in pool B only: revoke in A, then present B's credential to A.
    a.revoke_credential(&mut chain, &qualified).await;
    let ix = substitute(
        allocate_ix(&chain, &a, &qualified),
        &pdas::credential(&a.pool, &qualified),
        pdas::credential(&b.pool, &qualified),
    );
    refused(&mut chain, ix, AnchorError::ConstraintSeeds, &a, &qualified).await;
}

#[tokio::test]
async fn forged_credential_with_the_right_layout_but_wrong_owner_is_refused() {
    let (mut chain, a, _, qualified, attacker) = world().await;
    // Copy a real, qualifying credential, rewrite it for the attacker, and plant it at the
    // attacker's credential address under another owner.
    let real = chain
        .account(pdas::credential(&a.pool, &qualified))
        .await
        .unwrap();
    let mut data = real.data.clone();
    data[41..73].copy_from_slice(attacker.as_ref()); // 8 discriminator + 1 bump + 32 pool
    let forged = Account {
        owner: Pubkey::new_unique(),
        data,
        ..real
    };
    chain.set_account(pdas::credential(&a.pool, &attacker), forged);
    let ix = allocate_ix(&chain, &a, &attacker);
    refused(
        &mut chain,
        ix,
        AnchorError::AccountOwnedByWrongProgram,
        &a,
        &attacker,
    )
    .await;
}

#[tokio::test]
async fn another_account_type_passed_as_credential_is_refused() {
    let (mut chain, a, _, _, attacker) = world().await;
    let ix = substitute(
        allocate_ix(&chain, &a, &attacker),
        &pdas::credential(&a.pool, &attacker),
        pdas::verifier(&a.pool, &a.verifier.pubkey()),
    );
    refused(
        &mut chain,
        ix,
        AnchorError::AccountDiscriminatorMismatch,
        &a,
        &attacker,
    )
    .await;
}

#[tokio::test]
async fn allocate_from_another_pools_vault_or_mint_is_refused() {
    let (mut chain, a, b, qualified, _) = world().await;
    let ix = allocate_ix(&chain, &a, &qualified);
    let wrong_vault = substitute(ix.clone(), &a.vault, b.vault);
    let mut all = watched(&a, &qualified);
    all.push(b.vault);
    chain
        .expect_refused(&[wrong_vault], &[], AnchorError::ConstraintHasOne, &all)
        .await;
    // Pool B's mint, with the user's token account for that mint (so the account checks that run
    // before `has_one` are satisfied): the pool refuses a mint that is not its own.
    let wrong_mint = substitute(ix, &a.mint, b.mint);
    let wrong_mint = substitute(
        wrong_mint,
        &a.user_token(&qualified),
        b.user_token(&qualified),
    );
    all.push(b.user_token(&qualified));
    chain
        .expect_refused(&[wrong_mint], &[], AnchorError::ConstraintHasOne, &all)
        .await;
}

#[tokio::test]
async fn allocate_through_a_fake_token_program_is_refused() {
    let (mut chain, a, _, qualified, _) = world().await;
    // The classic SPL Token program: a real program, but not the one the pool's mint lives in.
    let fake = substitute(
        allocate_ix(&chain, &a, &qualified),
        &spl_token_2022_interface::ID,
        anchor_spl::token::ID,
    );
    refused(
        &mut chain,
        fake,
        AnchorError::InvalidProgramId,
        &a,
        &qualified,
    )
    .await;
}

#[tokio::test]
async fn allocate_with_no_or_two_pieces_of_evidence_is_refused() {
    let (mut chain, a, _, qualified, _) = world().await;
    // Credential account plus a proof argument.
    let mut ix = allocate_ix(&chain, &a, &qualified);
    ix.data = anchor_lang::InstructionData::data(&allot::instruction::Allocate {
        proof: Some(allot::ListProof {
            value: 5_000,
            proof: vec![],
        }),
    });
    refused(&mut chain, ix, AllotError::EvidenceMismatch, &a, &qualified).await;
    // No evidence at all: the credential slot holds the program id (Anchor's "None").
    let none = substitute(
        allocate_ix(&chain, &a, &qualified),
        &pdas::credential(&a.pool, &qualified),
        allot::ID,
    );
    refused(
        &mut chain,
        none,
        AllotError::EvidenceMismatch,
        &a,
        &qualified,
    )
    .await;
}

#[tokio::test]
async fn clawback_with_substituted_accounts_is_refused() {
    let (mut chain, a, b, qualified, attacker) = world().await;
    a.allocate_by_credential(&mut chain, &qualified)
        .await
        .unwrap();
    b.allocate_by_credential(&mut chain, &qualified)
        .await
        .unwrap();
    let clawback = || instructions::clawback(&a.pool, &qualified, Evidence::Credential);
    // The attacker's own failing credential cannot claw back the qualified user's units.
    a.issue_credential(&mut chain, &attacker, 1).await;
    let ix = substitute(
        clawback(),
        &pdas::credential(&a.pool, &qualified),
        pdas::credential(&a.pool, &attacker),
    );
    refused(&mut chain, ix, AnchorError::ConstraintSeeds, &a, &qualified).await;
    // Pool B's allocation record cannot stand in for pool A's.
    let ix = substitute(
        clawback(),
        &pdas::allocation_record(&a.pool, &qualified),
        pdas::allocation_record(&b.pool, &qualified),
    );
    refused(&mut chain, ix, AnchorError::ConstraintSeeds, &a, &qualified).await;
    // Pool B's vault cannot receive pool A's units.
    let ix = substitute(clawback(), &a.vault, b.vault);
    refused(
        &mut chain,
        ix,
        AnchorError::ConstraintHasOne,
        &a,
        &qualified,
    )
    .await;
    assert_eq!(chain.token_balance(a.user_token(&qualified)).await, 100);
}

#[tokio::test]
async fn pool_create_with_a_mint_that_is_not_the_pool_pda_is_refused() {
    let mut chain = TestChain::start().await;
    let creator = chain.funded_keypair(5_000_000_000).await;
    let mint = Pubkey::new_unique();
    let pool = pdas::pool(&creator.pubkey(), 1);
    let ix = instructions::pool_create(&creator.pubkey(), pool_args(1, true));
    let ix = substitute(ix, &pdas::mint(&pool), mint);
    chain
        .expect_refused(
            &[ix],
            &[&creator],
            AnchorError::ConstraintSeeds,
            &[pool, mint],
        )
        .await;
}

#[tokio::test]
async fn fund_into_another_pools_vault_is_refused() {
    let (mut chain, a, b, _, _) = world().await;
    let op = a.operator.insecure_clone();
    let ix = substitute(
        instructions::pool_fund(&op.pubkey(), &a.pool, 5),
        &a.vault,
        b.vault,
    );
    chain
        .expect_refused(
            &[ix],
            &[&op],
            AnchorError::ConstraintHasOne,
            &[a.pool, a.vault, b.vault, a.mint],
        )
        .await;
}

/// Sends 0.001 SOL (above the rent minimum of an empty account) from the fee payer to `address`:
/// a griefer pre-funding a future PDA.
async fn prefund(chain: &mut TestChain, address: Pubkey) {
    let payer = chain.payer().pubkey();
    let ix = anchor_lang::solana_program::system_instruction::transfer(&payer, &address, 1_000_000);
    chain.send_ok(&[ix], &[]).await;
}

#[tokio::test]
async fn prefunded_addresses_do_not_block_verifiers_credentials_lists_or_allocations() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let user = Keypair::new().pubkey();
    let second_verifier = Keypair::new().pubkey();
    for address in [
        pdas::verifier(&fixture.pool, &second_verifier),
        pdas::credential(&fixture.pool, &user),
        pdas::user_list(&fixture.pool, 0),
        pdas::allocation_record(&fixture.pool, &user),
    ] {
        prefund(&mut chain, address).await;
    }
    let add = instructions::verifier_add(&op.pubkey(), &fixture.pool, &second_verifier);
    chain.send_ok(&[add], &[&op]).await;
    let listed = Keypair::new().pubkey();
    let (_, _) = fixture.publish_list(&mut chain, 0, vec![(listed, 1)]).await;
    fixture.issue_and_allocate(&mut chain, &user, 1_000).await;
    assert_eq!(chain.token_balance(fixture.user_token(&user)).await, 100);
    let record: allot::state::AllocationRecord = chain
        .fetch(pdas::allocation_record(&fixture.pool, &user))
        .await;
    assert_eq!(record.allocated, 100);
}

#[tokio::test]
async fn a_prefunded_address_does_not_block_a_periods_profit_report() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let report = pdas::profit_report(&fixture.pool, 0);
    prefund(&mut chain, report).await;
    let args = allot::instructions::ProfitReportArgs {
        period: 0,
        amount: 1_000,
        currency: *b"USD",
        evidence_hash: [7; 32],
    };
    // The report lands on a pre-funded address.
    let ix = instructions::profit_report_record(&op.pubkey(), &fixture.pool, args);
    chain.send_ok(&[ix], &[&op]).await;
    let stored: allot::state::ProfitReport = chain.fetch(report).await;
    assert_eq!((stored.pool, stored.amount), (fixture.pool, 1_000));
}

#[tokio::test]
async fn adding_a_verifier_twice_is_refused() {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, true).await;
    let op = fixture.operator.insecure_clone();
    let verifier = fixture.verifier.pubkey();
    let ix = instructions::verifier_add(&op.pubkey(), &fixture.pool, &verifier);
    let watched = [fixture.pool, pdas::verifier(&fixture.pool, &verifier)];
    let twice = AllotError::VerifierAlreadyAdded;
    chain.expect_refused(&[ix], &[&op], twice, &watched).await;
}

#[tokio::test]
async fn allocate_into_the_vault_itself_is_refused() {
    // Duplicate mutable accounts: the vault passed again as the user's token account, so the
    // transfer's source and destination would be one account (units "allocated" without moving).
    let (mut chain, a, _, qualified, _) = world().await;
    let ix = allocate_ix(&chain, &a, &qualified);
    let duplicate = substitute(ix, &a.user_token(&qualified), a.vault);
    refused(
        &mut chain,
        duplicate,
        AnchorError::ConstraintTokenOwner,
        &a,
        &qualified,
    )
    .await;
}

#[tokio::test]
async fn pool_create_twice_is_refused() {
    // Reinitialisation: the same creator and pool id again, with different terms.
    let mut chain = TestChain::start().await;
    let a = PoolFixture::create(&mut chain, 1, true).await;
    let mut args = pool_args(1, false);
    args.supply_cap = u64::MAX;
    let operator = a.operator.insecure_clone();
    let before = a.state(&mut chain).await;
    let failure = chain
        .send(
            &[instructions::pool_create(&operator.pubkey(), args)],
            &[&operator],
        )
        .await
        .expect_err("a second pool_create is refused");
    // Anchor's `init` asks the system program to create the pool account, which exists: the
    // system program refuses (on this runtime as invalid instruction data, since the address
    // holds lamports; "already in use" on runtimes that accept the pre-funded path).
    assert!(
        failure
            .logs
            .iter()
            .any(|line| line.starts_with("Program 11111111111111111111111111111111 failed")),
        "{failure:?}"
    );
    let after = a.state(&mut chain).await;
    assert_eq!(after.supply_cap, before.supply_cap);
    assert_eq!(after.transferable, before.transferable);
    assert_eq!(chain.mint_supply(a.mint).await, 10_000);
}

/// A pool whose exchange is open (settled by the returned bridge key) and a user, allocated 100
/// units, with request 0 of 10 units pending.
async fn pending_request() -> (TestChain, PoolFixture, Keypair, Keypair) {
    let mut m = Market::open(1, |_| {}).await;
    m.request(0, 10).await.unwrap();
    let user = m.users.remove(0);
    (m.chain, m.fixture, m.bridge, user)
}

#[tokio::test]
async fn a_closed_request_revived_with_lamports_is_dead() {
    // Closing then reviving: the request is closed and lamports are sent back to its address,
    // in the same transaction and later; the revived address is no request.
    let (mut chain, a, bridge, user) = pending_request().await;
    let opened: allot::state::ExchangeRequest =
        chain.fetch(pdas::exchange_request(&a.pool, 0)).await;
    let ix = instructions::exchange_reject(
        &bridge.pubkey(),
        &a.pool,
        0,
        opened.created_at,
        &user.pubkey(),
        1,
    );
    chain.send_ok(&[ix], &[&bridge]).await;
    let request = pdas::exchange_request(&a.pool, 0);
    let rent = chain.account(request).await.unwrap().lamports;
    let close = instructions::exchange_close(&a.pool, 0, &user.pubkey());
    let revive = anchor_lang::solana_program::system_instruction::transfer(
        &chain.payer().pubkey(),
        &request,
        rent,
    );

    // Close, revive and close again in one transaction: the second close finds no request.
    let watched = [request, user.pubkey(), a.pool];
    chain
        .expect_refused(
            &[close.clone(), revive.clone(), close.clone()],
            &[],
            AnchorError::AccountOwnedByWrongProgram,
            &watched,
        )
        .await;

    // Close and revive land; the revived address is a plain system account, and neither close,
    // cancel nor settle accept it.
    chain.send_ok(&[close.clone(), revive], &[]).await;
    let revived = chain.account(request).await.unwrap();
    assert_eq!(revived.owner, anchor_lang::system_program::ID);
    assert!(revived.data.is_empty());
    let settle = instructions::exchange_settle(
        &bridge.pubkey(),
        &a.pool,
        0,
        allot::instructions::ExchangeSettleArgs {
            payout_reference: [1; 32],
            paid_amount: 20,
            expected_created_at: opened.created_at,
        },
        None,
    );
    let cancel = instructions::exchange_cancel(&user.pubkey(), &a.pool, 0);
    for (ix, signers) in [
        (close, vec![]),
        (settle, vec![&bridge]),
        (cancel, vec![&user]),
    ] {
        chain
            .expect_refused(
                &[ix],
                &signers,
                AnchorError::AccountOwnedByWrongProgram,
                &watched,
            )
            .await;
    }
    // The refused attempts changed nothing: one request opened in all.
    assert_eq!(a.state(&mut chain).await.exchange_state.requests_opened, 1);
}

#[tokio::test]
async fn extreme_numbers_are_refused_and_change_nothing() {
    // Integer overflow and underflow: the largest amounts the instructions take.
    let (mut chain, a, bridge, user) = pending_request().await;
    let operator = a.operator.insecure_clone();
    let mut config = allot_tests::exchange_config(bridge.pubkey());
    let mut watched = watched(&a, &user.pubkey());
    watched.extend([pdas::escrow(&a.pool), pdas::exchange_request(&a.pool, 0)]);

    // A rule handing out more than the supply cap could ever hold.
    let mut rule = allot_tests::rule();
    rule.amount = u64::MAX;
    let ix = instructions::pool_update_rule(&operator.pubkey(), &a.pool, rule);
    chain
        .expect_refused(&[ix], &[&operator], AllotError::SupplyCapTooSmall, &watched)
        .await;
    // Every unit there is, requested by a user holding 90.
    let ix = instructions::exchange_request(&user.pubkey(), &user.pubkey(), &a.pool, 1, u64::MAX);
    chain
        .expect_refused(&[ix], &[&user], AllotError::InsufficientUnits, &watched)
        .await;
    // A settlement claiming to have paid u64::MAX for a quote of 20.
    let opened: allot::state::ExchangeRequest =
        chain.fetch(pdas::exchange_request(&a.pool, 0)).await;
    let args = allot::instructions::ExchangeSettleArgs {
        payout_reference: [1; 32],
        paid_amount: u64::MAX,
        expected_created_at: opened.created_at,
    };
    let ix = instructions::exchange_settle(&bridge.pubkey(), &a.pool, 0, args, None);
    chain
        .expect_refused(&[ix], &[&bridge], AllotError::PaidAmountMismatch, &watched)
        .await;
    // A profit so large that its share per unit outstanding does not fit the rate.
    config.pricing = allot::state::Pricing::ProfitShare { share_bps: 10_000 };
    a.set_exchange(&mut chain, config).await;
    let period = a.period(&mut chain).await;
    let report = allot::instructions::ProfitReportArgs {
        period,
        amount: u64::MAX,
        currency: *b"USD",
        evidence_hash: [1; 32],
    };
    let ix = instructions::profit_report_record(&operator.pubkey(), &a.pool, report);
    watched.push(pdas::profit_report(&a.pool, period));
    chain
        .expect_refused(&[ix], &[&operator], AllotError::MathOverflow, &watched)
        .await;
}
