//! Compute budget: the one place that builds a transaction's compute-unit limit and priority fee
//! (the CLI's sender, the web server's Actions and the bridge's lock and settle transactions use
//! it), so transactions land the same way on a busy cluster. A transaction without a unit price
//! competes at the base fee only; one without a limit reserves 200,000 units per instruction,
//! which a block's scheduler counts against it.
//!
//! The CLI and the web server take the limit from simulation: the units the transaction
//! consumed, plus a margin ([`limit_with_margin`]), because the accounts it touches may change
//! between the simulation and the block that runs it. The bridge reserves fixed limits (see
//! `allot_bridge::settle`).

use anchor_lang::prelude::Pubkey;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::SerializableTransaction;
use solana_rpc_client_api::config::RpcSimulateTransactionConfig;
use solana_sdk::instruction::Instruction;

/// The most compute units a transaction may ask for.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// The margin added to simulated units, in percent of them.
pub const SIMULATION_MARGIN_PERCENT: u64 = 20;

/// The least margin added to simulated units (a transaction that consumed little may still take
/// another branch when it runs).
pub const SIMULATION_MARGIN_MIN_UNITS: u64 = 5_000;

/// The default cap of a priority fee taken from recent fees, micro-lamports per compute unit.
pub const DEFAULT_MAX_UNIT_PRICE_MICRO_LAMPORTS: u64 = 1_000_000;

/// Micro-lamports in a lamport (a unit price is in micro-lamports per compute unit).
pub const MICRO_LAMPORTS_PER_LAMPORT: u64 = 1_000_000;

/// How a transaction pays for its place in a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComputeBudget {
    /// Compute-unit limit (`None`: the runtime's default per instruction).
    pub unit_limit: Option<u32>,
    /// Priority fee, in micro-lamports per compute unit (`None` or 0: no priority fee).
    pub unit_price_micro_lamports: Option<u64>,
}

impl ComputeBudget {
    /// The budget a transaction paying `unit_price_micro_lamports` is simulated with: the most
    /// units (so the simulation is not cut short) and, when it pays a price, a price instruction
    /// of 1 micro-lamport: the same instructions and units, without the node's fee check asking
    /// the payer for the priority fee of 1,400,000 units.
    pub fn for_simulation(unit_price_micro_lamports: Option<u64>) -> Self {
        Self {
            unit_limit: Some(MAX_COMPUTE_UNITS),
            unit_price_micro_lamports: unit_price_micro_lamports.filter(|p| *p > 0).map(|_| 1),
        }
    }

    /// The budget of a transaction that consumed `units_consumed` when simulated (`None`: it could
    /// not be simulated): the limit [`limit_with_margin`] of them, else `unmeasured_units`, at
    /// `unit_price_micro_lamports`.
    pub fn measured(
        units_consumed: Option<u64>,
        unmeasured_units: u32,
        unit_price_micro_lamports: Option<u64>,
    ) -> Self {
        Self {
            unit_limit: Some(units_consumed.map_or(unmeasured_units, limit_with_margin)),
            unit_price_micro_lamports,
        }
    }

    /// The compute-budget instructions to put first in a transaction.
    pub fn instructions(&self) -> Vec<Instruction> {
        let mut budget = Vec::with_capacity(2);
        if let Some(units) = self.unit_limit {
            budget.push(ComputeBudgetInstruction::set_compute_unit_limit(
                units.min(MAX_COMPUTE_UNITS),
            ));
        }
        if let Some(price) = self.unit_price_micro_lamports.filter(|p| *p > 0) {
            budget.push(ComputeBudgetInstruction::set_compute_unit_price(price));
        }
        budget
    }

    /// `instructions` preceded by this budget.
    pub fn apply(&self, instructions: &[Instruction]) -> Vec<Instruction> {
        let mut all = self.instructions();
        all.extend_from_slice(instructions);
        all
    }

