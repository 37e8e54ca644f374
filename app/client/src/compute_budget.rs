//! Compute budget: the one place that builds a transaction's compute-unit limit and priority
//! fee (the CLI's sender and the bridge's lock and settle transactions use it), so transactions
//! land the same way on a busy cluster. A transaction without a unit price competes at the base
//! fee only; one without a limit reserves 200,000 units per instruction.

use anchor_lang::prelude::Pubkey;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::instruction::Instruction;

/// The most compute units a transaction may ask for.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// How a transaction pays for its place in a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComputeBudget {
    /// Compute-unit limit (`None`: the runtime's default per instruction).
    pub unit_limit: Option<u32>,
    /// Priority fee, in micro-lamports per compute unit (`None` or 0: no priority fee).
    pub unit_price_micro_lamports: Option<u64>,
}

impl ComputeBudget {
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
    fn percentiles_pick_from_the_sorted_fees() {
        assert_eq!(percentile_fee(vec![], 75), 0);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 0), 1);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 50), 3);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 75), 4);
        assert_eq!(percentile_fee(vec![5, 1, 3, 2, 4], 100), 5);
    }
}
