//! A small payment provider over real HTTP, as the bridge's HTTP adapter expects one: `POST
//! /payouts` with an `Idempotency-Key` executes a payment once per key and answers every repeat
//! with the first payment (until it forgets the key, as real providers do after a while), and
//! `GET /payouts/{key}` answers from its payment ledger, which it never forgets. It records
//! every call, and fails, times out, or answers 409 on command.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::json;

use crate::http_provider::{IDEMPOTENCY_HEADER, PayoutOrder};

/// One call the provider received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCall {
    /// Its idempotency key (empty when missing).
    pub key: String,
    /// Its order.
    pub order: PayoutOrder,
}

/// One payment the provider executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The provider's id.
    pub payment_id: String,
    /// The key it was executed under.
    pub key: String,
    /// What was paid.
    pub order: PayoutOrder,
    /// When it was executed.
    pub at: std::time::Instant,
    /// When it was executed (unix milliseconds), for the ledger's `since`.
    pub at_unix_ms: i64,
}

#[derive(Default)]
struct Ledger {
    calls: Vec<ProviderCall>,
    lookups: Vec<String>,
    payments: Vec<Payment>,
    fail_next: u32,
    slow_next: u32,
    busy_next: u32,
    refuse_users: Vec<String>,
    /// Idempotency keys are honoured only this long after their payment (None: forever).
    key_memory: Option<Duration>,
    /// How long every payout call takes to answer (as a real provider's round trip).
    answer_after: Duration,
    /// Payout calls being answered now.
    in_flight: usize,
    /// The most payout calls ever answered at once.
    peak_in_flight: usize,
}

/// The provider, listening on a local port until dropped.
pub struct TestProvider {
    /// Its base URL.
    pub url: String,
    ledger: Arc<Mutex<Ledger>>,
    server: tokio::task::JoinHandle<()>,
}

/// How long a "slow" answer takes: longer than any client timeout the tests set.
pub const SLOW_ANSWER: Duration = Duration::from_secs(5);

impl TestProvider {
    /// Starts a provider on a free local port.
    pub async fn start() -> std::io::Result<Self> {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let app = Router::new()
            .route("/payouts", post(payout).get(ledger_since))
            .route("/payouts/{key}", get(lookup))
            .with_state(ledger.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            ledger,
            server,
        })
    }

    /// The next `n` calls answer 500 without paying.
    pub fn fail_next(&self, n: u32) {
        self.ledger.lock().expect("ledger").fail_next = n;
    }

    /// The next `n` calls pay, then answer only after [`SLOW_ANSWER`] (the client times out
    /// without knowing it was paid).
    pub fn slow_next(&self, n: u32) {
        self.ledger.lock().expect("ledger").slow_next = n;
    }

    /// The next `n` calls answer 409 "in progress" without paying.
    pub fn busy_next(&self, n: u32) {
        self.ledger.lock().expect("ledger").busy_next = n;
    }

    /// Every payout call answers only `after` this long (paid or not), so calls made at once
    /// overlap and [`Self::peak_in_flight`] sees them.
    pub fn answer_after(&self, after: Duration) {
        self.ledger.lock().expect("ledger").answer_after = after;
    }

    /// The most payout calls the provider was answering at the same time.
    pub fn peak_in_flight(&self) -> usize {
        self.ledger.lock().expect("ledger").peak_in_flight
    }

    /// Idempotency keys are forgotten `after` their payment: a repeated call then pays again
    /// (the lookup still finds the payment in the ledger).
    pub fn forget_keys_after(&self, after: Duration) {
        self.ledger.lock().expect("ledger").key_memory = Some(after);
    }

    /// Records a payment made outside the bridge (by hand, or by another system) under `key`:
    /// what reconciliation must find.
    pub fn plant_payment(&self, key: &str, amount: u64) -> String {
        let mut ledger = self.ledger.lock().expect("ledger");
        let payment_id = format!("pay_{:06}", ledger.payments.len() + 1);
        ledger.payments.push(Payment {
            payment_id: payment_id.clone(),
            key: key.to_owned(),
            order: PayoutOrder {
                request: crate::http_provider::request_of_key(key)
                    .unwrap_or(key)
                    .to_owned(),
                user: String::new(),
                amount,
                currency: "USD".into(),
            },
            at: std::time::Instant::now(),
            at_unix_ms: crate::store::now_ms(),
        });
        payment_id
    }

    /// Every key looked up with `GET /payouts/{key}`.
    pub fn lookups(&self) -> Vec<String> {
        self.ledger.lock().expect("ledger").lookups.clone()
    }

    /// Payouts to `user` are accepted again (after [`Self::refuse_user`]).
    pub fn accept_user(&self, user: &str) {
        self.ledger
            .lock()
            .expect("ledger")
            .refuse_users
            .retain(|refused| refused != user);
    }

    /// Payouts to `user` are refused with 422.
    pub fn refuse_user(&self, user: &str) {
        self.ledger
            .lock()
            .expect("ledger")
            .refuse_users
            .push(user.to_owned());
    }

    /// Every call received.
    pub fn calls(&self) -> Vec<ProviderCall> {
        self.ledger.lock().expect("ledger").calls.clone()
    }

    /// Every payment executed.
    pub fn payments(&self) -> Vec<Payment> {
        self.ledger.lock().expect("ledger").payments.clone()
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn payout(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Json(order): Json<PayoutOrder>,
) -> (StatusCode, Json<serde_json::Value>) {
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let in_flight = InFlight::enter(&ledger);
    tokio::time::sleep(in_flight.answer_after).await;
    answer_payout(&ledger, key, order).await
}

/// One payout call being answered, counted in the ledger until dropped (also when the client
/// hangs up and the handler is dropped mid-answer).
struct InFlight<'a> {
    ledger: &'a Mutex<Ledger>,
    answer_after: Duration,
}

