//! The HTTP payment-provider adapter: `POST {url}/payouts` with an `Idempotency-Key` derived from
//! the request (its address and `created_at`), and `GET {url}/payouts/{key}` to ask what became
//! of an earlier call
//! before any second one: a provider that has forgotten the key (many do after a day) would
//! otherwise pay twice. The contract is in `openapi.yaml` beside this crate and in
//! `docs/bridge.md`.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// The header carrying the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The prefix of the bridge's idempotency keys; the request address follows it.
pub const KEY_PREFIX: &str = "allot-payout-";

/// The idempotency key of the payout for the ExchangeRequest account `request` made at
/// `created_at` (its on-chain unix seconds). The address alone is not enough: once a request is
/// closed its id can be taken again, and a later request at the same address must not be
/// answered with the earlier one's payment (a bridge with a fresh database would settle it
/// unpaid). The key is stored with the row when it is discovered and read from it
/// ([`crate::store::StoredRequest::payout_key`]); rows stored before keep the address-only key
/// ([`legacy_idempotency_key`]).
pub fn idempotency_key(request: &str, created_at: i64) -> String {
    format!("{KEY_PREFIX}{request}-{created_at}")
}

/// The key payouts were made under before keys named the request's `created_at` (migration
/// 0007): the address alone. Still read for rows stored without a key, and looked up before a
/// second call (`worker::off_chain`), since a bridge of that age may have paid the request
/// under it.
pub fn legacy_idempotency_key(request: &str) -> String {
    format!("{KEY_PREFIX}{request}")
}

/// The request address a key of this bridge names (either form: with or without
/// `-<created_at>`); `None` for a key of another system.
pub fn request_of_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let address = rest.split_once('-').map_or(rest, |(address, _)| address);
    (!address.is_empty()).then_some(address)
}

/// What the provider is asked to pay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutOrder {
    /// The ExchangeRequest account (base58).
    pub request: String,
    /// The user paid (base58 wallet; the provider maps it to a payee).
    pub user: String,
    /// Funds, in the currency's minor units.
    pub amount: u64,
    /// ISO currency code.
    pub currency: String,
}

/// The provider's answer to a payout.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PayoutReceipt {
    /// The provider's id of the payment.
    pub payment_id: String,
}

/// What the provider's ledger says of a payout key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupOutcome {
    /// Paid under this key.
    Paid {
        /// The provider's payment id.
        payment_id: String,
        /// What was paid, in the currency's minor units.
        amount_minor_units: u64,
    },
    /// The provider never accepted a payout under this key: a (first or new) call is safe.
    NotFound,
    /// Accepted and still being processed: ask again later.
    InProgress,
    /// Accepted, then failed for good: nothing was paid, but only a person decides what next.
    Failed {
        /// The provider's id of the failed payment.
        payment_id: String,
    },
    /// No trustworthy answer (unreachable, 5xx, an answer that does not parse, a failed payment):
    /// never a reason to call again; retried, then a person decides.
    Inconclusive(String),
}

impl LookupOutcome {
    /// Its `result` label in `allot_bridge_payout_outcomes_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Paid { .. } => "lookup_paid",
            Self::NotFound => "lookup_not_found",
            Self::InProgress => "lookup_in_progress",
            Self::Failed { .. } => "lookup_failed",
            Self::Inconclusive(_) => "lookup_inconclusive",
        }
    }
}

/// One payout of the provider's ledger, as `GET {url}/payouts?since=` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct LedgerEntry {
    /// The idempotency key it was made under.
    pub key: String,
    /// The provider's id of the payment.
    pub payment_id: String,
    /// `paid`, `pending` or `failed`.
    pub status: String,
    /// What was paid, in the currency's minor units.
    pub amount: u64,
}

/// `GET {url}/payouts?since=`'s answer.
#[derive(Deserialize)]
struct Ledger {
    payouts: Vec<LedgerEntry>,
}

/// The provider's "never accepted a payout under this key" (`404`), naming the key.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct NotFound {
    /// The key looked up.
    pub key: String,
    /// `not_found`.
    pub status: String,
}

/// The provider's record of a payout, as `GET {url}/payouts/{key}` answers it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PayoutRecord {
    /// The provider's id of the payment.
    pub payment_id: String,
    /// `paid`, `pending` or `failed`.
    pub status: String,
    /// What was paid, in the currency's minor units.
    pub amount: u64,
}

/// How a payout call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayoutOutcome {
    /// Paid (now or by an earlier call with the same key).
    Paid {
        /// The provider's payment id.
        payment_id: String,
    },
    /// Not known to be paid: retry later with the same key (timeout, 5xx, 429, 409 "in
    /// progress", connection).
    Retry(String),
    /// The provider refused for good (4xx): a person must look.
    Refused(String),
}

impl PayoutOutcome {
    /// Its `result` label in `allot_bridge_payout_outcomes_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Paid { .. } => "paid",
            Self::Retry(_) => "retry",
            Self::Refused(_) => "refused",
        }
    }
}

/// A payment provider over HTTP.
#[derive(Clone, Debug)]
pub struct HttpProvider {
    client: reqwest::Client,
    payouts: reqwest::Url,
    token: Option<String>,
    timeout: Duration,
}

