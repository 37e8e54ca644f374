//! The HTTP payout adapter against a real HTTP provider: one payment per idempotency key,
//! whatever fails in between.

use std::time::Duration;

use allot_bridge::http_provider::{
    HttpProvider, LookupOutcome, PayoutOrder, PayoutOutcome, idempotency_key,
};
use allot_bridge::test_support::provider::TestProvider;

/// The idempotency key of `request`, made at one fixed time.
fn key(request: &str) -> String {
    idempotency_key(request, 1_700_000_000)
}

fn order(request: &str, amount: u64) -> PayoutOrder {
    PayoutOrder {
        request: request.into(),
        user: "UserA".into(),
        amount,
        currency: "USD".into(),
    }
}

async fn adapter(provider: &TestProvider) -> HttpProvider {
    HttpProvider::new(
        &provider.url.parse().unwrap(),
        Duration::from_millis(1_000),
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn a_repeated_payout_returns_the_first_payment() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    let first = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await;
    let again = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await;
    let other = http.pay(&key("ReqB"), &order("ReqB", 700)).await;
    let PayoutOutcome::Paid { payment_id } = first else {
        panic!("not paid: {first:?}")
    };
    assert_eq!(
        again,
        PayoutOutcome::Paid {
            payment_id: payment_id.clone()
        }
    );
    assert!(matches!(other, PayoutOutcome::Paid { payment_id: ref id } if *id != payment_id));
    let payments = provider.payments();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[0].key, key("ReqA"));
    assert_eq!(payments[0].order.amount, 2_500);
    assert_eq!(provider.calls().len(), 3);
}

#[tokio::test]
async fn failures_and_timeouts_are_retried_without_a_second_payment() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    provider.fail_next(2);
    for _ in 0..2 {
        assert!(matches!(
            http.pay(&key("ReqA"), &order("ReqA", 2_500)).await,
            PayoutOutcome::Retry(_)
        ));
    }
    assert!(provider.payments().is_empty(), "a 500 paid nothing");
    // Paid, but the answer comes after the client gave up.
    provider.slow_next(1);
    let lost = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await;
    assert!(
        matches!(&lost, PayoutOutcome::Retry(reason) if reason.contains("timeout")),
        "{lost:?}"
    );
    assert_eq!(provider.payments().len(), 1);
    let retried = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await;
    assert_eq!(
        retried,
        PayoutOutcome::Paid {
            payment_id: provider.payments()[0].payment_id.clone()
        }
    );
    assert_eq!(provider.payments().len(), 1, "exactly one payment");
}

#[tokio::test]
async fn a_refusal_is_final_and_says_why() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    provider.refuse_user("UserA");
    let refused = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await;
    assert!(
        matches!(&refused, PayoutOutcome::Refused(reason) if reason.contains("422") && reason.contains("payee account closed")),
        "{refused:?}"
    );
    // The same key with other parameters is refused too: the adapter never changes an order.
    provider.refuse_user("nobody");
    let provider2 = TestProvider::start().await.unwrap();
    let http2 = adapter(&provider2).await;
    http2.pay(&key("ReqB"), &order("ReqB", 100)).await;
    let changed = http2.pay(&key("ReqB"), &order("ReqB", 101)).await;
    assert!(matches!(changed, PayoutOutcome::Refused(_)), "{changed:?}");
    assert_eq!(provider2.payments().len(), 1);
}

#[tokio::test]
async fn an_unreachable_provider_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let http = HttpProvider::new(&url.parse().unwrap(), Duration::from_millis(500), None).unwrap();
    let outcome = http.pay(&key("ReqA"), &order("ReqA", 1)).await;
    assert!(
        matches!(&outcome, PayoutOutcome::Retry(reason) if reason.contains("cannot reach")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_lookup_finds_a_payment_the_provider_no_longer_deduplicates() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    assert_eq!(http.lookup(&key("ReqA")).await, LookupOutcome::NotFound);
    let PayoutOutcome::Paid { payment_id } = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await
    else {
        panic!("not paid")
    };
    // The provider forgets its idempotency keys: a blind second call would pay again...
    provider.forget_keys_after(Duration::ZERO);
    assert_eq!(
        http.lookup(&key("ReqA")).await,
        LookupOutcome::Paid {
            payment_id: payment_id.clone(),
            amount_minor_units: 2_500
        },
        "...but its ledger still knows the payment under the key"
    );
    let again = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await;
    assert!(matches!(again, PayoutOutcome::Paid { payment_id: ref id } if *id != payment_id));
    assert_eq!(provider.payments().len(), 2, "what the lookup prevents");
    assert_eq!(provider.lookups(), vec![key("ReqA"), key("ReqA")]);
}

#[tokio::test]
async fn an_in_progress_answer_is_retried_not_refused() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    provider.busy_next(1);
    assert!(matches!(
        http.pay(&key("ReqA"), &order("ReqA", 2_500)).await,
        PayoutOutcome::Retry(reason) if reason.contains("409")
    ));
    assert!(provider.payments().is_empty());
    assert!(matches!(
        http.pay(&key("ReqA"), &order("ReqA", 2_500)).await,
        PayoutOutcome::Paid { .. }
    ));
}

#[tokio::test]
async fn an_unreachable_provider_gives_an_inconclusive_lookup() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    drop(provider);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        http.lookup(&key("ReqA")).await,
        LookupOutcome::Inconclusive(_)
    ));
}

#[tokio::test]
async fn the_ledger_lists_payouts_since_a_time() {
    let provider = TestProvider::start().await.unwrap();
    let http = adapter(&provider).await;
    let before = allot_bridge::store::now_ms();
    let PayoutOutcome::Paid { payment_id } = http.pay(&key("ReqA"), &order("ReqA", 2_500)).await
    else {
        panic!("not paid")
    };
    let ledger = http.ledger_since(before).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (
            ledger[0].key.as_str(),
            ledger[0].payment_id.as_str(),
            ledger[0].status.as_str(),
            ledger[0].amount
        ),
        (key("ReqA").as_str(), payment_id.as_str(), "paid", 2_500)
    );
    let later = allot_bridge::store::now_ms() + 1_000;
    assert!(http.ledger_since(later).await.unwrap().is_empty());
}
