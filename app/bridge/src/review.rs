//! `allot-bridge review …`: what a person does with a request the bridge stopped for them.
//! Every action names who took it and why, and is recorded with the state change in one
//! database transaction (`review_actions`, `transitions`).
//!
//! - `retry`: back to the state it stopped in; a request with provider attempts asks the
//!   provider what became of them before any new call.
//! - `mark-paid --payment-id`: the person found the payment at the provider; the bridge settles
//!   it on chain with that reference.
//! - `reject --code`: sends `exchange_reject` on chain (the units go back to the user), then
//!   closes the row; refused when a payment is recorded (settle it instead).
//! - `close`: the request the row stored is no longer on chain (closed, or a later request
//!   holds its address): the row closes as withdrawn, nothing is sent (an open later request is
//!   then taken up by the next scan of open requests, `store::earlier`); refused while the
//!   stored request is there (retry or reject it), when a payment is recorded, and (unless
//!   `--force`, after a person looked it up) while a settle transaction is stored.
//!
//! After provider calls, `reject` and `close` need the provider's ledger to say none of them
//! paid; `--force` overrides only an answer that cannot say, never a payment. Every action may
//! name the request's `created_at` (`--created-at`), and must once the address has held earlier
//! requests: it is refused on a row that stores another.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::accounts;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, bail, ensure};
use clap::Subcommand;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::signature::Signer;
use solana_sdk::transaction::Transaction;

use crate::config::Settings;
use crate::http_provider::LookupOutcome;
use crate::state::RequestState;
use crate::store::{ReviewAction, Store, StoredRequest};

/// Review subcommands.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List the requests waiting for a person, with why.
    List {
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// One request: its row, its state history and the review actions taken on it.
    Show {
        /// The ExchangeRequest account address.
        #[arg(long)]
        request: String,
    },
    /// Resume the request where it stopped (after fixing the cause).
    Retry {
        #[command(flatten)]
        who: Reviewer,
    },
    /// Record the provider's payment found for the request; the bridge then settles it.
    MarkPaid {
        #[command(flatten)]
        who: Reviewer,
        /// The provider's payment id (recorded on chain as the payout reference's preimage).
        #[arg(long)]
        payment_id: String,
    },
    /// Reject the request on chain (units back to the user) and close it.
    Reject {
        #[command(flatten)]
        who: Reviewer,
        /// The reject reason code recorded on chain.
        #[arg(long)]
        code: u16,
        /// Reject even though the provider cannot say whether an earlier call paid (the user
        /// may then hold both the payment and the units).
        #[arg(long)]
        force: bool,
    },
    /// Close the row, sending nothing, when the request it stored is no longer on chain (its
    /// account closed, or a later request at its address): the row ends withdrawn.
    Close {
        #[command(flatten)]
        who: Reviewer,
        /// Close even though the provider cannot say whether an earlier call paid, or a stored
        /// settle transaction (looked up by the person) may have landed.
        #[arg(long)]
        force: bool,
    },
}

/// Which request, who acts and why (every action is audited).
#[derive(Debug, clap::Args)]
pub struct Reviewer {
    /// The ExchangeRequest account address.
    #[arg(long)]
    pub request: String,
    /// Who takes the action (a person's name or handle).
    #[arg(long, env = "ALLOT_BRIDGE_REVIEWER")]
    pub by: String,
    /// Why.
    #[arg(long)]
    pub reason: String,
    /// When the request was made (its on-chain `created_at`, unix seconds, as `review show`
    /// prints it): the action is refused if the row at the address stores another request.
    /// Required once the address has held earlier requests (ids can be taken again).
    #[arg(long)]
    pub created_at: Option<i64>,
}

