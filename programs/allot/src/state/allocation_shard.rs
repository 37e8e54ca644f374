//! An allocation shard: a slice of a transferable pool's units that allocations can draw on
//! without writing the pool account.
//!
//! Every `allocate` writes the pool's running totals, so a cluster runs one pool's allocations
//! one after another. `allocate_sharded` reads the pool and writes only a shard (and the shard's
//! vault): allocations on different shards can land in parallel. The pool's totals learn of them
//! when anyone sends `shard_sweep`; until then the pool counts the units as *staged*
//! (out of its vault, in a shard), so its accounting invariant holds at every moment.

use anchor_lang::prelude::*;

use crate::constants::SEED_SHARD;
use crate::error::AllotError;

/// A shard of a pool. PDA: `[SEED_SHARD, pool, index (u16 LE)]`; its vault is a Token-2022
/// account of the pool mint at `[SEED_SHARD_VAULT, pool, index]`, owned by the shard (which signs
/// transfers out of it).
#[account]
#[derive(InitSpace, Debug)]
pub struct AllocationShard {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool this shard belongs to.
    pub pool: Pubkey,
    /// Index of the shard in its pool (shards are numbered 0, 1, … in creation order).
    pub index: u16,
    /// The shard's vault: a token account PDA of the pool mint, owned by the shard.
    pub vault: Pubkey,
    /// Units ever moved into the shard's vault from the pool's vault.
    pub funded: u64,
    /// Units ever moved back from the shard's vault to the pool's vault.
    pub drained: u64,
    /// Units ever allocated from this shard.
    pub allocated: u64,
    /// Allocations ever made from this shard.
    pub allocations: u64,
    /// Of `allocated`, the units already folded into the pool's totals by `shard_sweep`.
    pub swept_units: u64,
    /// Of `allocations`, the allocations already folded into the pool's totals.
    pub swept_allocations: u64,
}

impl AllocationShard {
    /// A new, empty shard number `index` of `pool`, with its PDA bump and vault.
    pub fn new(bump: u8, pool: Pubkey, index: u16, vault: Pubkey) -> Self {
        Self {
            bump,
            pool,
            index,
            vault,
            funded: 0,
            drained: 0,
            allocated: 0,
            allocations: 0,
            swept_units: 0,
            swept_allocations: 0,
        }
    }

    /// The seeds of shard `index` of `pool` (without the bump).
    pub fn seeds<'a>(pool: &'a Pubkey, index: &'a [u8; 2]) -> [&'a [u8]; 3] {
        [SEED_SHARD, pool.as_ref(), index]
    }

    /// Runs `f` with this shard's PDA signer seeds.
    pub fn with_signer<R>(&self, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let index = self.index.to_le_bytes();
        let bump = [self.bump];
        let [seed, pool, index] = Self::seeds(&self.pool, &index);
        let seeds: &[&[u8]] = &[seed, pool, index, &bump];
        f(&[seeds])
    }

    /// Records units moved in from the pool's vault.
    pub fn record_funding(&mut self, amount: u64) -> Result<()> {
        self.funded = self
            .funded
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        Ok(())
    }

    /// Records units moved back to the pool's vault.
    pub fn record_drain(&mut self, amount: u64) -> Result<()> {
        self.drained = self
            .drained
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        Ok(())
    }

    /// Records one allocation of `amount` from this shard. Changes nothing on error.
    pub fn record_allocation(&mut self, amount: u64) -> Result<()> {
        let (Some(allocated), Some(allocations)) = (
            self.allocated.checked_add(amount),
            self.allocations.checked_add(1),
        ) else {
            return err!(AllotError::MathOverflow);
        };
        self.allocated = allocated;
        self.allocations = allocations;
        Ok(())
    }

    /// Marks every allocation so far as folded into the pool; returns the units and the
    /// allocations not folded before (what the pool's totals must add).
    pub fn sweep(&mut self) -> Result<(u64, u64)> {
        let (Some(units), Some(allocations)) = (
            self.allocated.checked_sub(self.swept_units),
            self.allocations.checked_sub(self.swept_allocations),
        ) else {
            return err!(AllotError::InvariantViolated);
        };
        self.swept_units = self.allocated;
        self.swept_allocations = self.allocations;
        Ok((units, allocations))
    }

    /// Units the shard's vault must hold by its own records: funded, less drained, less
    /// allocated. (Tokens sent to the vault by others only add to its balance.)
    pub fn expected_balance(&self) -> Result<u64> {
        self.funded
            .checked_sub(self.drained)
            .and_then(|v| v.checked_sub(self.allocated))
            .ok_or_else(|| error!(AllotError::InvariantViolated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard() -> AllocationShard {
        AllocationShard::new(255, Pubkey::new_unique(), 3, Pubkey::new_unique())
    }

    #[test]
    fn a_sweep_folds_each_allocation_once() {
        let mut s = shard();
        s.record_funding(100).unwrap();
        s.record_allocation(10).unwrap();
        s.record_allocation(10).unwrap();
        assert_eq!(s.sweep().unwrap(), (20, 2));
        assert_eq!(s.sweep().unwrap(), (0, 0));
        s.record_allocation(10).unwrap();
        assert_eq!(s.sweep().unwrap(), (10, 1));
        assert_eq!(s.expected_balance().unwrap(), 70);
    }

    #[test]
    fn a_failed_allocation_changes_nothing() {
        let mut s = shard();
        s.allocated = u64::MAX;
        assert!(s.record_allocation(1).is_err());
        assert_eq!((s.allocated, s.allocations), (u64::MAX, 0));
    }

    #[test]
    fn the_expected_balance_never_goes_negative_silently() {
        let mut s = shard();
        s.record_funding(10).unwrap();
        s.record_drain(5).unwrap();
        s.record_allocation(6).unwrap();
        assert!(s.expected_balance().is_err());
    }
}
