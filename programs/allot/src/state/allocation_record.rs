//! The per-(pool, user) record that makes allocation at-most-once per period.

use anchor_lang::prelude::*;

use crate::error::AllotError;
use crate::state::EvidenceKind;

/// What one user received from one pool. PDA: `[SEED_ALLOCATION, pool, user]`.
/// Its rent is paid once per user and comes back to whoever paid it once the pool is retired
/// (`allocation_record_close`).
#[account]
#[derive(InitSpace, Debug)]
pub struct AllocationRecord {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool (a seed; stored so records can be listed by pool and closed without the user).
    pub pool: Pubkey,
    /// The user (a seed).
    pub user: Pubkey,
    /// Who paid the record's rent when it was created; gets it back when it is closed.
    pub rent_payer: Pubkey,
    /// Number of allocations received (0 until the first one).
    pub allocations: u16,
    /// The last period the user was allocated in (meaningful once `allocations > 0`).
    pub last_period: u64,
    /// When the last allocation happened (unix seconds).
    pub last_allocated_at: i64,
    /// Units ever allocated to the user.
    pub allocated: u64,
    /// Units ever clawed back from the user.
    pub clawed_back: u64,
    /// Units of the user's own allocation in its pending or settled exchange requests
    /// (cancelled and rejected ones are given back; units received from others, exchanged first,
    /// are not counted). They left the user's account, so clawback cannot take them again.
    pub exchanged: u64,
    /// The period `period_requested` counts (for the per-user exchange cap).
    pub exchange_period: u32,
    /// Units the user requested for exchange in `exchange_period`.
    pub period_requested: u64,
    /// The kind of evidence that supported the last allocation (meaningful once
    /// `allocations > 0`): a clawback on an attestation that is gone needs it to be an
    /// attestation.
    pub evidence: EvidenceKind,
    /// Units of the user's own allocation that the last clawback could not find in its account
    /// (moved elsewhere first): still owed to the pool. The user's next allocation and next
    /// exchange request repay them first, and a later clawback takes them from whatever the user
    /// holds then. Part of [`Self::clawable`], never more.
    pub debt: u64,
}

/// A record's exchange counters after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestedUnits {
    /// [`AllocationRecord::exchanged`] after it.
    pub exchanged: u64,
    /// [`AllocationRecord::exchange_period`] after it.
    pub exchange_period: u32,
    /// [`AllocationRecord::period_requested`] after it.
    pub period_requested: u64,
    /// How many of the request's units are the user's own allocation
    /// ([`AllocationRecord::own_units_in`]); the request keeps it, to give them back.
    pub own_units: u64,
}

// The per-user record stays small: its rent is paid once per user (and comes back at close).
const _: () = assert!(8 + AllocationRecord::INIT_SPACE <= 168);

impl AllocationRecord {
    /// What `exchange_request` finds at a record address that holds no record (a user who only
    /// received units, or whose record was closed): nothing allocated, nothing requested.
    /// Clients decide on it exactly as the program will.
    pub fn empty() -> Self {
        Self {
            bump: 0,
            pool: Pubkey::default(),
            user: Pubkey::default(),
            rent_payer: Pubkey::default(),
            allocations: 0,
            last_period: 0,
            last_allocated_at: 0,
            allocated: 0,
            clawed_back: 0,
            exchanged: 0,
            exchange_period: 0,
            period_requested: 0,
            evidence: EvidenceKind::Credential,
            debt: 0,
        }
    }

    /// Fills in a record just created at the PDA of `pool` and `user`, `rent_payer` paying.
    /// Leaves a record that already existed as it is.
    pub fn name_if_new(&mut self, bump: u8, pool: Pubkey, user: Pubkey, rent_payer: Pubkey) {
        if self.pool == Pubkey::default() {
            self.bump = bump;
            self.pool = pool;
            self.user = user;
            self.rent_payer = rent_payer;
        }
    }