/// Runs a review subcommand; returns what to print.
pub async fn run(settings: &Settings, store: &Store, command: ReviewCommand) -> Result<String> {
    match command {
        ReviewCommand::List { json } => list(store, json).await,
        ReviewCommand::Show { request } => show(store, &request).await,
        ReviewCommand::Retry { who } => {
            let row = in_review(store, &who).await?;
            let to = store
                .state_before_review(&row.address)
                .await?
                .context("the request's history does not say where it stopped")?;
            ensure!(
                to.review_may_lead_to(),
                "request {} stopped in {to}, which a retry cannot resume",
                row.address
            );
            act(store, &who, &row, "retry", to, None).await
        }
        ReviewCommand::MarkPaid { who, payment_id } => {
            ensure!(!payment_id.trim().is_empty(), "--payment-id is empty");
            let row = in_review(store, &who).await?;
            if let Some(recorded) = &row.payment_id {
                ensure!(
                    *recorded == payment_id,
                    "request {} already records payment {recorded}",
                    row.address
                );
            }
            act(
                store,
                &who,
                &row,
                "mark_paid",
                RequestState::Paid,
                Some(payment_id),
            )
            .await
        }
        ReviewCommand::Reject { who, code, force } => {
            let row = in_review(store, &who).await?;
            if let Some(payment) = &row.payment_id {
                bail!(
                    "request {} records payment {payment}: settle it (retry) instead of rejecting",
                    row.address
                );
            }
            ensure_never_paid(settings, &row, force, "rejects").await?;
            reject_on_chain(settings, &row, code).await?;
            act(store, &who, &row, "reject", RequestState::Withdrawn, None).await
        }
        ReviewCommand::Close { who, force } => {
            let row = in_review(store, &who).await?;
            let (_, found) = on_chain_now(&chain_of(settings), &row).await?;
            if let Some(refusal) = close_refusal(&row, found.as_ref(), force) {
                bail!("{refusal}; the row stays in review");
            }
            ensure_never_paid(settings, &row, force, "closes").await?;
            let done = act(store, &who, &row, "close", RequestState::Withdrawn, None).await?;
            Ok(match found.as_ref().and_then(later_request_note) {
                Some(note) => format!("{done}\n{note}"),
                None => done,
            })
        }
    }
}

/// The request of `who`, checked to be in manual review and, when `who` names when it was made
/// or the address has held earlier requests, to be the one named ([`another_request_named`]).
async fn in_review(store: &Store, who: &Reviewer) -> Result<StoredRequest> {
    ensure!(!who.by.trim().is_empty(), "--by is empty");
    ensure!(!who.reason.trim().is_empty(), "--reason is empty");
    let row = store
        .request(&who.request)
        .await?
        .with_context(|| format!("the bridge has no request {}", who.request))?;
    ensure!(
        row.state()? == RequestState::ManualReview,
        "request {} is {}, not in manual review",
        row.address,
        row.state_name
    );
    let earlier = store.earlier_requests_at(&row.address).await?;
    if let Some(refusal) = another_request_named(&row, who.created_at, &earlier) {
        bail!("{refusal}; nothing done");
    }
    Ok(row)
}

/// Why an action naming `created_at` must not act on `row`: it names another request than the
/// row stores, or names none while the address has held `earlier` requests (a person reading
/// an earlier request's payment or history would otherwise act on the later one).
fn another_request_named(
    row: &StoredRequest,
    created_at: Option<i64>,
    earlier: &[StoredRequest],
) -> Option<String> {
    match created_at {
        Some(named) if named != row.created_at => Some(format!(
            "the request at {} was made at {} (unix seconds), not {named}: the address holds another request than the one named",
            row.address, row.created_at
        )),
        Some(_) => None,
        None if earlier.is_empty() => None,
        None => {
            let made: Vec<String> = earlier.iter().map(|r| r.created_at.to_string()).collect();
            Some(format!(
                "the address {} has held {} earlier request(s) (made at {}); its row stores the one made at {}: name it with --created-at {}",
                row.address,
                earlier.len(),
                made.join(", "),
                row.created_at,
                row.created_at
            ))
        }
    }
}

/// Records the action and the state change.
async fn act(
    store: &Store,
    who: &Reviewer,
    row: &StoredRequest,
    action: &str,
    to: RequestState,
    payment_id: Option<String>,
) -> Result<String> {
    let recorded = ReviewAction {
        action: action.into(),
        by: who.by.trim().into(),
        reason: who.reason.trim().into(),
        payment_id,
        to,
    };
    ensure!(
        store
            .apply_review(&row.address, row.created_at, &recorded)
            .await?,
        "request {} left manual review meanwhile, or its address now holds another request",
        who.request
    );
    Ok(format!(
        "request {}: {action} by {} -> {to}",
        who.request, recorded.by
    ))
}

