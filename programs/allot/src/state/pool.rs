//! The pool: one operator's supply of virtual resources and the rule that hands them out.

use anchor_lang::prelude::*;

use crate::constants::SEED_POOL;
use crate::error::AllotError;
use crate::state::{
    AllocationRule, AttestationEvidence, ExchangeConfig, ExchangeState, Pricing, SettleAction,
};

/// What the pool's units represent. Stored for display and, from the exchange module on, for pricing.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// A virtual share in the service's profits.
    VirtualStock,
    /// A virtual asset valued at the pool's rate.
    VirtualAsset,
    /// A virtual option: pays the rate above a strike, inside an exercise window.
    VirtualOption,
    /// A plain virtual token.
    VirtualToken,
}

/// Running totals of the pool, in the mint's base units.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
pub struct PoolTotals {
    /// Units ever minted by the pool (vault funding, or allocations of non-transferable pools).
    pub minted: u64,
    /// Units ever burned by the pool (clawbacks of non-transferable pools).
    pub burned: u64,
    /// Units ever allocated to users.
    pub allocated: u64,
    /// Units ever recovered from users by clawback.
    pub clawed_back: u64,
    /// Units out of the vault on the pool's books: allocated and neither clawed back nor settled
    /// (held by users or in escrow), plus the units staged in allocation shards (`staged`).
    /// Without shards, what users hold by allocation now.
    pub outstanding: u64,
    /// Number of allocations made (sharded ones once swept).
    pub allocations: u64,
    /// Units moved into allocation shards and not yet drained back or swept in as allocations.
    pub staged: u64,
}

/// A pool of virtual resources. PDA: `[SEED_POOL, creator, pool_id (u64 LE)]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Pool {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// Canonical bump of the mint PDA `[SEED_MINT, pool]`.
    pub mint_bump: u8,
    /// Key that created the pool; part of the seeds, so it never changes (the operator can).
    pub creator: Pubkey,
    /// Creator-chosen id, so one creator can run several pools.
    pub pool_id: u64,
    /// Current operator: manages the rule, verifiers, user lists and funding.
    pub operator: Pubkey,
    /// Operator proposed by the current one; becomes operator when it signs the acceptance.
    pub pending_operator: Option<Pubkey>,
    /// What the units represent.
    pub kind: ResourceKind,
    /// Token-2022 mint of the pool (mint authority and permanent delegate: this pool).
    pub mint: Pubkey,
    /// The pool's associated token account holding unallocated units.
    pub vault: Pubkey,
    /// Decimals of the mint.
    pub decimals: u8,
    /// Whether holders may transfer units to each other. When false the mint is NonTransferable:
    /// allocations mint, clawbacks burn.
    pub transferable: bool,
    /// While true, allocations are refused (clawbacks still run).
    pub paused: bool,
    /// The rule applied at allocation and clawback.
    pub rule: AllocationRule,
    /// Unix time at which period 0 starts (the pool's creation time).
    pub period_origin: i64,
    /// Length of one allocation period in seconds; fixed for the pool's life.
    pub period_seconds: i64,
    /// Most units the pool may ever mint.
    pub supply_cap: u64,
    /// Running totals.
    pub totals: PoolTotals,
    /// Number of verifiers currently active.
    pub active_verifiers: u32,
    /// The pool's escrow token account `[SEED_ESCROW, pool]` for pending exchange requests
    /// (created for transferable pools only).
    pub escrow: Pubkey,
    /// Canonical bump of the escrow PDA.
    pub escrow_bump: u8,
    /// Exchange conditions and payout settings.
    pub exchange: ExchangeConfig,
    /// Exchange rate and running exchange figures.
    pub exchange_state: ExchangeState,
    /// Number of allocation shards created (shards `0..shard_count` exist).
    pub shard_count: u16,
    /// The SAS attestations accepted as evidence, if any (`pool_set_attestation`).
    pub attestation: Option<AttestationEvidence>,
    /// When the operator retired the pool (`pool_retire`; unix seconds), 0 while it is not.
    /// A retired pool allocates and claws back no more; exchanges go on, and allocation
    /// records can be closed for their rent.
    pub retired_at: i64,
}

