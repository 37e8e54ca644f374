//! `allot-bridge status`: requests by state, and every request a person must look at.

use anyhow::Result;
use serde_json::json;

use crate::state::RequestState;
use crate::store::Store;

/// The status report: text lines, or one JSON document when `json`.
pub async fn report(store: &Store, json: bool) -> Result<String> {
    let counts = store.counts().await?;
    let requests = store.requests().await?;
    let open: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.state()
                .is_ok_and(|s| !s.is_final() || s == RequestState::ManualReview)
        })
        .collect();
    if json {
        let by_state: serde_json::Map<_, _> = counts
            .iter()
            .map(|(state, count)| (state.as_str().to_owned(), json!(count)))
            .collect();
        let listed: Vec<_> = open
            .iter()
            .map(|r| {
                json!({
                    "address": r.address, "pool": r.pool, "id": r.request_id, "user": r.user_key,
                    "state": r.state_name, "quote": r.quote, "currency": r.currency,
                    "payment_id": r.payment_id, "payout_attempts": r.payout_attempts,
                    "settle_signature": r.settle_signature, "review_reason": r.review_reason,
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(
            &json!({"by_state": by_state, "open": listed}),
        )?);
    }
    let mut lines = Vec::new();
    for (state, count) in &counts {
        lines.push(format!("{:<15} {count}", state.as_str()));
    }
    for r in open {
        let detail = match (&r.review_reason, &r.settle_signature) {
            (Some(reason), _) => format!("review: {reason}"),
            (None, Some(signature)) => format!("settle tx {signature}"),
            (None, None) => format!("{} attempts", r.payout_attempts),
        };
        lines.push(format!(
            "{} request {} of pool {} ({} {}): {} — {detail}",
            r.address,
            r.request_id,
            r.pool,
            r.quote.unwrap_or(r.quoted),
            r.currency,
            r.state_name
        ));
    }
    Ok(lines.join("\n"))
}