    /// Refuses to close a record that still guards something on a retired pool: the per-user
    /// exchange cap of the current `period` (requests counted in it), the holding time of the
    /// last allocation (`min_holding_seconds`), or a debt in a pool that exchanges
    /// (`transferable`: the next request repays it; an empty record would forget it — a
    /// non-transferable pool has no exchange, so nothing could ever repay it there). A closed record reopens empty at the user's
    /// next request (`exchange_request`), which must find the same answers. Allocations and
    /// clawbacks, the rest of what a record guards, end with the pool's retirement.
    pub fn check_can_close(
        &self,
        period: u64,
        now: i64,
        min_holding_seconds: i64,
        transferable: bool,
    ) -> Result<()> {
        let counts_this_period =
            self.period_requested > 0 && u64::from(self.exchange_period) == period;
        let held_for = now.saturating_sub(self.last_allocated_at);
        require!(
            !counts_this_period
                && held_for >= min_holding_seconds
                && (self.debt == 0 || !transferable),
            AllotError::RecordStillInUse
        );
        Ok(())
    }

    /// Refuses a second allocation in the same period.
    pub fn check_can_allocate(&self, period: u64) -> Result<()> {
        require!(
            self.allocations == 0 || self.last_period != period,
            AllotError::AlreadyAllocatedThisPeriod
        );
        Ok(())
    }

    /// Records an allocation of `amount` in `period` at `now`, repaying the user's debt first
    /// ([`Self::debt`]): returns the units repaid, which stay with the pool (the user receives
    /// `amount` less them; they count as clawed back).
    pub fn record_allocation(&mut self, period: u64, amount: u64, now: i64) -> Result<u64> {
        self.check_can_allocate(period)?;
        self.allocations = self
            .allocations
            .checked_add(1)
            .ok_or(AllotError::MathOverflow)?;
        self.allocated = self
            .allocated
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        self.last_period = period;
        self.last_allocated_at = now;
        self.repay(amount)
    }

    /// Repays up to `units` of the debt (they count as clawed back); returns how many.
    fn repay(&mut self, units: u64) -> Result<u64> {
        let repaid = self.debt.min(units);
        self.debt = self.debt.saturating_sub(repaid);
        self.clawed_back = self
            .clawed_back
            .checked_add(repaid)
            .ok_or(AllotError::MathOverflow)?;
        Ok(repaid)
    }

    /// How much of a request of `amount` units repays the debt first, and how many units are
    /// left to exchange; refused (`ClawbackDebtOutstanding`) when nothing would be left.
    pub fn split_request(&self, amount: u64) -> Result<(u64, u64)> {
        let repaid = self.debt.min(amount);
        require!(amount > repaid, AllotError::ClawbackDebtOutstanding);
        Ok((repaid, amount.saturating_sub(repaid)))
    }

    /// Units allocated and neither clawed back nor sent to exchange: the most a clawback may
    /// recover.
    pub fn clawable(&self) -> u64 {
        self.allocated
            .saturating_sub(self.clawed_back)
            .saturating_sub(self.exchanged)
    }

    /// How many of `amount` units sent to exchange from a holding of `held` are the user's own
    /// allocation. Units received from others (`held − clawable` of them, when the user holds
    /// more than it could be clawed back) go first: exchanging them must not shield the user's
    /// own allocation from clawback. Never more than [`Self::clawable`].
    pub fn own_units_in(&self, amount: u64, held: u64) -> u64 {
        let clawable = self.clawable();
        let received = held.saturating_sub(clawable);
        amount.saturating_sub(received).min(clawable)
    }

    /// The record after a request of `amount` in `period` from a holding of `held` units, or
    /// why not: past the per-user cap `cap` (0: no cap; it counts every unit requested, own or
    /// received). Pure: [`Self::record_request`] stores it.
    pub fn after_request(
        &self,
        period: u64,
        amount: u64,
        held: u64,
        cap: u64,
    ) -> Result<RequestedUnits> {
        let period = u32::try_from(period).map_err(|_| error!(AllotError::MathOverflow))?;
        let already = if self.exchange_period == period {
            self.period_requested
        } else {
            0
        };
        let requested = already
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        require!(cap == 0 || requested <= cap, AllotError::UserCapExceeded);
        let own_units = self.own_units_in(amount, held);
        let exchanged = self
            .exchanged
            .checked_add(own_units)
            .ok_or(AllotError::MathOverflow)?;
        Ok(RequestedUnits {
            exchanged,
            own_units,
            exchange_period: period,
            period_requested: requested,
        })
    }