impl ExchangeConfig {
    /// The configuration of a new pool: exchange closed, the operator as settlement authority.
    pub fn closed(operator: Pubkey) -> Self {
        Self {
            settlement_authority: operator,
            open: false,
            window_start: 0,
            window_end: 0,
            min_holding: 0,
            min_holding_seconds: 0,
            per_user_period_cap: 0,
            per_period_cap: 0,
            cancel_timeout_seconds: 86_400,
            lock_timeout_seconds: 7 * 86_400,
            settle_action: SettleAction::Burn,
            pricing: Pricing::FixedPrice,
            currency: *b"USD",
            currency_digits: 2,
            fixed_rate: 0,
            strike: 0,
            payout_mint: None,
        }
    }
}

impl Pool {
    /// Whether the operator retired the pool.
    pub fn is_retired(&self) -> bool {
        self.retired_at != 0
    }

    /// Refuses what a retired pool no longer does (allocations and clawbacks).
    pub fn check_not_retired(&self) -> Result<()> {
        require!(!self.is_retired(), AllotError::PoolRetired);
        Ok(())
    }

    /// Allocation period containing `now` (period 0 starts at `period_origin`).
    pub fn period_at(&self, now: i64) -> Result<u64> {
        let elapsed = now.saturating_sub(self.period_origin).max(0);
        let period = elapsed
            .checked_div(self.period_seconds)
            .ok_or(AllotError::MathOverflow)?;
        u64::try_from(period).map_err(|_| error!(AllotError::MathOverflow))
    }

    /// Runs `f` with this pool's PDA signer seeds.
    pub fn with_signer<R>(&self, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let id = self.pool_id.to_le_bytes();
        let bump = [self.bump];
        let seeds: &[&[u8]] = &[SEED_POOL, self.creator.as_ref(), &id, &bump];
        f(&[seeds])
    }

    /// Records `amount` minted, refusing to pass the supply cap.
    pub fn record_mint(&mut self, amount: u64) -> Result<()> {
        self.totals.minted = self.minted_after(amount)?;
        Ok(())
    }

    /// Units minted ever once `amount` more are minted; refused past the supply cap.
    pub fn minted_after(&self, amount: u64) -> Result<u64> {
        let minted = self
            .totals
            .minted
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        require!(minted <= self.supply_cap, AllotError::SupplyCapExceeded);
        Ok(minted)
    }

    /// Records an allocation of `amount` to a user. Changes nothing on error.
    pub fn record_allocation(&mut self, amount: u64) -> Result<()> {
        let t = &self.totals;
        let allocated = t.allocated.checked_add(amount);
        let outstanding = t.outstanding.checked_add(amount);
        let allocations = t.allocations.checked_add(1);
        let (Some(allocated), Some(outstanding), Some(allocations)) =
            (allocated, outstanding, allocations)
        else {
            return err!(AllotError::MathOverflow);
        };
        self.totals = PoolTotals {
            allocated,
            outstanding,
            allocations,
            ..self.totals
        };
        Ok(())
    }

    /// Units users hold by allocation (or have in escrow) on the pool's books: `outstanding`
    /// less what is staged in shards. Sharded allocations count once swept (so a clawback of one
    /// not yet swept can briefly make this 0 rather than negative); exact when every shard is
    /// swept.
    pub fn held_by_users(&self) -> u64 {
        self.totals.outstanding.saturating_sub(self.totals.staged)
    }

    /// Records `amount` moved from the vault into a shard. Changes nothing on error.
    pub fn record_staged(&mut self, amount: u64) -> Result<()> {
        let t = &self.totals;
        let (Some(staged), Some(outstanding)) = (
            t.staged.checked_add(amount),
            t.outstanding.checked_add(amount),
        ) else {
            return err!(AllotError::MathOverflow);
        };
        self.totals = PoolTotals {
            staged,
            outstanding,
            ..self.totals
        };
        Ok(())
    }

    /// Records `amount` moved back from a shard to the vault. Changes nothing on error.
    pub fn record_unstaged(&mut self, amount: u64) -> Result<()> {
        let t = &self.totals;
        let (Some(staged), Some(outstanding)) = (
            t.staged.checked_sub(amount),
            t.outstanding.checked_sub(amount),
        ) else {
            return err!(AllotError::MathOverflow);
        };
        self.totals = PoolTotals {
            staged,
            outstanding,
            ..self.totals
        };
        Ok(())
    }