impl HttpProvider {
    /// A provider at `base` (payouts go to `{base}/payouts`), each call bounded by `timeout`.
    pub fn new(
        base: &reqwest::Url,
        timeout: Duration,
        token: Option<String>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        let mut payouts = base.clone();
        let path = format!("{}/payouts", base.path().trim_end_matches('/'));
        payouts.set_path(&path);
        Ok(Self {
            client,
            payouts,
            token,
            timeout,
        })
    }

    /// The bound on each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Asks the provider what became of the payout made under the idempotency `key`.
    pub async fn lookup(&self, key: &str) -> LookupOutcome {
        let mut url = self.payouts.clone();
        url.set_path(&format!("{}/{key}", self.payouts.path()));
        let mut call = self.client.get(url);
        if let Some(token) = &self.token {
            call = call.bearer_auth(token);
        }
        let response = match call.send().await {
            Ok(response) => response,
            Err(error) => {
                return LookupOutcome::Inconclusive(format!("the lookup failed: {error}"));
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::NOT_FOUND {
            // Only the provider's own "no such payout" counts, naming the key: a proxy's or a
            // router's 404 says nothing about payments.
            return match serde_json::from_str::<NotFound>(&body) {
                Ok(answer) if answer.status == "not_found" && answer.key == key => {
                    LookupOutcome::NotFound
                }
                _ => LookupOutcome::Inconclusive(format!(
                    "a 404 that is not the provider's answer for key {key}: {}",
                    excerpt(&body)
                )),
            };
        }
        if !status.is_success() {
            return LookupOutcome::Inconclusive(format!(
                "the provider answered the lookup with {status}: {}",
                excerpt(&body)
            ));
        }
        match serde_json::from_str::<PayoutRecord>(&body) {
            Ok(record) if record.status == "paid" && !record.payment_id.trim().is_empty() => {
                LookupOutcome::Paid {
                    payment_id: record.payment_id,
                    amount_minor_units: record.amount,
                }
            }
            Ok(record) if record.status == "pending" => LookupOutcome::InProgress,
            Ok(record) if record.status == "failed" => LookupOutcome::Failed {
                payment_id: record.payment_id,
            },
            Ok(record) => LookupOutcome::Inconclusive(format!(
                "the provider's record of the payout is {:?} (payment {:?})",
                record.status, record.payment_id
            )),
            Err(_) => LookupOutcome::Inconclusive(format!(
                "the lookup answer does not parse: {}",
                excerpt(&body)
            )),
        }
    }

    /// The provider's ledger: every payout it accepted since `since_ms` (unix milliseconds).
    pub async fn ledger_since(&self, since_ms: i64) -> Result<Vec<LedgerEntry>, String> {
        let mut call = self
            .client
            .get(self.payouts.clone())
            .query(&[("since", since_ms)]);
        if let Some(token) = &self.token {
            call = call.bearer_auth(token);
        }
        let response = call
            .send()
            .await
            .map_err(|error| format!("the ledger call failed: {error}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "the provider answered the ledger call with {status}: {}",
                excerpt(&body)
            ));
        }
        serde_json::from_str::<Ledger>(&body)
            .map(|ledger| ledger.payouts)
            .map_err(|_| format!("the ledger answer does not parse: {}", excerpt(&body)))
    }

    /// Asks the provider to pay `order` under the idempotency `key`.
    pub async fn pay(&self, key: &str, order: &PayoutOrder) -> PayoutOutcome {
        let mut call = self
            .client
            .post(self.payouts.clone())
            .header(IDEMPOTENCY_HEADER, key)
            .json(order);
        if let Some(token) = &self.token {
            call = call.bearer_auth(token);
        }
        let response = match call.send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                return PayoutOutcome::Retry(format!("no answer within the timeout ({error})"));
            }
            Err(error) => {
                return PayoutOutcome::Retry(format!("cannot reach the provider: {error}"));
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() {
            return match serde_json::from_str::<PayoutReceipt>(&body) {
                Ok(receipt) if !receipt.payment_id.trim().is_empty() => PayoutOutcome::Paid {
                    payment_id: receipt.payment_id,
                },
                _ => PayoutOutcome::Refused(format!(
                    "the provider answered {status} without a payment_id: {}",
                    excerpt(&body)
                )),
            };
        }
        let reason = format!("the provider answered {status}: {}", excerpt(&body));
        if status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::CONFLICT
        {
            PayoutOutcome::Retry(reason)
        } else {
            PayoutOutcome::Refused(reason)
        }
    }
}

/// The start of a response body, for messages.
fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_the_request_and_its_instance() {
        let address = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
        let earlier = idempotency_key(address, 1_700_000_000);
        let later = idempotency_key(address, 1_700_000_001);
        assert_eq!(earlier, format!("allot-payout-{address}-1700000000"));
        assert_ne!(
            earlier, later,
            "a later request at the address has its own key"
        );
        assert_eq!(request_of_key(&earlier), Some(address));
        // A key stored before keys named the instance (migration 0007) still names its request.
        assert_eq!(
            request_of_key(&format!("allot-payout-{address}")),
            Some(address)
        );
        assert_eq!(request_of_key("invoice-42"), None);
        assert_eq!(request_of_key("allot-payout-"), None);
    }
}
