//! The Solana Actions endpoints: metadata on GET, and on POST `{account}` an unsigned
//! transaction built by the client library with the user as fee payer and a fresh blockhash.

use allot::state::{AllocationRecord, ExchangeRequest, Pool};
use allot_client::chain::Chain as _;
use allot_client::compute_budget::{self, ComputeBudget, FeePolicy};
use allot_client::decimal::{TokenAmount, format_units};
use allot_client::instructions::{self, Evidence};
use allot_client::{accounts, pdas};
use anchor_lang::Space as _;
use anchor_lang::prelude::Pubkey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::Message;
use solana_sdk::rent::Rent;
use solana_sdk::transaction::Transaction;

use crate::account_status::{TRANSFERS_PAUSED, account_status};
use crate::api_error::ApiError;
use crate::app::AppState;

/// Lamports a signature costs.
const FEE_PER_SIGNATURE: u64 = 5_000;

/// Compute units a transaction reserves when its simulation failed: the runtime's default for
/// one instruction.
const UNSIMULATED_UNITS: u32 = 200_000;
/// Bytes of a Token-2022 account of the pool's mint (with its extensions).
const USER_TOKEN_ACCOUNT_BYTES: usize = 170;

/// The POST body of every action.
#[derive(Debug, Deserialize)]
pub struct ActionRequest {
    /// The wallet that will sign (base58).
    pub account: String,
}

/// The POST answer of every action (the spec's `TransactionResponse`).
#[derive(Debug, Serialize)]
pub struct ActionTransaction {
    /// Always `"transaction"`: the wallet signs and sends `transaction`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The unsigned transaction, base64.
    pub transaction: String,
    /// What it does, in words.
    pub message: String,
}

/// The action an endpoint builds.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// Receive this period's allocation.
    Allocate,
    /// Request an exchange of `amount` units.
    Exchange,
    /// Cancel request `id`.
    Cancel,
}

impl Action {
    /// Its path under `/api/actions/`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allocate => "allocate",
            Action::Exchange => "exchange",
            Action::Cancel => "cancel",
        }
    }

    /// The Actions GET metadata of this action on `pool` (at `pool_address`), at unix time
    /// `now`, served from `origin` (`https://host`: icons must be absolute URLs). Parameters are
    /// typed and bounded in the unit a person types (the mint's decimals); when the pool itself
    /// rules the action out now (allocations paused, exchange closed or outside its window), the
    /// action is `disabled` with the reason as its `error`.
    pub fn metadata(self, pool_address: &Pubkey, pool: &Pool, now: i64, origin: &str) -> Value {
        let decimals = pool.decimals;
        let (title, label, description) = match self {
            Action::Allocate => (
                "Receive your allocation",
                "Allocate",
                "Receive this period's units if your credential meets the pool's rule.",
            ),
            Action::Exchange => (
                "Exchange units",
                "Request exchange",
                "Escrow units for payment at the rate in force; the operator pays and settles.",
            ),
            Action::Cancel => (
                "Cancel an exchange request",
                "Cancel",
                "Take back the units of a request the operator has not settled in time.",
            ),
        };
        let mut link = json!({
            "type": "transaction",
            "label": label,
            "href": format!("/api/actions/{}", self.name()),
        });
        match self {
            Action::Allocate => {}
            Action::Exchange => {
                let mut amount = json!({
                    "type": "number",
                    "name": "amount",
                    "label": "Units to exchange",
                    "required": true,
                    "min": json_number(&format_units(1, decimals)),
                    "pattern": decimal_pattern(decimals),
                    "patternDescription": format!(
                        "a number of units with at most {decimals} decimal places"
                    ),
                });
                if pool.exchange.per_user_period_cap > 0 {
                    amount["max"] =
                        json_number(&format_units(pool.exchange.per_user_period_cap, decimals));
                }
                link["href"] = json!(format!("/api/actions/{}?amount={{amount}}", self.name()));
                link["parameters"] = json!([amount]);
            }
            Action::Cancel => {
                link["href"] = json!(format!("/api/actions/{}?id={{id}}", self.name()));
                link["parameters"] = json!([{
                    "type": "number",
                    "name": "id",
                    "label": "Request id",
                    "required": true,
                    "min": 0,
                    "pattern": "^[0-9]+$",
                    "patternDescription": "the request's number",
                }]);
            }
        }
        let mut metadata = json!({
            "type": "action",
            "icon": format!("{origin}/icon.svg"),
            "title": title,
            "description": format!("{description} Pool {pool_address}."),
            "label": label,
            "links": {"actions": [link]},
        });
        if let Some(reason) = self.ruled_out_by_pool(pool, now) {
            metadata["disabled"] = json!(true);
            metadata["error"] = json!({ "message": reason });
        }
        metadata
    }

    /// Why `pool` rules this action out for everyone at `now`, if it does.
    fn ruled_out_by_pool(self, pool: &Pool, now: i64) -> Option<String> {
        let exchange = &pool.exchange;
        match self {
            Action::Allocate if pool.paused => Some("allocations are paused".into()),
            // The program's own window rule (`ExchangeConfig::is_open_at`); only the words here.
            Action::Exchange if !exchange.is_open_at(now) => Some(if !exchange.open {
                "exchange is closed".into()
            } else if now < exchange.window_start {
                format!("exchange opens at unix time {}", exchange.window_start)
            } else {
                format!("exchange closed at unix time {}", exchange.window_end)
            }),
            _ => None,
        }
    }
}

