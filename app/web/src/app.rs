//! The HTTP surface: the built page, `/config.json`, `/api/status`, the Actions endpoints,
//! `/api/submit` and `/api/transaction/{signature}`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use allot::state::Pool;
use allot_client::accounts;
use allot_client::chain::{Chain as _, describe_transaction_error};
use allot_client::compute_budget::FeePolicy;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client_api::client_error::ErrorKind;
use solana_rpc_client_api::request::{RpcError, RpcResponseErrorData};
use solana_sdk::hash::Hash;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::{TransactionError, VersionedTransaction};
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::account_status::account_status;
use crate::actions::{self, Action, ActionRequest};
use crate::api_error::ApiError;

/// The cluster the page is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cluster {
    /// A local validator: the wallet signs, the server submits.
    Localnet,
    /// Devnet.
    Devnet,
    /// Mainnet-beta.
    MainnetBeta,
}

impl Cluster {
    /// The name the page shows.
    pub fn name(self) -> &'static str {
        match self {
            Cluster::Localnet => "localnet",
            Cluster::Devnet => "devnet",
            Cluster::MainnetBeta => "mainnet-beta",
        }
    }

    /// The Wallet Standard chain id.
    pub fn wallet_chain(self) -> &'static str {
        match self {
            Cluster::Localnet => "solana:localnet",
            Cluster::Devnet => "solana:devnet",
            Cluster::MainnetBeta => "solana:mainnet",
        }
    }
}

/// What every handler shares.
pub struct AppState {
    /// The cluster's JSON-RPC.
    pub chain: RpcChain,
    /// Its URL (the page's explorer links name it on localnet).
    pub rpc_url: String,
    /// The pool the page serves.
    pub pool: Pubkey,
    /// Which cluster.
    pub cluster: Cluster,
    /// CAIP-2 id (`solana:<genesis hash, 32 chars>`) for `X-Blockchain-Ids`.
    pub blockchain_id: String,
    /// How the transactions it builds pay for priority.
    pub fees: FeePolicy,
    /// The configured public origin (`https://host`, no trailing slash), if any.
    pub public_url: Option<String>,
    blockhashes: Mutex<HashMap<Hash, u64>>,
    submitted: Mutex<HashMap<Signature, u64>>,
}

impl AppState {
    /// State for `pool` on `chain`.
    pub fn new(
        chain: RpcChain,
        rpc_url: String,
        pool: Pubkey,
        cluster: Cluster,
        genesis: &str,
        fees: FeePolicy,
        public_url: Option<String>,
    ) -> Self {
        Self {
            chain,
            rpc_url,
            pool,
            cluster,
            blockchain_id: format!("solana:{}", genesis.get(..32).unwrap_or(genesis)),
            fees,
            public_url,
            blockhashes: Mutex::default(),
            submitted: Mutex::default(),
        }
    }

    /// Notes the last valid block height of a blockhash handed out.
    pub fn remember_blockhash(&self, blockhash: Hash, last_valid_height: u64) {
        let mut known = self.blockhashes.lock().expect("blockhash map");
        if known.len() > 10_000 {
            known.clear();
        }
        known.insert(blockhash, last_valid_height);
    }
}

/// The router: the page from `page_dir`, and the API.
pub fn router(state: Arc<AppState>, page_dir: PathBuf) -> Router {
    let actions_headers = |name: &'static str, value: HeaderValue| {
        SetResponseHeaderLayer::overriding(HeaderName::from_static(name), value)
    };
    let blockchain_ids = HeaderValue::from_str(&state.blockchain_id).expect("ASCII chain id");
    let actions = Router::new()
        .route("/actions.json", get(actions_json))
        .route(
            "/api/actions/allocate",
            get(|s, h| metadata(s, h, Action::Allocate))
                .post(|s, q, b| post_action(s, q, b, Action::Allocate)),
        )
        .route(
            "/api/actions/exchange",
            get(|s, h| metadata(s, h, Action::Exchange))
                .post(|s, q, b| post_action(s, q, b, Action::Exchange)),
        )
        .route(
            "/api/actions/cancel",
            get(|s, h| metadata(s, h, Action::Cancel))
                .post(|s, q, b| post_action(s, q, b, Action::Cancel)),
        )
        .route("/api/actions/{*unknown}", any(unknown_action))
        .route("/icon.svg", get(icon));
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::CONTENT_ENCODING,
            header::ACCEPT_ENCODING,
        ])
        .expose_headers([
            HeaderName::from_static("x-action-version"),
            HeaderName::from_static("x-blockchain-ids"),
        ]);
    let page = ServeDir::new(&page_dir).fallback(ServeFile::new(page_dir.join("index.html")));
    Router::new()
        .route("/config.json", get(config))
        .route("/api/status", get(status))
        .route("/api/submit", post(submit))
        .route("/api/transaction/{signature}", get(transaction))
        .merge(actions)
        .fallback_service(page)
        .layer(cors)
        // Outside CORS, so that preflight (OPTIONS) answers carry them too.
        .layer(actions_headers(
            "x-action-version",
            HeaderValue::from_static("2.4"),
        ))
        .layer(actions_headers("x-blockchain-ids", blockchain_ids))
        .with_state(state)
}

async fn config(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "cluster": state.cluster.name(),
        "rpcUrl": state.rpc_url,
        "chain": state.cluster.wallet_chain(),
        "pool": state.pool.to_string(),
        "explorerUrl": "https://explorer.solana.com",
    }))
}

