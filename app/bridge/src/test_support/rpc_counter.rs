//! A JSON-RPC proxy that records every call passing through it (method, how many accounts a
//! `getMultipleAccounts` asked for, at what commitment) and forwards it unchanged to the node:
//! how the tests and the benchmark see what the bridge asks of the cluster.

use std::collections::BTreeMap;
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
}

struct Relay {
    upstream: String,
    client: reqwest::Client,
    calls: Mutex<Vec<RpcCall>>,
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

    /// How many calls of each method were passed on so far.
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

/// Records the calls in `body` (one request, or a batch) and forwards it.
async fn forward(State(relay): State<Arc<Relay>>, body: Bytes) -> Response {
    if let Ok(parsed) = serde_json::from_slice::<Value>(&body) {
        let requests = match parsed {
            Value::Array(batch) => batch,
            single => vec![single],
        };
        relay
            .calls
            .lock()
            .expect("call log")
            .extend(requests.iter().map(call_of));
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
    RpcCall {
        method,
        accounts,
        commitment,
    }
}
