//! Account states in words and JSON: the pool's figures and a user's status.

use allot::constants::RATE_SCALE;
use allot::state::{AllocationRecord, Credential, ExchangeRequest, Pool};
use anchor_lang::prelude::Pubkey;
use serde_json::json;

use allot_client::token::TokenName;

use crate::outcome::Outcome;

/// A rate (`RATE_SCALE` fixed point) as a decimal, in minor units per base unit.
pub fn rate(rate: u64) -> String {
    let fraction = format!("{:09}", rate % RATE_SCALE);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{}", rate / RATE_SCALE)
    } else {
        format!("{}.{fraction}", rate / RATE_SCALE)
    }
}

/// The pool's figures.
/// `transfers_paused`: whether its units may move, as its mint says (`None`: not pausable).
pub fn pool(
    address: &Pubkey,
    pool: &Pool,
    vault: u64,
    token: Option<&TokenName>,
    transfers_paused: Option<bool>,
) -> Outcome {
    let t = &pool.totals;
    let x = &pool.exchange_state;
    let currency = String::from_utf8_lossy(&pool.exchange.currency).to_string();
    Outcome::new(json!({
        "pool": address.to_string(),
        "operator": pool.operator.to_string(),
        "kind": format!("{:?}", pool.kind),
        "mint": pool.mint.to_string(),
        "token": token,
        "transferable": pool.transferable,
        "paused": pool.paused,
        "retired_at": pool.is_retired().then_some(pool.retired_at),
        "pausable": transfers_paused.is_some(),
        "transfers_paused": transfers_paused.unwrap_or(false),
        "period_seconds": pool.period_seconds,
        "rule": {
            "indicator": pool.rule.indicator,
            "comparison": format!("{:?}", pool.rule.comparison),
            "threshold": pool.rule.threshold,
            "amount": pool.rule.amount,
            "credential_max_age": pool.rule.credential_max_age,
        },
        "totals": {
            "minted": t.minted, "burned": t.burned, "allocated": t.allocated,
            "clawed_back": t.clawed_back, "outstanding": t.outstanding, "allocations": t.allocations,
            "staged": t.staged, "held_by_users": pool.held_by_users(),
        },
        "shards": pool.shard_count,
        "vault": vault,
        "active_verifiers": pool.active_verifiers,
        "exchange": {
            "open": pool.exchange.open,
            "currency": currency,
            "rate": x.rate,
            "requests_opened": x.requests_opened,
            "escrowed": x.escrowed,
            "settled": x.settled,
            "funds_settled": x.funds_settled,
        },
    }))
    .line(format!("pool {address} ({:?}, {})", pool.kind, if pool.transferable { "transferable" } else { "non-transferable" }))
    .line(format!(
        "  operator {}{}{}",
        pool.operator,
        if pool.paused { " — PAUSED" } else { "" },
        if pool.is_retired() { " — RETIRED (no allocation or clawback; `allot crank --close` returns records' rent)" } else { "" }
    ))
    .line(match transfers_paused {
        Some(true) => "  units: TRANSFERS PAUSED (nothing moves until `operator resume-transfers`)".to_owned(),
        Some(false) => "  units: moving (pausable)".to_owned(),
        None => "  units: moving (not pausable)".to_owned(),
    })
    .line(match token {
        Some(token) if token.uri.is_empty() => format!("  token {} ({}), mint {}", token.name, token.symbol, pool.mint),
        Some(token) => format!("  token {} ({}) {}, mint {}", token.name, token.symbol, token.uri, pool.mint),
        None => format!("  token unnamed (no [token] in the pool file yet), mint {}", pool.mint),
    })
    .line(format!(
        "  rule: indicator {} {:?} {} gives {} units per period of {} s (credentials at most {} s old)",
        pool.rule.indicator, pool.rule.comparison, pool.rule.threshold, pool.rule.amount, pool.period_seconds, pool.rule.credential_max_age
    ))
    .line(format!(
        "  totals: minted {} burned {} allocated {} ({} allocations) clawed back {} outstanding {}; vault {vault}",
        t.minted, t.burned, t.allocated, t.allocations, t.clawed_back, t.outstanding
    ))
    .line(format!(
        "  allocation shards: {} holding {} staged units (sharded allocations count in the totals once swept)",
        pool.shard_count, t.staged
    ))
    .line(format!("  verifiers active: {}", pool.active_verifiers))
    .line(format!(
        "  exchange {}: rate {} {currency} minor units per unit; {} requested ever, {} escrowed, {} settled for {} {currency} minor units",
        if pool.exchange.open { "open" } else { "closed" },
        rate(x.rate), x.requests_opened, x.escrowed, x.settled, x.funds_settled
    ))
}

/// A user's status in a pool.
pub fn user(
    user: &Pubkey,
    holding: u64,
    credential: Option<&Credential>,
    record: Option<&AllocationRecord>,
    requests: &[(Pubkey, ExchangeRequest)],
) -> Outcome {
    let mut outcome = Outcome::new(json!({
        "user": user.to_string(),
        "holding": holding,
        "credential": credential.map(|c| json!({
            "period": c.period, "indicators": c.indicators, "issued_at": c.issued_at,
            "expires_at": c.expires_at, "revoked": c.revoked, "verifier": c.verifier.to_string(),
        })),
        "allocation": record.map(|r| json!({
            "allocations": r.allocations, "last_period": r.last_period, "allocated": r.allocated,
            "clawed_back": r.clawed_back, "exchanged": r.exchanged,
        })),
        "requests": requests.iter().map(|(address, r)| json!({
            "address": address.to_string(), "id": r.id, "amount": r.amount, "quoted": r.quoted,
            "status": format!("{:?}", r.status),
        })).collect::<Vec<_>>(),
    }))
    .line(format!("user {user}: holds {holding} units"));
    outcome = match credential {
        Some(c) => outcome.line(format!(
            "  credential: period {} indicators {:?}{} (expires at {})",
            c.period,
            c.indicators,
            if c.revoked { " REVOKED" } else { "" },
            c.expires_at
        )),
        None => outcome.line("  credential: none"),
    };
    outcome = match record {
        Some(r) => outcome.line(format!(
            "  allocations: {} (last in period {}), allocated {} clawed back {} exchanged {}",
            r.allocations, r.last_period, r.allocated, r.clawed_back, r.exchanged
        )),
        None => outcome.line("  allocations: none"),
    };
    for (_, r) in requests {
        outcome = outcome.line(format!(
            "  request {}: {} units for {} minor units, {:?}",
            r.id, r.amount, r.quoted, r.status
        ));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_print_as_exact_decimals() {
        assert_eq!(rate(2_500_000_000), "2.5");
        assert_eq!(rate(3 * RATE_SCALE), "3");
        assert_eq!(rate(1), "0.000000001");
    }
}
