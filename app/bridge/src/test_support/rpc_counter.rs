//! A JSON-RPC proxy that records every call passing through it (method, how many accounts a
//! `getMultipleAccounts` asked for, at what commitment, a `sendTransaction`'s encoded
//! transaction, when it arrived) and forwards it unchanged to the node: how the tests and the
//! benchmark see what the bridge asks of the cluster. A test may also have it refuse the next
//! calls of one method (`refuse`), as a node that fails them would.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

/// One JSON-RPC call the proxy passed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcCall {
    /// The JSON-RPC method.
    pub method: String,
    /// How many accounts it named (`getMultipleAccounts`: its address list; 0 for others).
    pub accounts: usize,
    /// The commitment it asked for, if it named one.
    pub commitment: Option<String>,
    /// The encoded transaction it carried (`sendTransaction`), as sent.
    pub transaction: Option<String>,
    /// When the proxy received it.
    pub at: std::time::Instant,
}

struct Relay {
    upstream: String,
    client: reqwest::Client,
    calls: Mutex<Vec<RpcCall>>,
    /// How many more calls of each method to refuse.
    refusals: Mutex<HashMap<String, usize>>,
}

/// The proxy, listening on a local port until dropped.
pub struct RpcCounter {
    /// Its URL, to give the bridge as `rpc_url`.
    pub url: String,
    relay: Arc<Relay>,
    server: tokio::task::JoinHandle<()>,
}

impl RpcCounter {
    /// Starts a proxy to the JSON-RPC node at `upstream` on a free local port.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let relay = Arc::new(Relay {
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            calls: Mutex::new(Vec::new()),
            refusals: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/", post(forward))
            .with_state(relay.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, relay, server })
    }

    /// Every call passed on so far, in order.
    pub fn calls(&self) -> Vec<RpcCall> {
        self.relay.calls.lock().expect("call log").clone()
    }

    /// Answers the next `times` calls of `method` (sent alone, not in a batch) with a JSON-RPC
    /// error instead of passing them on; they are still recorded.
    pub fn refuse(&self, method: &str, times: usize) {
        self.relay
            .refusals
            .lock()
            .expect("refusals")
            .insert(method.to_owned(), times);
    }

    /// How many calls of each method were passed on (or refused) so far.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in self.calls() {
            *counts.entry(call.method).or_insert(0) += 1;
        }
        counts
    }
}

impl Drop for RpcCounter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Records the calls in `body` (one request, or a batch) and forwards it, or refuses it when a
/// test asked for its method to be refused.
async fn forward(State(relay): State<Arc<Relay>>, body: Bytes) -> Response {
    if let Ok(parsed) = serde_json::from_slice::<Value>(&body) {
        let (requests, alone) = match parsed {
            Value::Array(batch) => (batch, false),
            single => (vec![single], true),
        };
        relay
            .calls
            .lock()
            .expect("call log")
            .extend(requests.iter().map(call_of));
        if alone && let Some(refused) = refused(&relay, &requests[0]) {
            return refused;
        }
    }
    let answer = relay
        .client
        .post(&relay.upstream)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            match answer.bytes().await {
                Ok(bytes) => {
                    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
                }
                Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
            }
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// A JSON-RPC error answering `request` when its method is to be refused (one refusal used).
fn refused(relay: &Relay, request: &Value) -> Option<Response> {
    let method = request["method"].as_str()?;
    let mut refusals = relay.refusals.lock().expect("refusals");
    let left = refusals.get_mut(method).filter(|left| **left > 0)?;
    *left -= 1;
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": request["id"],
        "error": {"code": -32603, "message": format!("{method} refused by the test proxy")},
    });
    Some(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            error.to_string(),
        )
            .into_response(),
    )
}

/// What `request` (one JSON-RPC request object) asks.
fn call_of(request: &Value) -> RpcCall {
    let method = request["method"].as_str().unwrap_or("(none)").to_owned();
    let params = &request["params"];
    let accounts = match method.as_str() {
        "getMultipleAccounts" => params[0].as_array().map_or(0, Vec::len),
        _ => 0,
    };
    let commitment = params
        .as_array()
        .and_then(|params| params.iter().find_map(|p| p["commitment"].as_str()))
        .map(str::to_owned);
    let transaction = match method.as_str() {
        "sendTransaction" => params[0].as_str().map(str::to_owned),
        _ => None,
    };
    RpcCall {
        method,
        accounts,
        commitment,
        transaction,
        at: std::time::Instant::now(),
    }
}
