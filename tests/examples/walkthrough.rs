//! A small story on the embedded chain with every event printed (the main job at scale is
//! `allot-demo` in `app/embedded`): a payment platform runs a pool of virtual stock, in-process.
//!
//! `cargo run -p allot-tests --example walkthrough`
//!
//! It creates a pool, authorises a verifier, credentials five users with their payment volume,
//! allocates to those who qualify (by credential and by the operator's user list), refuses a
//! double allocation, claws back from a user whose volume dropped, allocates again next period,
//! anchors the pool to a profit report, lets a user exchange units and settles the request as the
//! bridge would, and prints every event and the final balances, with the accounts' sizes and rent.

use allot::constants::RATE_SCALE;
use allot::instructions::{ExchangeSettleArgs, ProfitReportArgs, UserListPublishArgs};
use allot::state::{AllocationRecord, Credential, ExchangeRequest, Pool, Pricing, ProfitReport};
use allot_client::errors;
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::merkle_tree::UserListTree;
use allot_client::pdas;
use allot_tests::{PERIOD, PoolFixture, TestChain, exchange_config};
use anchor_lang::Space;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

fn show(step: &str, events: &[AllotEvent]) {
    println!("• {step}");
    for event in events {
        println!("    event {event:?}");
    }
}

async fn run() {
    let mut chain = TestChain::start().await;
    let pool = PoolFixture::create(&mut chain, 1, true).await;
    let state = pool.state(&mut chain).await;
    println!(
        "pool {} (virtual stock): rule = indicator 0 ≥ {} gives {} units per period of {} s; vault {} units",
        pool.pool,
        state.rule.threshold,
        state.rule.amount,
        state.period_seconds,
        chain.token_balance(pool.vault).await
    );

    // Five users and their payment volume this period; the first three by verifier credential.
    let users: Vec<(String, Pubkey, u64)> = [
        ("alice", 5_000),
        ("bob", 1_000),
        ("carol", 400),
        ("dave", 2_500),
        ("erin", 900),
    ]
    .into_iter()
    .map(|(name, volume)| (name.to_string(), Keypair::new().pubkey(), volume))
    .collect();
    for (name, user, volume) in &users[..3] {
        pool.issue_credential(&mut chain, user, *volume).await;
        println!("• verifier credentials {name}: payment volume {volume}");
    }
    for (name, user, _) in &users[..3] {
        match pool.allocate_by_credential(&mut chain, user).await {
            Ok(events) => show(&format!("allocate to {name} (credential)"), &events),
            Err(failure) => println!("• allocate to {name} refused: {}", describe(&failure)),
        }
    }
    let alice = users[0].1;
    if let Err(failure) = pool.allocate_by_credential(&mut chain, &alice).await {
        println!(
            "• allocate to alice again, same period, refused: {}",
            describe(&failure)
        );
    }

    // The operator's user list for dave and erin.
    let period = pool.period(&mut chain).await;
    let entries = users[3..]
        .iter()
        .map(|(_, user, volume)| (*user, *volume))
        .collect();
    let tree = UserListTree::build(&pool.pool, period, entries).expect("distinct users");
    let op = pool.operator.insecure_clone();
    let args = UserListPublishArgs {
        period,
        root: tree.root(),
        user_count: 2,
    };
    let events = chain
        .send(
            &[instructions::user_list_publish(
                &op.pubkey(),
                &pool.pool,
                args,
            )],
            &[&op],
        )
        .await
        .expect("list published");
    show("operator publishes the user list (dave, erin)", &events);
    let payer = chain.payer().pubkey();
    for (name, user, _) in &users[3..] {
        let evidence = Evidence::UserList {
            period,
            proof: tree.proof(user).expect("listed"),
        };
        match chain
            .send(
                &[instructions::allocate(&payer, &pool.pool, user, evidence)],
                &[],
            )
            .await
        {
            Ok(events) => show(&format!("allocate to {name} (list proof)"), &events),
            Err(failure) => println!("• allocate to {name} refused: {}", describe(&failure)),
        }
    }

    // Bob's volume drops: the verifier updates his credential, and a crank claws back.
    let bob = users[1].1;
    pool.issue_credential(&mut chain, &bob, 10).await;
    let events = chain
        .send(
            &[instructions::clawback(
                &pool.pool,
                &bob,
                Evidence::Credential,
            )],
            &[],
        )
        .await
        .expect("clawback lands");
    show("bob's volume fell to 10: clawback", &events);

    // Next period: alice qualifies again.
    chain.advance_time(PERIOD).await;
    pool.issue_credential(&mut chain, &alice, 6_000).await;
    let events = pool
        .allocate_by_credential(&mut chain, &alice)
        .await
        .expect("next period");
    show("next period: allocate to alice", &events);

    // Profit anchoring: 20% of the period's profit is spread over the outstanding units.
    let bridge = Keypair::new();
    let mut config = exchange_config(bridge.pubkey());
    config.pricing = Pricing::ProfitShare { share_bps: 2_000 };
    let events = chain
        .send(
            &[instructions::pool_set_exchange(
                &op.pubkey(),
                &pool.pool,
                config,
            )],
            &[&op],
        )
        .await
        .expect("exchange configured");
    show(
        "operator opens exchange: profit share 20%, settled by the bridge key",
        &events,
    );
    let period = pool.period(&mut chain).await;
    let report = ProfitReportArgs {
        period,
        amount: 150_000,
        currency: *b"USD",
        evidence_hash: [7; 32],
    };
    let events = chain
        .send(
            &[instructions::profit_report_record(
                &op.pubkey(),
                &pool.pool,
                report,
            )],
            &[&op],
        )
        .await
        .expect("profit reported");
    show(
        "operator reports 1,500.00 USD profit for the period",
        &events,
    );
    let rate = pool.state(&mut chain).await.exchange_state.rate;
    println!(
        "  rate in force: {}.{:02} USD per unit",
        rate / RATE_SCALE / 100,
        rate / RATE_SCALE % 100
    );

    // Alice exchanges 50 units (the transaction she signs in her wallet), the bridge settles.
    let wallet = chain.funded_keypair(10_000_000).await;
    pool.issue_credential(&mut chain, &wallet.pubkey(), 6_000)
        .await;
    pool.allocate_by_credential(&mut chain, &wallet.pubkey())
        .await
        .expect("wallet allocated");
    // The request's name: a random id, as every client draws one.
    let id = allot_client::request_id::random();
    let ix = instructions::exchange_request(&wallet.pubkey(), &wallet.pubkey(), &pool.pool, id, 50);
    let events = chain
        .send(&[ix], &[&wallet])
        .await
        .expect("exchange requested");
    show(
        "a wallet-holding user requests an exchange of 50 units",
        &events,
    );
    let request: ExchangeRequest = chain.fetch(pdas::exchange_request(&pool.pool, id)).await;
    let args = ExchangeSettleArgs {
        payout_reference: [1; 32],
        paid_amount: request.quoted,
        expected_created_at: request.created_at,
    };
    let ix = instructions::exchange_settle(&bridge.pubkey(), &pool.pool, id, args, None);
    let events = chain.send(&[ix], &[&bridge]).await.expect("settled");
    show("the bridge pays off chain and settles the request", &events);
    let ix = instructions::exchange_close(&pool.pool, id, &wallet.pubkey());
    let events = chain.send(&[ix], &[]).await.expect("closed");
    show(
        "the settled request is closed; its rent goes back to the user",
        &events,
    );

    println!("\nholder      balance  allocated  clawed back");
    let mut holders = Vec::new();
    for (name, user, _) in &users {
        let balance = chain.token_balance(pool.user_token(user)).await;
        let record = pdas::allocation_record(&pool.pool, user);
        let (allocated, clawed) = match chain.account(record).await {
            Some(_) => {
                let r: AllocationRecord = chain.fetch(record).await;
                (r.allocated, r.clawed_back)
            }
            None => (0, 0),
        };
        println!("{name:<10} {balance:>8} {allocated:>10} {clawed:>12}");
        holders.push(*user);
    }
    holders.push(wallet.pubkey());
    pool.assert_conserved(&mut chain, &holders).await;
    let state = pool.state(&mut chain).await;
    println!(
        "vault {} · minted {} · burned {} · allocated {} · clawed back {} · settled {} · outstanding {} (conservation checked)",
        chain.token_balance(pool.vault).await,
        state.totals.minted,
        state.totals.burned,
        state.totals.allocated,
        state.totals.clawed_back,
        state.exchange_state.settled,
        state.totals.outstanding
    );

    println!("\naccount            bytes  rent-exempt lamports");
    let rent = solana_sdk::rent::Rent::default();
    for (name, size) in [
        ("pool", 8 + Pool::INIT_SPACE),
        ("credential", 8 + Credential::INIT_SPACE),
        ("allocation record", 8 + AllocationRecord::INIT_SPACE),
        ("profit report", 8 + ProfitReport::INIT_SPACE),
        ("exchange request", 8 + ExchangeRequest::INIT_SPACE),
        (
            "user token account",
            chain
                .account(pool.user_token(&alice))
                .await
                .map_or(0, |a| a.data.len()),
        ),
    ] {
        println!("{name:<18} {size:>5}  {:>20}", rent.minimum_balance(size));
    }
}

fn describe(failure: &allot_tests::TxFailure) -> String {
    match failure.custom_code() {
        Some(code) => errors::decode(code).to_string(),
        None => format!("{:?}", failure.error),
    }
}

fn main() {
    if std::env::var_os("RUST_LOG").is_none() {
        // SAFETY: no other thread exists yet (the runtime is built below).
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("RUST_LOG", "error");
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run());
}
