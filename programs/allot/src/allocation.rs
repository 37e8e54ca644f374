//! What `allocate`, `allocate_sharded` and `exchange_request` share about the user's record:
//! loading it (created when missing) and, for the allocations, recording the allocation in it (at
//! most once a period).

use anchor_lang::prelude::*;

use crate::constants::SEED_ALLOCATION;
use crate::pda_account::{load_or_create, store};
use crate::state::{AllocationRecord, EvidenceKind};

/// The user's allocation record and what creating it needs.
pub struct RecordAccounts<'a, 'info> {
    /// The record PDA `[SEED_ALLOCATION, pool, user]` (address already checked by the seeds).
    pub record: &'a AccountInfo<'info>,
    /// The pool and the user, the record's seeds.
    pub pool: &'a Pubkey,
    /// The user.
    pub user: &'a Pubkey,
    /// The record's canonical bump.
    pub bump: u8,
    /// Pays the record's rent when it is new.
    pub payer: &'a AccountInfo<'info>,
    /// The system program.
    pub system_program: &'a AccountInfo<'info>,
}

impl RecordAccounts<'_, '_> {
    /// Loads (or creates) the record, records an allocation of `amount` in `period` on
    /// `evidence` (refused if the user already had one in that period) and stores it; returns
    /// the updated record and the units of it that repaid the user's debt (which the user does
    /// not receive).
    pub fn record_allocation(
        &self,
        period: u64,
        amount: u64,
        now: i64,
        evidence: EvidenceKind,
    ) -> Result<(AllocationRecord, u64)> {
        let mut record = self.load_or_create()?;
        let repaid = record.record_allocation(period, amount, now)?;
        record.evidence = evidence;
        store(self.record, &record)?;
        Ok((record, repaid))
    }

    /// Loads the record, creating it empty (named after its pool, user and `payer`, who pays its
    /// rent) when the address holds none. The caller stores it back.
    pub fn load_or_create(&self) -> Result<AllocationRecord> {
        let bump_seed = [self.bump];
        let seeds: &[&[u8]] = &[
            SEED_ALLOCATION,
            self.pool.as_ref(),
            self.user.as_ref(),
            &bump_seed,
        ];
        let mut record: AllocationRecord = load_or_create(
            self.record,
            self.payer,
            self.system_program,
            8 + AllocationRecord::INIT_SPACE,
            &[seeds],
        )?;
        record.name_if_new(self.bump, *self.pool, *self.user, self.payer.key());
        Ok(record)
    }
}
