//! What `allocate` and `allocate_sharded` share besides their evidence (`evidence.rs`): recording
//! the allocation in the user's record (at most once a period).

use anchor_lang::prelude::*;

use crate::constants::SEED_ALLOCATION;
use crate::pda_account::{load_or_create, store};
use crate::state::AllocationRecord;

/// The user's allocation record and what creating it needs.
pub struct RecordAccounts<'a, 'info> {
    /// The record PDA `[SEED_ALLOCATION, pool, user]` (address already checked by the seeds).
    pub record: &'a AccountInfo<'info>,
    /// Pays the record's rent when it is new.
    pub payer: &'a AccountInfo<'info>,
    /// The system program.
    pub system_program: &'a AccountInfo<'info>,
}

impl RecordAccounts<'_, '_> {
    /// Loads (or creates) the record, records an allocation of `amount` in `period` (refused if
    /// the user already had one in that period) and stores it; returns the updated record.
    pub fn record_allocation(
        &self,
        pool: &Pubkey,
        user: &Pubkey,
        bump: u8,
        period: u64,
        amount: u64,
        now: i64,
    ) -> Result<AllocationRecord> {
        let bump_seed = [bump];
        let seeds: &[&[u8]] = &[SEED_ALLOCATION, pool.as_ref(), user.as_ref(), &bump_seed];
        let mut record: AllocationRecord = load_or_create(
            self.record,
            self.payer,
            self.system_program,
            8 + AllocationRecord::INIT_SPACE,
            &[seeds],
        )?;
        record.bump = bump;
        record.record_allocation(period, amount, now)?;
        store(self.record, &record)?;
        Ok(record)
    }
}
