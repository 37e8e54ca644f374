//! Manual review, end to end: the provider refuses three payouts, the bridge (a separate
//! process) stops them for a person, and a person resolves each with `allot-bridge review`:
//! `retry` (the provider was fixed: paid once, after a lookup), `mark-paid` (paid by hand: settled
//! with that reference, no provider call) and `reject` (units back on chain). Every action is
//! audited with who and why.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::bridge_harness::{Bridge, Market, metric, scrape};
use super::transaction_when_written;
use allot::state::{ExchangeRequest, RequestStatus};
use allot_bridge::settle::payout_reference;
use allot_bridge::state::RequestState;
use allot_bridge::store::Store;
use allot_bridge::test_support::provider::TestProvider;
use allot_client::accounts;
use anchor_lang::Discriminator as _;
use anchor_lang::prelude::Pubkey;

/// The compute-budget program, whose instructions set a transaction's unit limit and price.
const COMPUTE_BUDGET_PROGRAM: &str = "ComputeBudget111111111111111111111111111111";

/// Runs `allot-bridge --config <config> <args>`; returns its stdout, or panics with its stderr.
fn bridge_command(config: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_allot-bridge"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `allot-bridge --config <config> review <args>`.
pub fn review(config: &Path, args: &[&str]) -> String {
    bridge_command(config, &[&["review"], args].concat())
}

/// `allot-bridge --config <config> review <args>`, which must fail; returns its stderr.
pub fn review_refused(config: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_allot-bridge"))
        .arg("--config")
        .arg(config)
        .arg("review")
        .args(args)
        .output()
        .unwrap();
    assert!(!output.status.success(), "review {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

/// `allot-bridge --config <config> reconcile --json`.
pub fn reconcile(config: &Path) -> serde_json::Value {
    serde_json::from_str(&bridge_command(config, &["reconcile", "--json"])).unwrap()
}

/// The request at `address` on chain.
async fn on_chain(market: &Market, address: Pubkey) -> ExchangeRequest {
    accounts::fetch(&market.chain, address)
        .await
        .unwrap()
        .unwrap()
}

/// Runs the review scenario with users 3 and 4 of `market`.
pub async fn review_commands(market: &Market) {
    let provider = TestProvider::start().await.unwrap();
    let (user3, user4) = (market.users[3].1.key, market.users[4].1.key);
    provider.refuse_user(&user3.to_string());
    provider.refuse_user(&user4.to_string());
    let (retried, retried_quote) = market.request(3, 4).await;
    let (marked, _) = market.request(3, 1).await;
    let (rejected, rejected_quote) = market.request(4, 2).await;

    let database = format!("sqlite://{}", market.dir.path().join("review.db").display());
    // A fixed priority fee: every lock and settle transaction must carry it.
    let payout = format!(
        "priority_fee_micro_lamports = 1000\n[payout]\nkind = \"http\"\nurl = \"{}\"\ntimeout_ms = 1000\n",
        provider.url
    );
    let (config, metrics_port) =
        market.bridge_config("reviewed", &database, &payout, 300, &market.ws_url);
    let mut bridge = vec![Bridge::spawn(&config, None)];

    // The bridge stops all three for a person, saying why.
    let deadline = Instant::now() + Duration::from_secs(180);
    let listed = loop {
        // The bridge creates and migrates its database as it starts.
        if !std::fs::read_to_string(&bridge[0].log)
            .unwrap_or_default()
            .contains("bridge started")
        {
            assert!(Instant::now() < deadline, "{}", bridge[0].log_tail());
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let listed: serde_json::Value =
            serde_json::from_str(&review(&config, &["list", "--json"])).unwrap();
        if listed["review"].as_array().unwrap().len() == 3 {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "not all in review: {listed}\n{}",
            bridge[0].log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for row in listed["review"].as_array().unwrap() {
        let reason = row["review_reason"].as_str().unwrap();
        assert!(reason.contains("422"), "{reason}");
    }
    assert!(provider.payments().is_empty());

    // retry: the payee is fixed at the provider.
    provider.accept_user(&user3.to_string());
    let retried_text = retried.to_string();
    let said = review(
        &config,
        &[
            "retry",
            "--request",
            &retried_text,
            "--by",
            "alice",
            "--reason",
            "payee reopened",
        ],
    );
    assert!(said.contains("retry by alice -> payout_pending"), "{said}");
    // mark-paid: the operator paid by hand.
    let marked_text = marked.to_string();
    review(
        &config,
        &[
            "mark-paid",
            "--request",
            &marked_text,
            "--payment-id",
            "ext-77",
            "--by",
            "bob",
            "--reason",
            "paid by bank transfer",
        ],
    );
    // close: refused while the request is on chain (it is for retry or reject); nothing moves.
    let rejected_text = rejected.to_string();
    let refused = review_refused(
        &config,
        &[
            "close",
            "--request",
            &rejected_text,
            "--by",
            "carol",
            "--reason",
            "payee closed",
        ],
    );
    assert!(refused.contains("is still on chain"), "{refused}");
    // reject: the payee is gone; the units go back on chain.
    review(
        &config,
        &[
            "reject",
            "--request",
            &rejected_text,
            "--code",
            "9",
            "--by",
            "carol",
            "--reason",
            "payee closed",
        ],
    );
    let gone = on_chain(market, rejected).await;
    assert_eq!(
        (gone.status, gone.reject_reason),
        (RequestStatus::Rejected, 9)
    );

    market.wait_settled(&[retried, marked], &mut bridge).await;
    // The retried request was paid once, after the bridge asked the provider's ledger first.
    let payments = provider.payments();
    assert_eq!(payments.len(), 1, "{payments:?}");
    let retried_key = market.payout_key(&retried).await;
    assert_eq!(payments[0].key, retried_key);
    assert_eq!(payments[0].order.amount, retried_quote);
    assert!(provider.lookups().contains(&retried_key));
    // Its lock and its settlement both paid the configured priority fee under a unit limit (the
    // node's address index follows confirmation by a moment: look until both are there).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = budgeted_bridge_calls(market, retried).await;
        if seen == ["lock", "settle"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "one landed lock and one settlement: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The hand-paid request is settled with its reference, without a provider call.
    assert_eq!(
        on_chain(market, marked).await.payout_reference,
        payout_reference("ext-77")
    );
    let marked_key = market.payout_key(&marked).await;
    assert!(
        provider
            .calls()
            .iter()
            .filter(|c| c.key == marked_key)
            .count()
            == 1,
        "only the refused call"
    );

    // Each action is audited: who, why, where it went.
    let shown: serde_json::Value =
        serde_json::from_str(&review(&config, &["show", "--request", &marked_text])).unwrap();
    assert_eq!(shown["review_actions"][0]["action"], "mark_paid");
    assert_eq!(shown["review_actions"][0]["by"], "bob");
    assert_eq!(
        shown["review_actions"][0]["reason"],
        "paid by bank transfer"
    );
    assert_eq!(shown["review_actions"][0]["payment_id"], "ext-77");
    // The rows end settled and withdrawn (settled once the settle is finalized).
    let store = Store::open(&database).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let states: Vec<_> = [&retried_text, &marked_text, &rejected_text]
            .iter()
            .map(|address| async { store.request(address).await.unwrap().unwrap() })
            .collect();
        let mut rows = Vec::new();
        for row in states {
            rows.push(row.await.state().unwrap());
        }
        if rows
            == [
                RequestState::Settled,
                RequestState::Settled,
                RequestState::Withdrawn,
            ]
        {
            break;
        }
        assert!(Instant::now() < deadline, "rows: {rows:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let listed: serde_json::Value =
        serde_json::from_str(&review(&config, &["list", "--json"])).unwrap();
    assert!(listed["review"].as_array().unwrap().is_empty());
    // Reconciliation: the books agree (the hand payment was recorded by a person)...
    let report = reconcile(&config);
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    // ...until someone pays the rejected request's quote at the provider by hand.
    let planted = provider.plant_payment(&market.payout_key(&rejected).await, rejected_quote);
    let report = reconcile(&config);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["kind"], "paid_not_settled");
    assert_eq!(findings[0]["address"], rejected_text);
    assert!(
        findings[0]["detail"].as_str().unwrap().contains(&planted),
        "{report}"
    );
    // The provider's answers, by result: three refusals, then for the retry two lookups that
    // found nothing (under its key, and under the address-only key of bridges before migration
    // 0007) and one payment.
    let (_, exposition) = scrape(metrics_port, "/metrics").await;
    for (result, count) in [("refused", 3.0), ("lookup_not_found", 2.0), ("paid", 1.0)] {
        let series = format!("allot_bridge_payout_outcomes_total{{result=\"{result}\"}}");
        assert_eq!(metric(&exposition, &series), Some(count), "{series}");
    }
    let stopped = bridge.pop().unwrap().stop().await;
    assert!(stopped.success());
}

/// The bridge's landed calls on `request` ("lock", "settle"), sorted, each checked to carry a
/// unit limit and the configured price of 1,000 micro-lamports per unit.
async fn budgeted_bridge_calls(market: &Market, request: Pubkey) -> Vec<&'static str> {
    let mut seen = Vec::new();
    for signature in market
        .chain
        .client()
        .get_signatures_for_address(&request)
        .await
        .unwrap()
    {
        let signature = signature.signature.parse().unwrap();
        let found =
            transaction_when_written(&market.chain, &signature, Duration::from_secs(30)).await;
        let transaction = found.transaction.transaction.decode().unwrap();
        let keys = transaction.message.static_account_keys();
        let calls: Vec<_> = transaction
            .message
            .instructions()
            .iter()
            .map(|ix| (keys[usize::from(ix.program_id_index)], ix.data.clone()))
            .collect();
        let bridge_call = calls.iter().find_map(|(program, data)| {
            (*program == allot::ID).then(|| {
                if data.starts_with(allot::instruction::ExchangeLock::DISCRIMINATOR) {
                    Some("lock")
                } else if data.starts_with(allot::instruction::ExchangeSettle::DISCRIMINATOR) {
                    Some("settle")
                } else {
                    None
                }
            })
        });
        let Some(Some(call)) = bridge_call else {
            continue; // the user's own request, or a lock refused on chain
        };
        if found
            .transaction
            .meta
            .as_ref()
            .is_some_and(|m| m.err.is_some())
        {
            continue;
        }
        let budget: Vec<_> = calls
            .iter()
            .filter(|(program, _)| program.to_string() == COMPUTE_BUDGET_PROGRAM)
            .map(|(_, data)| data.clone())
            .collect();
        // SetComputeUnitLimit (tag 2, u32) and SetComputeUnitPrice (tag 3, u64 = 1000).
        assert!(
            budget.iter().any(|data| data.first() == Some(&2)),
            "{call}: {calls:?}"
        );
        let mut price = vec![3];
        price.extend_from_slice(&1_000u64.to_le_bytes());
        assert!(budget.contains(&price), "{call}: {calls:?}");
        seen.push(call);
    }
    seen.sort_unstable();
    seen
}