    /// The priority fee this budget pays at most, in lamports: the unit price times the limit
    /// (rounded up, as the runtime does). Without a limit, `default_units` are assumed.
    pub fn priority_fee_lamports(&self, default_units: u32) -> u64 {
        let units = u128::from(
            self.unit_limit
                .unwrap_or(default_units)
                .min(MAX_COMPUTE_UNITS),
        );
        let price = u128::from(self.unit_price_micro_lamports.unwrap_or(0));
        let micro_lamports = units.saturating_mul(price);
        u64::try_from(micro_lamports.div_ceil(u128::from(MICRO_LAMPORTS_PER_LAMPORT)))
            .unwrap_or(u64::MAX)
    }
}

/// The compute-unit limit for a transaction that consumed `units_consumed` when simulated: the
/// units plus [`SIMULATION_MARGIN_PERCENT`] (at least [`SIMULATION_MARGIN_MIN_UNITS`]), at most
/// [`MAX_COMPUTE_UNITS`].
pub fn limit_with_margin(units_consumed: u64) -> u32 {
    let margin = (units_consumed.saturating_mul(SIMULATION_MARGIN_PERCENT) / 100)
        .max(SIMULATION_MARGIN_MIN_UNITS);
    let limit = units_consumed.saturating_add(margin);
    u32::try_from(limit).map_or(MAX_COMPUTE_UNITS, |units| units.min(MAX_COMPUTE_UNITS))
}

/// The units `transaction` consumes when the node simulates it (signatures not verified, the
/// blockhash replaced by the node's latest), or `None` when the simulation failed: sending it
/// is what reports why, so a failed simulation only means no measured limit.
pub async fn simulated_units(
    rpc: &RpcClient,
    transaction: &impl SerializableTransaction,
) -> Result<Option<u64>, solana_rpc_client_api::client_error::Error> {
    let simulation = rpc
        .simulate_transaction_with_config(
            transaction,
            RpcSimulateTransactionConfig {
                sig_verify: false,
                replace_recent_blockhash: true,
                commitment: Some(rpc.commitment()),
                ..RpcSimulateTransactionConfig::default()
            },
        )
        .await?
        .value;
    Ok(match simulation.err {
        Some(_) => None,
        None => simulation.units_consumed,
    })
}

/// How a transaction's priority fee is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeePolicy {
    /// This many micro-lamports per compute unit (0: none).
    Fixed(u64),
    /// This percentile of `getRecentPrioritizationFees` for the accounts the transaction writes
    /// (each recent slot's lowest fee that landed writing them), at most `max`.
    RecentPercentile {
        /// 0–100.
        percentile: u8,
        /// Cap, micro-lamports per compute unit.
        max: u64,
    },
}

impl Default for FeePolicy {
    /// The 75th percentile of recent fees, capped at
    /// [`DEFAULT_MAX_UNIT_PRICE_MICRO_LAMPORTS`].
    fn default() -> Self {
        FeePolicy::RecentPercentile {
            percentile: 75,
            max: DEFAULT_MAX_UNIT_PRICE_MICRO_LAMPORTS,
        }
    }
}

/// The unit price (micro-lamports per compute unit) `policy` asks for a transaction writing
/// `writable`. A failed fee lookup never blocks a transaction (some nodes refuse the method): it
/// is logged, and the transaction goes without a priority fee.
pub async fn unit_price(rpc: &RpcClient, writable: &[Pubkey], policy: FeePolicy) -> u64 {
    match policy {
        FeePolicy::Fixed(price) => price,
        FeePolicy::RecentPercentile { percentile, max } => {
            match recent_fee(rpc, writable, percentile).await {
                Ok(price) => price.min(max),
                Err(error) => {
                    tracing::warn!("getRecentPrioritizationFees failed, no priority fee: {error}");
                    0
                }
            }
        }
    }
}

/// The `percentile` (0–100) of recent priority fees (micro-lamports per unit), lowest first;
/// 0 when there are none.
pub fn percentile_fee(mut fees: Vec<u64>, percentile: u8) -> u64 {
    if fees.is_empty() {
        return 0;
    }
    fees.sort_unstable();
    let last = fees.len() - 1;
    let index = (last * usize::from(percentile.min(100))).div_ceil(100);
    fees[index.min(last)]
}