    /// Folds a shard's `units` allocated in `allocations` allocations into the totals: they stop
    /// being staged and count as allocated (`outstanding` is unchanged: they were already out of
    /// the vault). Changes nothing on error.
    pub fn record_swept(&mut self, units: u64, allocations: u64) -> Result<()> {
        let t = &self.totals;
        let (Some(staged), Some(allocated), Some(allocations)) = (
            t.staged.checked_sub(units),
            t.allocated.checked_add(units),
            t.allocations.checked_add(allocations),
        ) else {
            return err!(AllotError::MathOverflow);
        };
        self.totals = PoolTotals {
            staged,
            allocated,
            allocations,
            ..self.totals
        };
        Ok(())
    }

    /// Records `amount` recovered from a user; `burned` when the pool burns instead of re-vaulting.
    /// Changes nothing on error.
    pub fn record_clawback(&mut self, amount: u64, burned: bool) -> Result<()> {
        let t = &self.totals;
        let clawed_back = t.clawed_back.checked_add(amount);
        let outstanding = t.outstanding.checked_sub(amount);
        let burned_total = if burned {
            t.burned.checked_add(amount)
        } else {
            Some(t.burned)
        };
        let (Some(clawed_back), Some(outstanding), Some(burned)) =
            (clawed_back, outstanding, burned_total)
        else {
            return err!(AllotError::MathOverflow);
        };
        self.totals = PoolTotals {
            clawed_back,
            outstanding,
            burned,
            ..self.totals
        };
        Ok(())
    }

    /// The exchange figures after a request escrowing `amount` in `period`, or why not: past the
    /// pool's per-period cap. Pure: [`Self::record_request`] stores them.
    pub fn after_request(&self, period: u64, amount: u64) -> Result<ExchangeState> {
        let x = &self.exchange_state;
        let already = if x.period == period {
            x.period_requested
        } else {
            0
        };
        let requested = already
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        let cap = self.exchange.per_period_cap;
        require!(cap == 0 || requested <= cap, AllotError::PeriodCapExceeded);
        let escrowed = x
            .escrowed
            .checked_add(amount)
            .ok_or(AllotError::MathOverflow)?;
        let opened = x
            .requests_opened
            .checked_add(1)
            .ok_or(AllotError::MathOverflow)?;
        Ok(ExchangeState {
            escrowed,
            requests_opened: opened,
            period,
            period_requested: requested,
            ..self.exchange_state
        })
    }

    /// Records a request escrowing `amount` in `period` (see [`Self::after_request`]).
    pub fn record_request(&mut self, period: u64, amount: u64) -> Result<()> {
        self.exchange_state = self.after_request(period, amount)?;
        Ok(())
    }

    /// Records the settlement of `amount` escrowed units paid with `funds`; `burned` when the
    /// units are burned rather than returned to the vault. Changes nothing on error.
    pub fn record_settlement(&mut self, amount: u64, funds: u64, burned: bool) -> Result<()> {
        let x = &self.exchange_state;
        let t = &self.totals;
        let (Some(escrowed), Some(settled), Some(funds_settled), Some(outstanding), Some(burned)) = (
            x.escrowed.checked_sub(amount),
            x.settled.checked_add(amount),
            x.funds_settled.checked_add(funds),
            t.outstanding.checked_sub(amount),
            if burned {
                t.burned.checked_add(amount)
            } else {
                Some(t.burned)
            },
        ) else {
            return err!(AllotError::MathOverflow);
        };
        self.exchange_state = ExchangeState {
            escrowed,
            settled,
            funds_settled,
            ..self.exchange_state
        };
        self.totals = PoolTotals {
            outstanding,
            burned,
            ..self.totals
        };
        Ok(())
    }

    /// Records `amount` escrowed units returned to their user (request cancelled or rejected)
    /// from a request made in `period`: they leave the escrow, and the per-period cap gets them
    /// back while `period` is the one the pool counts.
    pub fn record_request_returned(&mut self, amount: u64, period: u64) -> Result<()> {
        let x = &mut self.exchange_state;
        x.escrowed = x
            .escrowed
            .checked_sub(amount)
            .ok_or(AllotError::MathOverflow)?;
        if x.period == period {
            // A cap counter: never below zero, and never a reason to refuse a return.
            x.period_requested = x.period_requested.saturating_sub(amount);
        }
        Ok(())
    }