/// A decimal written as a JSON number (the Actions spec types `min` and `max` as numbers).
fn json_number(decimal: &str) -> Value {
    serde_json::from_str(decimal).unwrap_or(Value::Null)
}

/// The regular expression of an amount with at most `decimals` places.
fn decimal_pattern(decimals: u8) -> String {
    if decimals == 0 {
        "^[0-9]+$".into()
    } else {
        format!("^[0-9]+(\\.[0-9]{{1,{decimals}}})?$")
    }
}

/// Builds the transaction of `action` for `request.account`.
pub async fn build(
    state: &AppState,
    action: Action,
    request: &ActionRequest,
    amount: Option<&str>,
    id: Option<&str>,
) -> Result<ActionTransaction, ApiError> {
    let user: Pubkey = request.account.trim().parse().map_err(|_| {
        ApiError::bad_request(format!(
            "account {:?} is not a base58 public key",
            request.account
        ))
    })?;
    let pool_address = state.pool;
    let status = account_status(&state.chain, &pool_address, &user)
        .await
        .map_err(ApiError::unavailable)?;
    let pool = accounts::fetch::<Pool>(&state.chain, pool_address)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::unavailable("the pool vanished"))?;
    let (instruction, new_accounts, message) = match action {
        Action::Allocate => {
            if !status.allocation.eligible {
                return Err(ApiError::refused(status.allocation.reason));
            }
            let mut new_accounts = new_record(state, &pool_address, &user).await?;
            let token = state
                .chain
                .account(pdas::token_account(&user, &pool.mint))
                .await
                .map_err(ApiError::unavailable)?;
            if token.is_none_or(|a| accounts::is_prefunded(&a)) {
                new_accounts.push(USER_TOKEN_ACCOUNT_BYTES);
            }
            let evidence = status
                .allocation
                .evidence
                .clone()
                .unwrap_or(Evidence::Credential);
            (
                instructions::allocate(&user, &pool_address, &user, evidence),
                new_accounts,
                format!(
                    "Receive {} units of this period's allocation.",
                    format_units(status.allocation.amount, pool.decimals)
                ),
            )
        }
        Action::Exchange => {
            if !status.exchange.eligible {
                return Err(ApiError::refused(status.exchange.reason));
            }
            let typed: TokenAmount = amount
                .ok_or_else(|| ApiError::bad_request("amount is missing (?amount=<units>)"))?
                .parse()
                .map_err(|e| ApiError::bad_request(format!("amount: {e:#}")))?;
            let amount = typed
                .base_units(pool.decimals)
                .map_err(|e| ApiError::bad_request(format!("amount: {e:#}")))?;
            if amount > status.exchange.max_amount {
                return Err(ApiError::refused(format!(
                    "amount must be between {} and {} units",
                    format_units(1, pool.decimals),
                    format_units(status.exchange.max_amount, pool.decimals)
                )));
            }
            let id = allot_client::request_id::random();
            let mut new_accounts = new_record(state, &pool_address, &user).await?;
            new_accounts.push(8 + ExchangeRequest::INIT_SPACE);
            (
                instructions::exchange_request(&user, &user, &pool_address, id, amount),
                new_accounts,
                format!(
                    "Request exchange {id} of {} units at the rate in force.",
                    format_units(amount, pool.decimals)
                ),
            )
        }
        Action::Cancel => {
            let id: u64 = id
                .ok_or_else(|| ApiError::bad_request("id is missing (?id=<request id>)"))?
                .trim()
                .parse()
                .map_err(|_| ApiError::bad_request("id must be a request number"))?;
            if status.transfers_paused {
                return Err(ApiError::refused(TRANSFERS_PAUSED));
            }
            let pending =
                status.pending.iter().find(|r| r.id == id).ok_or_else(|| {
                    ApiError::refused(format!("you have no pending request {id}"))
                })?;
            let now = state
                .chain
                .unix_timestamp()
                .await
                .map_err(ApiError::unavailable)?;
            if now < pending.cancellable_at {
                return Err(ApiError::refused(format!(
                    "request {id} can be cancelled in {} s",
                    pending.cancellable_at - now
                )));
            }
            (
                instructions::exchange_cancel(&user, &pool_address, id),
                Vec::new(),
                format!(
                    "Cancel request {id} and take back {} units.",
                    format_units(pending.amount, pool.decimals)
                ),
            )
        }
    };
    let client = state.chain.client();
    let (blockhash, last_valid_height) = client
        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        .await
        .map_err(ApiError::unavailable)?;
    let budget = compute_budget_for(client, &user, &instruction, &blockhash, state.fees).await?;
    let rent = Rent::default();
    let needed = new_accounts
        .iter()
        .map(|bytes| rent.minimum_balance(*bytes))
        .sum::<u64>()
        .saturating_add(FEE_PER_SIGNATURE)
        .saturating_add(budget.priority_fee_lamports(UNSIMULATED_UNITS));
    if status.sol < needed {
        return Err(ApiError::refused(format!(
            "not enough SOL: this transaction needs {} SOL (fee and rent), the wallet has {}",
            lamports_to_sol(needed),
            lamports_to_sol(status.sol)
        )));
    }
    state.remember_blockhash(blockhash, last_valid_height);
    let transaction = Transaction::new_unsigned(Message::new_with_blockhash(
        &budget.apply(&[instruction]),
        Some(&user),
        &blockhash,
    ));
    let bytes = bincode::serialize(&transaction).map_err(ApiError::unavailable)?;
    Ok(ActionTransaction {
        kind: "transaction",
        transaction: BASE64.encode(bytes),
        message,
    })
}