/// The `percentile` of `getRecentPrioritizationFees` for `writable`: for each recent slot, the
/// lowest fee that landed writing those accounts (so on a quiet account it is usually 0).
pub async fn recent_fee(
    rpc: &RpcClient,
    writable: &[Pubkey],
    percentile: u8,
) -> Result<u64, solana_rpc_client_api::client_error::Error> {
    let recent = rpc.get_recent_prioritization_fees(writable).await?;
    Ok(percentile_fee(
        recent.iter().map(|fee| fee.prioritization_fee).collect(),
        percentile,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_a_limit_and_a_price_first() {
        let budget = ComputeBudget {
            unit_limit: Some(150_000),
            unit_price_micro_lamports: Some(2_500),
        };
        let ix = Instruction::new_with_bytes(Pubkey::new_unique(), &[7], vec![]);
        let all = budget.apply(std::slice::from_ref(&ix));
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0],
            ComputeBudgetInstruction::set_compute_unit_limit(150_000)
        );
        assert_eq!(
            all[1],
            ComputeBudgetInstruction::set_compute_unit_price(2_500)
        );
        assert_eq!(all[2], ix);
        // No price, no price instruction.
        assert_eq!(ComputeBudget::default().instructions(), vec![]);
    }

    #[test]
    fn the_limit_is_the_simulated_units_with_a_margin() {
        // 20 % over what the simulation consumed …
        assert_eq!(limit_with_margin(100_000), 120_000);
        // … at least 5,000 units over it …
        assert_eq!(limit_with_margin(1_000), 6_000);
        assert_eq!(limit_with_margin(0), 5_000);
        // … and never above what a transaction may ask for.
        assert_eq!(limit_with_margin(1_300_000), MAX_COMPUTE_UNITS);
        assert_eq!(limit_with_margin(u64::MAX), MAX_COMPUTE_UNITS);
        // A measured budget uses the margin; an unmeasured one the given reservation.
        let measured = ComputeBudget::measured(Some(100_000), 200_000, Some(3));
        assert_eq!(measured.unit_limit, Some(120_000));
        assert_eq!(measured.unit_price_micro_lamports, Some(3));
        assert_eq!(
            ComputeBudget::measured(None, 200_000, None).unit_limit,
            Some(200_000)
        );
    }

    #[test]
    fn the_priority_fee_is_the_price_times_the_limit_in_lamports_rounded_up() {
        let budget = ComputeBudget {
            unit_limit: Some(150_000),
            unit_price_micro_lamports: Some(2_500),
        };
        // 150,000 units × 2,500 micro-lamports = 375,000,000 micro-lamports = 375 lamports.
        assert_eq!(budget.priority_fee_lamports(200_000), 375);
        // 3 units × 1 micro-lamport rounds up to one lamport.
        let tiny = ComputeBudget {
            unit_limit: Some(3),
            unit_price_micro_lamports: Some(1),
        };
        assert_eq!(tiny.priority_fee_lamports(200_000), 1);
        // Without a limit the default units count; without a price nothing is paid.
        let unlimited = ComputeBudget {
            unit_limit: None,
            unit_price_micro_lamports: Some(10),
        };
        assert_eq!(unlimited.priority_fee_lamports(200_000), 2);
        assert_eq!(ComputeBudget::default().priority_fee_lamports(200_000), 0);
        // The largest budget saturates instead of overflowing: 1.4 M units at u64::MAX
        // micro-lamports is more lamports than a u64 holds.
        let largest = ComputeBudget {
            unit_limit: Some(u32::MAX),
            unit_price_micro_lamports: Some(u64::MAX),
        };
        assert_eq!(largest.priority_fee_lamports(0), u64::MAX);
    }

    #[test]
    fn percentiles_pick_from_the_sorted_fees() {
        assert_eq!(percentile_fee(vec![], 75), 0);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 0), 1);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 50), 3);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 75), 4);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 100), 5);
    }
}