impl<'a> InFlight<'a> {
    fn enter(ledger: &'a Mutex<Ledger>) -> Self {
        let mut held = ledger.lock().expect("ledger");
        held.in_flight += 1;
        held.peak_in_flight = held.peak_in_flight.max(held.in_flight);
        Self {
            ledger,
            answer_after: held.answer_after,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.in_flight = ledger.in_flight.saturating_sub(1);
        }
    }
}

/// What `POST /payouts` answers to `order` under `key`, once its round trip is over.
async fn answer_payout(
    ledger: &Mutex<Ledger>,
    key: String,
    order: PayoutOrder,
) -> (StatusCode, Json<serde_json::Value>) {
    let (answer, slow) = {
        let mut ledger = ledger.lock().expect("ledger");
        ledger.calls.push(ProviderCall {
            key: key.clone(),
            order: order.clone(),
        });
        if key.is_empty() {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "Idempotency-Key is required"})),
            );
        }
        if ledger.fail_next > 0 {
            ledger.fail_next -= 1;
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "provider unavailable"})),
            );
        }
        if ledger.busy_next > 0 {
            ledger.busy_next -= 1;
            return (
                StatusCode::CONFLICT,
                Json(json!({"error": "a payout with this key is in progress"})),
            );
        }
        if ledger.refuse_users.contains(&order.user) {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": "payee account closed"})),
            );
        }
        let memory = ledger.key_memory;
        let remembered = ledger
            .payments
            .iter()
            .rev()
            .find(|p| p.key == key && memory.is_none_or(|m| p.at.elapsed() < m));
        let answer = match remembered {
            Some(first) if first.order != order => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"error": "Idempotency-Key reused with different parameters"})),
                );
            }
            Some(first) => (StatusCode::OK, first.payment_id.clone()),
            None => {
                let payment_id = format!("pay_{:06}", ledger.payments.len() + 1);
                ledger.payments.push(Payment {
                    payment_id: payment_id.clone(),
                    key,
                    order,
                    at: std::time::Instant::now(),
                    at_unix_ms: crate::store::now_ms(),
                });
                (StatusCode::CREATED, payment_id)
            }
        };
        let slow = ledger.slow_next > 0;
        if slow {
            ledger.slow_next -= 1;
        }
        (answer, slow)
    };
    if slow {
        tokio::time::sleep(SLOW_ANSWER).await;
    }
    (answer.0, Json(json!({"payment_id": answer.1})))
}

/// `GET /payouts/{key}`: the ledger's latest payment under `key`, or 404.
async fn lookup(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    Path(key): Path<String>,
) -> (StatusCode, Json<serde_json::Value>) {
    let mut ledger = ledger.lock().expect("ledger");
    ledger.lookups.push(key.clone());
    match ledger.payments.iter().rev().find(|p| p.key == key) {
        Some(payment) => (
            StatusCode::OK,
            Json(json!({
                "payment_id": payment.payment_id,
                "status": "paid",
                "amount": payment.order.amount,
            })),
        ),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"key": key, "status": "not_found"})),
        ),
    }
}

/// `GET /payouts?since=`: every payout executed since `since` (unix ms), oldest first.
async fn ledger_since(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> (StatusCode, Json<serde_json::Value>) {
    let since: i64 = query.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    let ledger = ledger.lock().expect("ledger");
    let payouts: Vec<_> = ledger
        .payments
        .iter()
        .filter(|p| p.at_unix_ms >= since)
        .map(|p| {
            json!({"key": p.key, "payment_id": p.payment_id, "status": "paid", "amount": p.order.amount})
        })
        .collect();
    (StatusCode::OK, Json(json!({ "payouts": payouts })))
}