    /// Accounting invariant, checked at the end of every handler that changes the totals:
    /// what was allocated and neither clawed back nor settled, plus what is staged in shards, is
    /// outstanding (held by users, in escrow or in shards), and no more is out than exists.
    pub fn invariant(&self) -> Result<()> {
        let t = &self.totals;
        require!(
            self.exchange_state.escrowed <= t.outstanding,
            AllotError::InvariantViolated
        );
        // allocated + staged = outstanding + clawed back + settled, in sums (a clawback of a
        // sharded allocation not yet swept makes `allocated - clawed_back` negative for a while).
        let put_out = t.allocated.checked_add(t.staged);
        let accounted_for = t
            .outstanding
            .checked_add(t.clawed_back)
            .and_then(|v| v.checked_add(self.exchange_state.settled));
        require!(
            put_out.is_some() && put_out == accounted_for,
            AllotError::InvariantViolated
        );
        let live_supply = t
            .minted
            .checked_sub(t.burned)
            .ok_or(AllotError::InvariantViolated)?;
        require!(t.outstanding <= live_supply, AllotError::InvariantViolated);
        require!(t.minted <= self.supply_cap, AllotError::InvariantViolated);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::Comparison;

    /// A transferable pool: period origin 1,000, periods of 100 s, rule "indicator 0 at least
    /// 1" for 10 units (credentials at most 60 s old), supply cap 100.
    pub(crate) fn pool() -> Pool {
        Pool {
            bump: 255,
            mint_bump: 255,
            creator: Pubkey::new_unique(),
            pool_id: 1,
            operator: Pubkey::new_unique(),
            pending_operator: None,
            kind: ResourceKind::VirtualStock,
            mint: Pubkey::new_unique(),
            vault: Pubkey::new_unique(),
            decimals: 0,
            transferable: true,
            paused: false,
            rule: AllocationRule {
                indicator: 0,
                comparison: Comparison::AtLeast,
                threshold: 1,
                amount: 10,
                credential_max_age: 60,
            },
            period_origin: 1_000,
            period_seconds: 100,
            supply_cap: 100,
            totals: PoolTotals::default(),
            active_verifiers: 0,
            escrow: Pubkey::new_unique(),
            escrow_bump: 255,
            exchange: ExchangeConfig::closed(Pubkey::new_unique()),
            exchange_state: ExchangeState::default(),
            shard_count: 0,
            attestation: None,
            retired_at: 0,
        }
    }

    #[test]
    fn periods_count_from_the_origin() {
        let p = pool();
        assert_eq!(p.period_at(999).unwrap(), 0);
        assert_eq!(p.period_at(1_000).unwrap(), 0);
        assert_eq!(p.period_at(1_099).unwrap(), 0);
        assert_eq!(p.period_at(1_100).unwrap(), 1);
        assert_eq!(
            p.period_at(i64::MAX).unwrap(),
            (i64::MAX - 1_000) as u64 / 100
        );
    }

    #[test]
    fn minting_stops_at_the_cap() {
        let mut p = pool();
        p.record_mint(100).unwrap();
        assert!(p.record_mint(1).is_err());
        assert_eq!(p.totals.minted, 100);
    }

    #[test]
    fn clawback_cannot_exceed_outstanding() {
        let mut p = pool();
        p.record_mint(50).unwrap();
        p.record_allocation(10).unwrap();
        assert!(p.record_clawback(11, false).is_err());
        p.record_clawback(10, true).unwrap();
        assert_eq!(p.totals.outstanding, 0);
        assert_eq!(p.totals.burned, 10);
        p.invariant().unwrap();
    }

    #[test]
    fn staged_units_stay_outstanding_until_drained_or_swept() {
        let mut p = pool();
        p.record_mint(100).unwrap();
        p.record_allocation(10).unwrap();
        p.record_staged(50).unwrap();
        p.invariant().unwrap();
        assert_eq!(p.held_by_users(), 10);
        // The shard allocates 20 (the pool is not written); then 20 are clawed back: the direct
        // 10 and 10 of the shard's, before any sweep. Staged units are out too, so it fits.
        p.record_clawback(20, false).unwrap();
        p.invariant().unwrap();
        assert_eq!(p.held_by_users(), 0, "lags, never negative");
        p.record_swept(20, 2).unwrap();
        p.invariant().unwrap();
        assert_eq!(
            (p.totals.allocated, p.totals.allocations, p.totals.staged),
            (30, 3, 30)
        );
        assert_eq!(p.held_by_users(), 10, "exact once swept");
        assert!(p.record_unstaged(31).is_err());
        p.record_unstaged(30).unwrap();
        p.invariant().unwrap();
        assert_eq!((p.totals.outstanding, p.held_by_users()), (10, 10));
    }
}