/// Ending a request without a payment (`reject`, `close`) after provider calls needs the
/// provider's word that none of them paid (a row without calls needs nothing), under the row's
/// key and under the address-only key of bridges before migration 0007. A payment the
/// provider reports under the row's key always refuses; `force` (the action, `verb`, named in
/// the message) overrides only an answer that cannot say whose or whether: a payment under the
/// address-only key (it may be an earlier request's at the address), still in progress,
/// inconclusive, or no HTTP provider in this configuration to ask.
async fn ensure_never_paid(
    settings: &Settings,
    row: &StoredRequest,
    force: bool,
    verb: &str,
) -> Result<()> {
    if row.payout_attempts == 0 {
        return Ok(());
    }
    let Some(provider) = settings.http_provider()? else {
        ensure!(
            force,
            "request {} had {} provider calls, and this configuration names no HTTP provider to ask whether one paid; --force {verb} anyway",
            row.address,
            row.payout_attempts
        );
        return Ok(());
    };
    // The row's key, then the address-only key bridges before migration 0007 paid under (a
    // payment there may be this request's, or an earlier request's at its address).
    for (n, key) in row.payout_keys().enumerate() {
        let own = n == 0;
        match provider.lookup(&key).await {
            // Never accepted, or accepted and failed: nothing was paid.
            LookupOutcome::NotFound | LookupOutcome::Failed { .. } => {}
            LookupOutcome::Paid { payment_id, .. } if own => bail!(
                "the provider paid request {} (payment {payment_id}): use mark-paid --payment-id {payment_id}",
                row.address
            ),
            LookupOutcome::Paid { .. } if force => {}
            LookupOutcome::Paid { payment_id, .. } => bail!(
                "the provider has payment {payment_id} under the address-only key {key}, which bridges before migration 0007 paid under: if it paid request {}, use mark-paid --payment-id {payment_id}; if it paid an earlier request at this address, --force {verb} anyway",
                row.address
            ),
            LookupOutcome::InProgress | LookupOutcome::Inconclusive(_) if force => {}
            LookupOutcome::InProgress => bail!(
                "the provider is still paying request {} (key {key}): wait for its answer (--force {verb} anyway)",
                row.address
            ),
            LookupOutcome::Inconclusive(reason) => bail!(
                "the provider cannot say whether request {} was paid under key {key} ({reason}); --force {verb} anyway",
                row.address
            ),
        }
    }
    Ok(())
}

/// Sends `exchange_reject` for `row` with the settlement authority and waits for it.
async fn reject_on_chain(settings: &Settings, row: &StoredRequest, code: u16) -> Result<()> {
    let authority = settings.settlement_authority()?;
    let chain = chain_of(settings);
    let (address, found) = on_chain_now(&chain, row).await?;
    let request = found.with_context(|| format!("request {address} is not on chain"))?;
    // The account at the address must be this row's request: a closed request's id may have
    // been taken by a later one, which this rejection would cancel instead.
    if let Some(why) = crate::worker::mismatch(row, &request) {
        bail!(
            "the account at {address} is not the request this row stored ({why}): rejecting would reject a later request, not this one; nothing sent"
        );
    }
    ensure!(
        matches!(
            request.status,
            RequestStatus::Pending | RequestStatus::Locked
        ),
        "request {address} is {:?} on chain: nothing to reject",
        request.status
    );
    let reject = allot_client::instructions::exchange_reject(
        &authority.pubkey(),
        &request.pool,
        request.id,
        request.created_at,
        &request.user,
        code,
    );
    let blockhash = chain.client().get_latest_blockhash().await?;
    let transaction = Transaction::new_signed_with_payer(
        &[reject],
        Some(&authority.pubkey()),
        &[&authority],
        blockhash,
    );
    chain
        .client()
        .send_and_confirm_transaction(&transaction)
        .await
        .with_context(|| format!("exchange_reject of {address}"))?;
    Ok(())
}

/// The node a person's action reads and writes through, at confirmed commitment.
fn chain_of(settings: &Settings) -> RpcChain {
    RpcChain::new(settings.rpc_url.clone(), CommitmentConfig::confirmed())
}

/// `row`'s address and the account there now, if any.
async fn on_chain_now(
    chain: &RpcChain,
    row: &StoredRequest,
) -> Result<(Pubkey, Option<ExchangeRequest>)> {
    let address: Pubkey = row.address.parse().context("stored address")?;
    let found = accounts::fetch(chain, address)
        .await
        .with_context(|| format!("reading request {address} on chain"))?;
    Ok((address, found))
}