#[derive(Deserialize)]
struct AccountQuery {
    account: Option<String>,
}

async fn status(
    State(state): State<Arc<AppState>>,
    Query(query): Query<AccountQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let account = query
        .account
        .ok_or_else(|| ApiError::bad_request("account is missing (?account=<base58>)"))?;
    let user: Pubkey = account.trim().parse().map_err(|_| {
        ApiError::bad_request(format!("account {account:?} is not a base58 public key"))
    })?;
    let status = account_status(&state.chain, &state.pool, &user)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(status))
}

async fn actions_json() -> Json<Value> {
    Json(json!({"rules": [{"pathPattern": "/api/actions/**", "apiPath": "/api/actions/**"}]}))
}

/// The Actions icon (an absolute URL to it is in every action's metadata).
async fn icon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        include_str!("icon.svg"),
    )
}

/// An action path that does not exist: 404 with the actions that do.
async fn unknown_action(Path(unknown): Path<String>) -> ApiError {
    ApiError::not_found(format!(
        "no action {unknown:?}: the actions are allocate, exchange and cancel"
    ))
}

async fn metadata(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    action: Action,
) -> Result<Json<Value>, ApiError> {
    let pool = accounts::fetch::<Pool>(&state.chain, state.pool)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::unavailable("the pool vanished"))?;
    let now = state
        .chain
        .unix_timestamp()
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(action.metadata(
        &state.pool,
        &pool,
        now,
        &origin(&state, &headers),
    )))
}

/// The origin (`scheme://host`) the Actions' absolute URLs use: the configured public URL, else
/// `http://` and the request's `Host` (forwarded headers are not trusted: any client can set
/// them).
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[derive(Deserialize)]
struct ActionQuery {
    amount: Option<String>,
    id: Option<String>,
}

async fn post_action(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ActionQuery>,
    body: Result<Json<ActionRequest>, axum::extract::rejection::JsonRejection>,
    action: Action,
) -> Result<impl IntoResponse, ApiError> {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be {{\"account\": \"<base58>\"}}: {e}"
        ))
    })?;
    let built = actions::build(
        &state,
        action,
        &request,
        query.amount.as_deref(),
        query.id.as_deref(),
    )
    .await?;
    Ok(Json(built))
}

#[derive(Deserialize)]
struct SubmitRequest {
    transaction: String,
}

async fn submit(
    State(state): State<Arc<AppState>>,
    body: Result<Json<SubmitRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be {{\"transaction\": \"<base64>\"}}: {e}"
        ))
    })?;
    let transaction: VersionedTransaction = BASE64
        .decode(request.transaction.trim())
        .ok()
        .and_then(|bytes| bincode::deserialize(&bytes).ok())
        .ok_or_else(|| {
            ApiError::bad_request("transaction is not a base64 serialized transaction")
        })?;
    let blockhash = *transaction.message.recent_blockhash();
    let signature = state
        .chain
        .client()
        .send_transaction(&transaction)
        .await
        .map_err(|error| match error.kind() {
            ErrorKind::RpcError(RpcError::RpcResponseError {
                data: RpcResponseErrorData::SendTransactionPreflightFailure(result),
                ..
            }) => match &result.err {
                Some(failure) => submit_refusal(&failure.clone().into()),
                None => ApiError::refused(error.to_string()),
            },
            ErrorKind::TransactionError(failure) => submit_refusal(failure),
            _ => ApiError::unavailable(&error),
        })?;
    if let Some(height) = state
        .blockhashes
        .lock()
        .expect("blockhash map")
        .get(&blockhash)
    {
        state
            .submitted
            .lock()
            .expect("submitted map")
            .insert(signature, *height);
    }
    Ok(Json(json!({"signature": signature.to_string()})))
}

/// A refused submission in words the page acts on.
fn submit_refusal(error: &TransactionError) -> ApiError {
    match error {
        TransactionError::BlockhashNotFound => ApiError::refused(
            "Blockhash not found: the transaction expired before it was sent; build it again",
        ),
        TransactionError::InsufficientFundsForFee
        | TransactionError::InsufficientFundsForRent { .. } => {
            ApiError::refused("not enough SOL to pay the fee and rent")
        }
        other => ApiError::refused(format!(
            "the transaction would fail: {}",
            describe_transaction_error(other)
        )),
    }
}

async fn transaction(
    State(state): State<Arc<AppState>>,
    Path(signature): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let signature: Signature = signature.parse().map_err(|_| {
        ApiError::bad_request(format!("{signature:?} is not a transaction signature"))
    })?;
    let client = state.chain.client();
    let height = client
        .get_block_height_with_commitment(CommitmentConfig::confirmed())
        .await
        .map_err(ApiError::unavailable)?;
    let found = client
        .get_signature_statuses_with_history(&[signature])
        .await
        .map_err(ApiError::unavailable)?
        .value
        .into_iter()
        .next()
        .flatten();
    let answer = match found {
        Some(status) if status.satisfies_commitment(CommitmentConfig::confirmed()) => {
            match status.err {
                None => json!({"status": "confirmed", "error": null}),
                Some(error) => {
                    json!({"status": "failed", "error": describe_transaction_error(&error)})
                }
            }
        }
        Some(_) => json!({"status": "pending", "error": null}),
        None => {
            let expired = state
                .submitted
                .lock()
                .expect("submitted map")
                .get(&signature)
                .is_some_and(|last_valid| height > *last_valid);
            json!({"status": if expired { "expired" } else { "pending" }, "error": null})
        }
    };
    Ok(Json(answer))
}