/// The account sizes an allocation or a request creates for `user`'s allocation record: its size
/// when the record does not exist yet (or only holds lamports sent to its address), else none.
async fn new_record(
    state: &AppState,
    pool: &Pubkey,
    user: &Pubkey,
) -> Result<Vec<usize>, ApiError> {
    let record = state
        .chain
        .account(pdas::allocation_record(pool, user))
        .await
        .map_err(ApiError::unavailable)?;
    Ok(if record.is_none_or(|a| accounts::is_prefunded(&a)) {
        vec![8 + AllocationRecord::INIT_SPACE]
    } else {
        Vec::new()
    })
}

/// The compute budget of a wallet's transaction holding `instruction`: the units it consumes in
/// simulation with the client library's margin (the runtime's default for one instruction when
/// the simulation fails: signing and sending it then shows why), at the unit price `fees` asks
/// for the accounts it writes.
async fn compute_budget_for(
    client: &RpcClient,
    user: &Pubkey,
    instruction: &Instruction,
    blockhash: &Hash,
    fees: FeePolicy,
) -> Result<ComputeBudget, ApiError> {
    let writable: Vec<Pubkey> = instruction
        .accounts
        .iter()
        .filter(|meta| meta.is_writable)
        .map(|meta| meta.pubkey)
        .collect();
    let price = compute_budget::unit_price(client, &writable, fees).await;
    let trial = Transaction::new_unsigned(Message::new_with_blockhash(
        &ComputeBudget::for_simulation(Some(price)).apply(std::slice::from_ref(instruction)),
        Some(user),
        blockhash,
    ));
    let units = compute_budget::simulated_units(client, &trial)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(ComputeBudget::measured(
        units,
        UNSIMULATED_UNITS,
        Some(price),
    ))
}

/// Lamports as SOL, for messages.
fn lamports_to_sol(lamports: u64) -> String {
    format!(
        "{}.{:09}",
        lamports / 1_000_000_000,
        lamports % 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_patterned_and_bounded_in_the_tokens_units() {
        assert_eq!(decimal_pattern(0), "^[0-9]+$");
        assert_eq!(decimal_pattern(2), "^[0-9]+(\\.[0-9]{1,2})?$");
        assert_eq!(json_number(&format_units(1, 0)), json!(1));
        assert_eq!(json_number(&format_units(1, 2)), json!(0.01));
        assert_eq!(json_number(&format_units(150, 2)), json!(1.5));
    }
}