/// Why `review close` must not end `row`, with `found` the account at its address: a payment
/// is recorded (the user was paid: the row is not "nothing owed"); a settle transaction is
/// stored, which may have landed and paid (a person looks it up first, then `force`); or the
/// request the row stored is still there (`retry` resumes it, and one that is final then ends
/// by itself; `reject` ends an open one on chain). `None` when the address is empty or holds a
/// later request (`crate::worker::mismatch`).
fn close_refusal(
    row: &StoredRequest,
    found: Option<&ExchangeRequest>,
    force: bool,
) -> Option<String> {
    if let Some(payment) = &row.payment_id {
        return Some(format!(
            "request {} records payment {payment}: it was paid, so its row does not close as withdrawn (retry settles it while the request is on chain; reconcile reports it otherwise)",
            row.address
        ));
    }
    if let Some(signature) = row.settle_signature.as_deref().filter(|_| !force) {
        return Some(format!(
            "request {} has a settle transaction stored ({signature}), which may have landed and paid: look it up first; --force closes anyway",
            row.address
        ));
    }
    let request = found.filter(|request| crate::worker::mismatch(row, request).is_none())?;
    Some(format!(
        "request {} is still on chain ({:?}): retry resumes it (a final one then ends by itself), or reject ends an open one",
        row.address, request.status
    ))
}

/// What a person closing a row should know of `later`, the request now at its address, when it
/// is open: the bridge's next scan of open requests takes it up under a row and payout key of its
/// own (the closed row gives up the address, kept in `earlier_requests`); when it is locked, by
/// whom and when its user can cancel (a lock by another key sends it to review).
fn later_request_note(later: &ExchangeRequest) -> Option<String> {
    let lock = match later.status {
        RequestStatus::Pending => String::new(),
        RequestStatus::Locked => {
            let from = later
                .cancel_from()
                .ok()
                .flatten()
                .map_or("the end of its lock".to_owned(), |at| {
                    format!("unix time {at}")
                });
            format!(
                ", locked by {}: its user can cancel it from {from}",
                later.locked_by
            )
        }
        RequestStatus::Settled | RequestStatus::Cancelled | RequestStatus::Rejected => {
            return None;
        }
    };
    Some(format!(
        "note: the address now holds a later request (id {}, user {}{lock}); the bridge's next scan of open requests takes it up under its own row and payout key (a request locked by another key goes to review)",
        later.id, later.user
    ))
}

