//! Reconciliation: the provider's ledger, the bridge's store and the chain, compared. Each
//! payment the provider made must end in a settlement on chain that names it (the settle's
//! payout reference is the SHA-256 of the payment id), for the request's quote; each settlement
//! the bridge recorded must be a payment the provider made. What disagrees is reported
//! (`allot-bridge reconcile`, and the `allot_bridge_reconcile_findings` metric of each pass) for
//! a person to resolve.

use std::collections::{HashMap, HashSet};

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::accounts;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::http_provider::{HttpProvider, LedgerEntry, request_of_key};
use crate::settle::payout_reference;
use crate::state::RequestState;
use crate::store::{Store, StoredRequest};

/// What kind of disagreement was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The provider paid, and neither the chain nor the bridge's settlement under way says so.
    PaidNotSettled,
    /// The bridge recorded a settlement for a payment the provider's ledger does not have.
    SettledNotPaid,
    /// The provider paid an amount other than the request's quote.
    AmountMismatch,
}

impl FindingKind {
    /// Every kind, for the metric's labels.
    pub const ALL: [FindingKind; 3] = [
        FindingKind::PaidNotSettled,
        FindingKind::SettledNotPaid,
        FindingKind::AmountMismatch,
    ];

    /// Its name (metric label, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaidNotSettled => "paid_not_settled",
            Self::SettledNotPaid => "settled_not_paid",
            Self::AmountMismatch => "amount_mismatch",
        }
    }
}

/// One disagreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What disagrees.
    pub kind: FindingKind,
    /// The ExchangeRequest account.
    pub address: String,
    /// The numbers, for a person.
    pub detail: String,
}

/// What the chain says of the request at an address: which one it is, settled or not, and under
/// which payout reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainView {
    /// When the request at the address was made (on-chain unix seconds): a closed request's
    /// address may hold a later request, which says nothing of the earlier one's payment.
    pub created_at: i64,
    /// Settled on chain.
    pub settled: bool,
    /// The settle's payout reference (zeros until settled).
    pub payout_reference: [u8; 32],
}

/// Compares the provider's `ledger` (payouts since `since_ms`), the store's `rows` (those a later
/// request replaced among them) and the `chain`'s view of the ledger's requests. Payments a person
/// recorded (`review mark-paid`: `by_hand`, as (address, payment id)) were made outside the
/// provider and are not expected in its ledger. A request no longer on chain (closed once final,
/// its address empty or holding a later request) is judged by its row: the bridge records a
/// settlement only once the chain showed it.
pub fn compare(
    ledger: &[LedgerEntry],
    rows: &[StoredRequest],
    chain: &HashMap<String, ChainView>,
    since_ms: i64,
    by_hand: &HashSet<(String, String)>,
) -> Vec<Finding> {
    // A payment belongs to the row stored under its key: not to a later request at the address.
    let keys: Vec<String> = rows.iter().map(StoredRequest::payout_key).collect();
    let by_key: HashMap<&str, &StoredRequest> = keys.iter().map(String::as_str).zip(rows).collect();
    let mut findings = Vec::new();
    let mut paid_keys = Vec::new();
    for entry in ledger.iter().filter(|e| e.status == "paid") {
        let Some(address) = request_of_key(&entry.key) else {
            continue; // not a payout of this bridge
        };
        paid_keys.push((entry.key.as_str(), entry.payment_id.as_str()));
        let row = by_key.get(entry.key.as_str());
        if let Some(quote) = row.map(|r| r.quote.unwrap_or(r.quoted))
            && i64::try_from(entry.amount).ok() != Some(quote)
        {
            findings.push(Finding {
                kind: FindingKind::AmountMismatch,
                address: address.to_owned(),
                detail: format!(
                    "the provider paid {} (payment {}), the quote is {quote}",
                    entry.amount, entry.payment_id
                ),
            });
        }
        let reference = payout_reference(&entry.payment_id);
        // The chain's account counts only if it is the request the payment was for.
        let view = chain
            .get(address)
            .filter(|view| row.is_none_or(|r| r.created_at == view.created_at));
        let settled_with_it =
            view.is_some_and(|view| view.settled && view.payout_reference == reference);
        let settling_it = row.is_some_and(|r| {
            let with_it = r.payment_id.as_deref() == Some(entry.payment_id.as_str());
            match r.state() {
                Ok(RequestState::Paid | RequestState::SettleSent) => with_it,
                // Settled with it while the chain still held it, then closed.
                Ok(RequestState::Settled) => with_it && view.is_none(),
                _ => false,
            }
        });
        if !settled_with_it && !settling_it {
            findings.push(Finding {
                kind: FindingKind::PaidNotSettled,
                address: address.to_owned(),
                detail: format!(
                    "the provider paid {} (payment {}); the bridge has it {}, the chain {}",
                    entry.amount,
                    entry.payment_id,
                    row.map_or("unknown", |r| r.state_name.as_str()),
                    match (view, chain.get(address)) {
                        (Some(view), _) if view.settled => "settled under another reference",
                        (Some(_), _) => "not settled",
                        (None, Some(_)) => "holding a later request at the address",
                        (None, None) => "without the request",
                    }
                ),
            });
        }
    }
    for (row, key) in rows.iter().zip(&keys) {
        let (Ok(RequestState::Settled), Some(payment_id), Some(settled_at)) =
            (row.state(), &row.payment_id, row.settled_at_ms)
        else {
            continue;
        };
        if settled_at < since_ms {
            continue;
        }
        let known = paid_keys
            .iter()
            .any(|(paid_key, id)| *paid_key == key.as_str() && *id == payment_id);
        if !known && !by_hand.contains(&(row.address.clone(), payment_id.clone())) {
            findings.push(Finding {
                kind: FindingKind::SettledNotPaid,
                address: row.address.clone(),
                detail: format!(
                    "settled with payment {payment_id}, which the provider's ledger does not list as paid"
                ),
            });
        }
    }
    findings
}