    /// Records a request of `amount` in `period` (see [`Self::after_request`]), the debt repaid
    /// first by `repaid` of the units held (see [`Self::split_request`]; `amount` and `held` are
    /// what is left after it). Returns how many of the units are the user's own.
    pub fn record_request(
        &mut self,
        period: u64,
        repaid: u64,
        amount: u64,
        held: u64,
        cap: u64,
    ) -> Result<u64> {
        require!(self.repay(repaid)? == repaid, AllotError::InvariantViolated);
        let after = self.after_request(period, amount, held, cap)?;
        self.exchanged = after.exchanged;
        self.exchange_period = after.exchange_period;
        self.period_requested = after.period_requested;
        Ok(after.own_units)
    }

    /// Gives back a cancelled or rejected request of `amount` units made in `period`, `own_units`
    /// of them the user's own allocation: those are claw-backable again, and the per-user cap
    /// gets all `amount` back while `period` is the one the record counts.
    pub fn record_request_returned(
        &mut self,
        amount: u64,
        own_units: u64,
        period: u64,
    ) -> Result<()> {
        self.exchanged = self
            .exchanged
            .checked_sub(own_units)
            .ok_or(AllotError::MathOverflow)?;
        if u64::from(self.exchange_period) == period {
            // A cap counter: never below zero, and never a reason to refuse a return.
            self.period_requested = self.period_requested.saturating_sub(amount);
        }
        Ok(())
    }

