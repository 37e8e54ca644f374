//! The decision of `allocate` and `allocate_sharded` on a credential, pure: may this user be
//! allocated now, and how many units. The handlers check the same rules in the same order (the
//! pool's pause, then `PresentedEvidence`, `AllocationRecord::record_allocation` and their
//! source's balance); the page's status asks this function, and the property test checks that
//! the program agrees with it.

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::state::{AllocationRecord, Credential, Pool};

/// Where an allocation's units come from, with the units it holds for allocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationSource {
    /// The pool's vault (`allocate`), holding this many base units. Ignored for a
    /// non-transferable pool, which mints under its supply cap instead.
    Vault(u64),
    /// An allocation shard (`allocate_sharded`), holding this many base units by its own books
    /// (`AllocationShard::expected_balance`).
    Shard(u64),
}

/// Whether the holder of `credential` (and of `record`, once allocated before) may be allocated
/// from `source` of `pool` at `now`, checked in the program's order (the first failing rule is the
/// refusal): pool not paused; the credential supports the rule for the period now; no
/// allocation yet in that period; the source holds the rule's amount (or, for a pool that
/// mints, the supply cap allows it). Returns the units the allocation moves.
pub fn check_can_allocate_on_credential(
    pool: &Pool,
    credential: &Credential,
    record: Option<&AllocationRecord>,
    source: AllocationSource,
    now: i64,
) -> Result<u64> {
    require!(!pool.paused, AllotError::PoolPaused);
    let period = pool.period_at(now)?;
    credential.check_supports_allocation(&pool.rule, period, now)?;
    if let Some(record) = record {
        record.check_can_allocate(period)?;
    }
    let amount = pool.rule.amount;
    match source {
        AllocationSource::Shard(held) => require!(held >= amount, AllotError::ShardInsufficient),
        AllocationSource::Vault(held) if pool.transferable => {
            require!(held >= amount, AllotError::VaultInsufficient)
        }
        AllocationSource::Vault(_) => {
            pool.minted_after(amount)?;
        }
    }
    Ok(amount)
}