/// The rows at the addresses (read first) and those later requests moved away (`earlier`, read
/// next), each request once: a row moved between the two reads is in both.
fn every_request(
    at_addresses: Vec<StoredRequest>,
    earlier: Vec<StoredRequest>,
) -> Vec<StoredRequest> {
    let mut seen = HashSet::new();
    at_addresses
        .into_iter()
        .chain(earlier)
        .filter(|row| seen.insert((row.address.clone(), row.created_at)))
        .collect()
}

/// Gathers the provider's ledger since `since_ms`, the store and the chain's view of the
/// ledger's requests, and compares them.
pub async fn run(
    provider: &HttpProvider,
    store: &Store,
    chain: &RpcChain,
    since_ms: i64,
) -> Result<Vec<Finding>> {
    let ledger = provider
        .ledger_since(since_ms)
        .await
        .map_err(anyhow::Error::msg)
        .context("reading the provider's ledger")?;
    // The rows at the addresses first, then those moved away by later requests.
    let at_addresses = store.requests().await?;
    let rows = every_request(at_addresses, store.earlier_requests().await?);
    let addresses: Vec<Pubkey> = ledger
        .iter()
        .filter_map(|e| request_of_key(&e.key))
        .filter_map(|address| address.parse().ok())
        .collect();
    let mut on_chain = Vec::with_capacity(addresses.len());
    for chunk in addresses.chunks(100) {
        // getMultipleAccounts answers at most 100 accounts.
        on_chain.extend(
            accounts::fetch_many::<ExchangeRequest>(chain, chunk)
                .await
                .context("reading the ledger's requests on chain")?,
        );
    }
    let chain_view: HashMap<String, ChainView> = addresses
        .iter()
        .zip(on_chain)
        .filter_map(|(address, request)| {
            request.map(|r| {
                (
                    address.to_string(),
                    ChainView {
                        created_at: r.created_at,
                        settled: r.status == RequestStatus::Settled,
                        payout_reference: r.payout_reference,
                    },
                )
            })
        })
        .collect();
    let by_hand = store.payments_recorded_by_hand().await?;
    Ok(compare(&ledger, &rows, &chain_view, since_ms, &by_hand))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_provider::idempotency_key;

    fn row(address: &str, state: RequestState, payment_id: Option<&str>) -> StoredRequest {
        StoredRequest {
            address: address.into(),
            pool: "Pool".into(),
            request_id: 0,
            user_key: "User".into(),
            amount: 10,
            rate: 1,
            quoted: 250,
            currency: "USD".into(),
            created_at: 0,
            discovered_signature: None,
            discovered_slot: 0,
            discovered_at_ms: 0,
            state_name: state.as_str().into(),
            quote: Some(250),
            payment_id: payment_id.map(Into::into),
            payout_attempts: 1,
            settle_tx: None,
            settle_signature: None,
            settle_last_valid_height: None,
            settled_at_ms: (state == RequestState::Settled).then_some(1_000),
            review_reason: None,
            claimed_by: None,
            next_attempt_ms: 0,
            settle_sent_ms: None,
            stored_payout_key: Some(idempotency_key(address, 0)),
        }
    }

    fn paid(address: &str, payment_id: &str, amount: u64) -> LedgerEntry {
        LedgerEntry {
            key: idempotency_key(address, 0),
            payment_id: payment_id.into(),
            status: "paid".into(),
            amount,
        }
    }

    fn settled_with(payment_id: &str) -> ChainView {
        ChainView {
            created_at: 0,
            settled: true,
            payout_reference: payout_reference(payment_id),
        }
    }

    #[test]
    fn matching_books_find_nothing() {
        let rows = [
            row("A", RequestState::Settled, Some("p1")),
            row("B", RequestState::SettleSent, Some("p2")),
        ];
        let ledger = [paid("A", "p1", 250), paid("B", "p2", 250)];
        let chain = HashMap::from([("A".to_owned(), settled_with("p1"))]);
        assert_eq!(compare(&ledger, &rows, &chain, 0, &HashSet::new()), vec![]);
    }

    #[test]
    fn each_disagreement_is_named() {
        let rows = [
            // Cancelled on chain before the bridge paid, then paid by hand at the provider.
            row("A", RequestState::Withdrawn, None),
            // Settled by the bridge, but the provider's ledger lost (or never made) the payment.
            row("B", RequestState::Settled, Some("p2")),
            // Paid more than quoted, and settled with that payment.
            row("C", RequestState::Settled, Some("p3")),
        ];
        let ledger = [paid("A", "p1", 250), paid("C", "p3", 300)];
        let chain = HashMap::from([
            (
                "A".to_owned(),
                ChainView {
                    created_at: 0,
                    settled: false,
                    payout_reference: [0; 32],
                },
            ),
            ("C".to_owned(), settled_with("p3")),
        ]);
        let found: Vec<_> = compare(&ledger, &rows, &chain, 0, &HashSet::new())
            .into_iter()
            .map(|f| (f.kind, f.address))
            .collect();
        assert_eq!(
            found,
            vec![
                (FindingKind::PaidNotSettled, "A".to_owned()),
                (FindingKind::AmountMismatch, "C".to_owned()),
                (FindingKind::SettledNotPaid, "B".to_owned()),
            ]
        );
        // A payment a person recorded by hand is not expected in the provider's ledger.
        let by_hand = HashSet::from([("B".to_owned(), "p2".to_owned())]);
        assert_eq!(
            compare(&[], &rows[1..2], &HashMap::new(), 0, &by_hand),
            vec![]
        );
        // Settlements older than the window are not judged against a ledger that stops there.
        let later: Vec<_> = compare(&[], &rows[1..2], &HashMap::new(), 5_000, &HashSet::new());
        assert_eq!(later, vec![]);
    }

    /// A row moved to `earlier_requests` between the two reads is counted once; a later request
    /// at its address is another.
    #[test]
    fn a_row_read_in_both_tables_is_one_request() {
        let earlier = row("A", RequestState::Settled, Some("p1"));
        let later = StoredRequest {
            created_at: 5,
            ..row("A", RequestState::Discovered, None)
        };
        let rows = every_request(vec![earlier.clone(), later], vec![earlier]);
        let kept: Vec<_> = rows
            .iter()
            .map(|r| (r.address.as_str(), r.created_at))
            .collect();
        assert_eq!(kept, [("A", 0), ("A", 5)]);
    }

    #[test]
    fn a_settled_request_closed_on_chain_is_judged_by_its_row() {
        // Settled with p1, then closed (anyone may close a final request): the chain no longer
        // holds it, and the bridge recorded the settlement when it did.
        let rows = [row("A", RequestState::Settled, Some("p1"))];
        let ledger = [paid("A", "p1", 250)];
        assert_eq!(
            compare(&ledger, &rows, &HashMap::new(), 0, &HashSet::new()),
            vec![]
        );
        // A row that never recorded the settlement is still reported.
        let paid_only = [row("A", RequestState::Withdrawn, None)];
        let found = compare(&ledger, &paid_only, &HashMap::new(), 0, &HashSet::new());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].detail.contains("the chain without the request"),
            "{found:?}"
        );
    }

    #[test]
    fn a_payment_belongs_to_the_request_instance_of_its_key() {
        // The address's earlier request was paid 300 (and closed); a later request at the same
        // address, quoted 250, was paid and settled under its own key.
        let later = StoredRequest {
            stored_payout_key: Some(idempotency_key("A", 5)),
            created_at: 5,
            ..row("A", RequestState::Settled, Some("p2"))
        };
        let ledger = [
            LedgerEntry {
                key: idempotency_key("A", 0),
                ..paid("A", "p1", 300)
            },
            LedgerEntry {
                key: idempotency_key("A", 5),
                ..paid("A", "p2", 250)
            },
        ];
        let chain = HashMap::from([(
            "A".to_owned(),
            ChainView {
                created_at: 5,
                ..settled_with("p2")
            },
        )]);
        let found = compare(
            &ledger,
            std::slice::from_ref(&later),
            &chain,
            0,
            &HashSet::new(),
        );
        // The earlier payment is unsettled as far as the chain shows, and is not measured
        // against the later request's quote; the later settlement is the provider's payment.
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::PaidNotSettled);
        assert!(found[0].detail.contains("payment p1"), "{found:?}");
        assert!(
            found[0].detail.contains("the bridge has it unknown"),
            "{found:?}"
        );
        // With the earlier request's row (kept in earlier_requests once the later one took the
        // address), settled with p1 while it was on chain: nothing disagrees.
        let earlier = StoredRequest {
            quoted: 300,
            quote: Some(300),
            ..row("A", RequestState::Settled, Some("p1"))
        };
        assert_eq!(
            compare(
                &ledger,
                &[earlier.clone(), later],
                &chain,
                0,
                &HashSet::new()
            ),
            vec![]
        );
        // Its row says it was settled with another payment: p1 is still unsettled, and p9 is
        // not in the ledger.
        let settled_otherwise = StoredRequest {
            payment_id: Some("p9".into()),
            ..earlier
        };
        let found = compare(
            &ledger[..1],
            &[settled_otherwise],
            &chain,
            0,
            &HashSet::new(),
        );
        let kinds: Vec<_> = found.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FindingKind::PaidNotSettled, FindingKind::SettledNotPaid],
            "{found:?}"
        );
        assert!(
            found[0]
                .detail
                .contains("the chain holding a later request at the address"),
            "{found:?}"
        );
        // A row stored without a key (before migration 0007) is matched by its address-only key.
        let legacy = StoredRequest {
            stored_payout_key: None,
            ..row("B", RequestState::Settled, Some("p3"))
        };
        let legacy_paid = LedgerEntry {
            key: "allot-payout-B".into(),
            ..paid("B", "p3", 250)
        };
        let chain = HashMap::from([("B".to_owned(), settled_with("p3"))]);
        assert_eq!(
            compare(&[legacy_paid], &[legacy], &chain, 0, &HashSet::new()),
            vec![]
        );
    }
}