    /// Records `amount` clawed back, never more than [`Self::clawable`]. The evidence failed for
    /// every claw-backable unit, so what the clawback could not take is owed: the debt.
    pub fn record_clawback(&mut self, amount: u64) -> Result<()> {
        require!(amount <= self.clawable(), AllotError::NothingToClawBack);
        self.clawed_back = self
            .clawed_back
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        self.debt = self.clawable();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A record with no allocation yet.
    pub(crate) fn fresh() -> AllocationRecord {
        AllocationRecord {
            bump: 255,
            pool: Pubkey::new_unique(),
            user: Pubkey::new_unique(),
            rent_payer: Pubkey::new_unique(),
            ..AllocationRecord::empty()
        }
    }

    #[test]
    fn record_is_168_bytes_with_its_discriminator() {
        assert_eq!(8 + AllocationRecord::INIT_SPACE, 168);
    }

    #[test]
    fn a_clawback_short_of_units_leaves_a_debt_repaid_first_by_allocations_and_requests() {
        let mut r = fresh();
        r.record_allocation(0, 100, 10).unwrap();
        // 70 of the 100 moved away: the clawback takes 30, 70 are owed.
        r.record_clawback(30).unwrap();
        assert_eq!((r.clawed_back, r.debt, r.clawable()), (30, 70, 70));
        // A later clawback of 20 found again leaves 50 owed.
        r.record_clawback(20).unwrap();
        assert_eq!((r.clawed_back, r.debt), (50, 50));
        // The next allocation of 40 repays 40 (the user receives none of it).
        assert_eq!(r.record_allocation(1, 40, 20).unwrap(), 40);
        assert_eq!(
            (r.allocated, r.clawed_back, r.debt, r.clawable()),
            (140, 90, 10, 50)
        );
        // A request of 10 only repays: refused. Of 25, 10 repay and 15 are requested.
        assert!(r.split_request(10).is_err());
        assert_eq!(r.split_request(25).unwrap(), (10, 15));
        r.record_request(1, 10, 15, 40, 0).unwrap();
        assert_eq!((r.debt, r.clawed_back, r.exchanged), (0, 100, 15));
        assert_eq!(r.period_requested, 15);
        // No debt: nothing is repaid.
        assert_eq!(r.split_request(5).unwrap(), (0, 5));
        assert_eq!(r.record_allocation(2, 10, 30).unwrap(), 0);
    }

    #[test]
    fn a_new_record_is_named_once() {
        let mut r = fresh();
        r.pool = Pubkey::default();
        let (pool, user, payer) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        r.name_if_new(7, pool, user, payer);
        assert_eq!(
            (r.bump, r.pool, r.user, r.rent_payer),
            (7, pool, user, payer)
        );
        r.name_if_new(
            8,
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        assert_eq!(
            (r.bump, r.pool, r.user, r.rent_payer),
            (7, pool, user, payer)
        );
    }

    #[test]
    fn a_record_closes_only_once_its_period_count_and_holding_time_are_spent() {
        let mut r = fresh();
        r.record_allocation(3, 10, 1_000).unwrap();
        // Holding time of 500 s not yet over at 1,400; over at 1,500.
        assert!(r.check_can_close(4, 1_400, 500, true).is_err());
        r.check_can_close(4, 1_500, 500, true).unwrap();
        r.record_request(4, 0, 2, 10, 0).unwrap();
        // A request counted in period 4 keeps the record while period 4 lasts.
        assert!(r.check_can_close(4, 1_500, 0, true).is_err());
        r.check_can_close(5, 1_500, 0, true).unwrap();
        // All of it returned: nothing counted, closable again.
        r.record_request_returned(2, 2, 4).unwrap();
        r.check_can_close(4, 1_500, 0, true).unwrap();
        // A debt keeps it: an empty record would forget what is owed.
        r.debt = 1;
        assert!(r.check_can_close(4, 1_500, 0, true).is_err());
        // Not in a pool without exchange: nothing could ever repay it there.
        r.check_can_close(4, 1_500, 0, false).unwrap();
    }

    #[test]
    fn period_zero_is_allocatable_once() {
        let mut r = fresh();
        r.record_allocation(0, 5, 10).unwrap();
        assert!(r.record_allocation(0, 5, 11).is_err());
        r.record_allocation(1, 5, 12).unwrap();
        assert_eq!((r.allocations, r.allocated, r.last_period), (2, 10, 1));
    }

    #[test]
    fn units_sent_to_exchange_cannot_be_clawed_back_until_returned() {
        let mut r = fresh();
        r.record_allocation(0, 100, 10).unwrap();
        assert_eq!(r.record_request(0, 0, 60, 100, 0).unwrap(), 60);
        assert_eq!(r.clawable(), 40);
        r.record_request_returned(60, 60, 0).unwrap();
        assert_eq!(r.clawable(), 100);
    }

    #[test]
    fn a_returned_request_gives_back_its_own_periods_cap_only() {
        let mut r = fresh();
        r.record_allocation(0, 1_000, 10).unwrap();
        r.record_request(3, 0, 60, 1_000, 100).unwrap();
        r.record_request_returned(60, 60, 3).unwrap();
        assert_eq!(r.period_requested, 0);
        r.record_request(3, 0, 100, 1_000, 100).unwrap();
        // A request of period 3 returned once period 4 counts leaves period 4's count alone.
        r.record_request(4, 0, 30, 900, 100).unwrap();
        r.record_request_returned(100, 100, 3).unwrap();
        assert_eq!((r.period_requested, r.exchanged), (30, 30));
    }

    #[test]
    fn per_user_cap_counts_within_a_period() {
        let mut r = fresh();
        r.record_request(3, 0, 60, 1_000, 100).unwrap();
        assert!(r.record_request(3, 0, 41, 1_000, 100).is_err());
        r.record_request(3, 0, 40, 1_000, 100).unwrap();
        r.record_request(4, 0, 100, 1_000, 100).unwrap();
        assert_eq!(r.period_requested, 100);
    }

    /// Units received from others are exchanged first: a holder of 100 own units and 50
    /// received ones who exchanges 80 has sent 30 of its own, and 70 stay claw-backable.
    #[test]
    fn received_units_are_exchanged_before_ones_own() {
        let mut r = fresh();
        r.record_allocation(0, 100, 10).unwrap();
        assert_eq!(r.own_units_in(50, 150), 0);
        assert_eq!(r.own_units_in(80, 150), 30);
        assert_eq!(r.own_units_in(150, 150), 100);
        // A holder that gave units away holds only its own.
        assert_eq!(r.own_units_in(40, 60), 40);
        let own = r.record_request(1, 0, 80, 150, 0).unwrap();
        assert_eq!((own, r.exchanged, r.clawable()), (30, 30, 70));
        // The cap counts every unit requested; a return gives back the own ones only.
        assert_eq!(r.period_requested, 80);
        r.record_request_returned(80, own, 1).unwrap();
        assert_eq!((r.exchanged, r.clawable(), r.period_requested), (0, 100, 0));
        // Never more than what could be clawed back, even for more units than held.
        assert_eq!(r.own_units_in(500, 100), 100);
    }

    #[test]
    fn clawback_is_bounded_by_what_was_allocated() {
        let mut r = fresh();
        r.record_allocation(0, 5, 10).unwrap();
        assert!(r.record_clawback(6).is_err());
        r.record_clawback(5).unwrap();
        assert_eq!(r.clawable(), 0);
    }
}