/// The requests in manual review.
async fn list(store: &Store, json: bool) -> Result<String> {
    let waiting: Vec<StoredRequest> = store
        .requests()
        .await?
        .into_iter()
        .filter(|r| r.state().is_ok_and(|s| s == RequestState::ManualReview))
        .collect();
    if json {
        let listed: Vec<_> = waiting
            .iter()
            .map(|r| {
                json!({
                    "address": r.address, "pool": r.pool, "id": r.request_id,
                    "created_at": r.created_at, "user": r.user_key, "quote": r.quote,
                    "currency": r.currency,
                    "payment_id": r.payment_id, "payout_attempts": r.payout_attempts,
                    "review_reason": r.review_reason,
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&json!({ "review": listed }))?);
    }
    let mut lines: Vec<String> = waiting
        .iter()
        .map(|r| {
            format!(
                "{} (request {} of pool {}, made at {}): {}",
                r.address,
                r.request_id,
                r.pool,
                r.created_at,
                r.review_reason.as_deref().unwrap_or("no reason recorded")
            )
        })
        .collect();
    lines.push(format!("{} requests wait for a person", waiting.len()));
    Ok(lines.join("\n"))
}

/// One request's row, history and review actions, as JSON.
async fn show(store: &Store, address: &str) -> Result<String> {
    let row = store
        .request(address)
        .await?
        .with_context(|| format!("the bridge has no request {address}"))?;
    let history: Vec<&str> = store
        .history(address)
        .await?
        .into_iter()
        .map(RequestState::as_str)
        .collect();
    let actions: Vec<_> = store
        .review_actions(address)
        .await?
        .into_iter()
        .map(|a| {
            json!({"action": a.action, "by": a.by, "reason": a.reason,
                   "payment_id": a.payment_id, "to": a.to.as_str()})
        })
        .collect();
    // Earlier requests at the address (their rows given up to a later request): what was paid
    // for each, and under which key. The history and the actions are the address's, all of them.
    let earlier: Vec<_> = store
        .earlier_requests_at(address)
        .await?
        .into_iter()
        .map(|r| {
            json!({"created_at": r.created_at, "user": r.user_key, "state": r.state_name,
                   "quote": r.quote, "payment_id": r.payment_id, "payout_key": r.payout_key()})
        })
        .collect();
    Ok(serde_json::to_string_pretty(&json!({
        "address": row.address, "pool": row.pool, "id": row.request_id, "user": row.user_key,
        "created_at": row.created_at, "state": row.state_name, "quote": row.quote,
        "currency": row.currency, "payment_id": row.payment_id, "payout_key": row.payout_key(),
        "payout_attempts": row.payout_attempts, "review_reason": row.review_reason,
        "history": history, "review_actions": actions, "earlier_requests": earlier,
    }))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_provider::legacy_idempotency_key;
    use crate::worker::fixtures;

    /// `close` ends a row only when its request is gone from its address (closed, or a later
    /// request there), never while it is there in any status, nor once a payment is recorded,
    /// nor (unless forced) while a settle transaction that may have landed is stored.
    #[test]
    fn close_ends_only_a_row_whose_request_is_gone() {
        let stored = fixtures::request(7, RequestStatus::Pending);
        let row = fixtures::row_of(&stored);
        assert_eq!(close_refusal(&row, None, false), None, "account closed");
        let later = ExchangeRequest {
            created_at: stored.created_at + 60,
            ..stored.clone()
        };
        assert_eq!(
            close_refusal(&row, Some(&later), false),
            None,
            "a later request"
        );
        for status in [
            RequestStatus::Pending,
            RequestStatus::Locked,
            RequestStatus::Settled,
            RequestStatus::Cancelled,
            RequestStatus::Rejected,
        ] {
            let there = ExchangeRequest {
                status,
                ..stored.clone()
            };
            let refusal = close_refusal(&row, Some(&there), true).unwrap_or_default();
            assert!(refusal.contains("still on chain"), "{status:?}: {refusal}");
        }
        let paid = StoredRequest {
            payment_id: Some("pay-1".into()),
            ..row.clone()
        };
        let refusal = close_refusal(&paid, None, true).unwrap_or_default();
        assert!(refusal.contains("records payment pay-1"), "{refusal}");
        let settle_stored = StoredRequest {
            settle_signature: Some("SettleSig".into()),
            ..row.clone()
        };
        let refusal = close_refusal(&settle_stored, None, false).unwrap_or_default();
        assert!(refusal.contains("SettleSig"), "{refusal}");
        assert_eq!(
            close_refusal(&settle_stored, None, true),
            None,
            "forced past a stored settle transaction a person looked up"
        );
    }

    /// Settings that pay through `payout` (a `[payout]` table's body).
    fn settings_paying(payout: &str) -> Settings {
        let text = format!(
            "rpc_url = \"http://127.0.0.1:8899\"\npools = [\"{}\"]\n\
             settlement_keypair = \"bridge.json\"\ndatabase_url = \"sqlite://bridge.db\"\n\
             [payout]\n{payout}",
            Pubkey::new_unique()
        );
        Settings::resolve(toml::from_str(&text).unwrap()).unwrap()
    }

    /// After provider calls, a payment the provider's ledger reports refuses ending the request
    /// without one, forced or not; `--force` passes only an answer that cannot say (a provider
    /// out of reach, or none configured to ask).
    #[tokio::test]
    async fn force_never_passes_a_payment_the_provider_reports() {
        use crate::test_support::provider::TestProvider;
        let provider = TestProvider::start().await.unwrap();
        let paying = settings_paying(&format!("kind = \"http\"\nurl = \"{}\"\n", provider.url));
        let never_called = fixtures::stored_row();
        ensure_never_paid(&paying, &never_called, false, "closes")
            .await
            .expect("no provider call: nothing to ask");
        assert!(provider.lookups().is_empty(), "not asked without calls");
        let row = StoredRequest {
            payout_attempts: 1,
            ..fixtures::stored_row()
        };
        ensure_never_paid(&paying, &row, false, "closes")
            .await
            .expect("nothing at the provider");
        provider.plant_payment(&row.payout_key(), 5);
        for force in [false, true] {
            let error = ensure_never_paid(&paying, &row, force, "closes")
                .await
                .expect_err("a payment the provider reports");
            assert!(
                format!("{error:#}").contains("the provider paid"),
                "{error:#}"
            );
        }
        // A payment under the address-only key (bridges before migration 0007) may be this
        // request's or an earlier one's at the address: refused unless a person forces it.
        let earlier = StoredRequest {
            payout_attempts: 1,
            ..fixtures::stored_row()
        };
        provider.plant_payment(&legacy_idempotency_key(&earlier.address), 5);
        let error = ensure_never_paid(&paying, &earlier, false, "closes")
            .await
            .expect_err("a payment under the address alone");
        assert!(
            format!("{error:#}").contains("under the address-only key"),
            "{error:#}"
        );
        ensure_never_paid(&paying, &earlier, true, "closes")
            .await
            .expect("forced by a person who found it was an earlier request's");
        assert!(
            provider
                .lookups()
                .contains(&legacy_idempotency_key(&earlier.address)),
            "asked under the address alone"
        );
        // Port 1: only root could listen there, and nothing here does.
        let out_of_reach = settings_paying("kind = \"http\"\nurl = \"http://127.0.0.1:1\"\n");
        let error = ensure_never_paid(&out_of_reach, &row, false, "rejects")
            .await
            .expect_err("the provider cannot say");
        assert!(
            format!("{error:#}").contains("--force rejects anyway"),
            "{error:#}"
        );
        ensure_never_paid(&out_of_reach, &row, true, "rejects")
            .await
            .expect("forced past an answer that cannot say");
        let on_chain = settings_paying("kind = \"onchain\"\n");
        let error = ensure_never_paid(&on_chain, &row, false, "closes")
            .await
            .expect_err("no provider to ask");
        assert!(
            format!("{error:#}").contains("names no HTTP provider"),
            "{error:#}"
        );
        ensure_never_paid(&on_chain, &row, true, "closes")
            .await
            .expect("forced without a provider to ask");
    }

    /// An action names the request it means once the address has held earlier ones, and is
    /// refused when it names another than the row stores.
    #[test]
    fn an_action_names_its_request_once_the_address_was_taken_again() {
        let stored = fixtures::request(7, RequestStatus::Pending);
        let row = fixtures::row_of(&stored);
        let made = row.created_at;
        assert_eq!(another_request_named(&row, None, &[]), None);
        assert_eq!(another_request_named(&row, Some(made), &[]), None);
        let other = another_request_named(&row, Some(made - 5), &[]).unwrap_or_default();
        assert!(
            other.contains("not the one named") || other.contains("another request"),
            "{other}"
        );
        let earlier = StoredRequest {
            created_at: made - 5,
            ..row.clone()
        };
        let unnamed =
            another_request_named(&row, None, std::slice::from_ref(&earlier)).unwrap_or_default();
        assert!(
            unnamed.contains(&format!("--created-at {made}"))
                && unnamed.contains(&(made - 5).to_string()),
            "{unnamed}"
        );
        assert_eq!(another_request_named(&row, Some(made), &[earlier]), None);
    }

    /// Closing a row whose address holds a later open request says the bridge takes it up, and
    /// for a locked one who locked it and when its user can cancel; a final one needs no note.
    #[test]
    fn a_later_open_request_is_named_when_its_row_closes() {
        let mut later = fixtures::request(7, RequestStatus::Locked);
        later.locked_by = Pubkey::new_unique();
        later.locked_at = 1_000;
        let note = later_request_note(&later).unwrap_or_default();
        assert!(
            note.contains(&later.locked_by.to_string())
                && note.contains("unix time 87400")
                && note.contains("takes it up"),
            "{note}"
        );
        later.status = RequestStatus::Pending;
        let note = later_request_note(&later).unwrap_or_default();
        assert!(
            note.contains("takes it up") && !note.contains("can cancel"),
            "{note}"
        );
        later.status = RequestStatus::Cancelled;
        assert_eq!(later_request_note(&later), None);
    }
}
