//! An exchange request: a user's units in escrow, waiting for the bridge to pay and settle, and
//! the terms it was made under (frozen when the user signed).

use anchor_lang::prelude::*;

use crate::error::AllotError;

/// Where a request is in its life. `Pending` and `Locked` are open; the others are final.
///
/// ```text
/// Pending ──lock──▶ Locked ──settle──▶ Settled
///    │  └─────────────settle──────────▶ Settled
///    ├──reject / cancel (after cancel_after)──▶ Rejected / Cancelled
/// Locked ──reject──▶ Rejected;  Locked ──cancel (after the lock expires)──▶ Cancelled
/// ```
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    /// Units escrowed, waiting for payment.
    Pending,
    /// Paid and settled by the settlement authority.
    Settled,
    /// Cancelled by the user after the timeout; units returned.
    Cancelled,
    /// Rejected by the settlement authority; units returned.
    Rejected,
    /// Locked by the settlement authority while it pays off chain: the user cannot cancel until
    /// the lock expires; settle or reject ends it. (Appended: variant order is the layout.)
    Locked,
}

/// A durable exchange request. PDA: `[SEED_EXCHANGE_REQUEST, pool, id (u64 LE)]`, the id the
/// client chose (random); no open request shares it, and a closed one's may be taken again.
#[account]
#[derive(InitSpace, Debug)]
pub struct ExchangeRequest {
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// The pool exchanged against.
    pub pool: Pubkey,
    /// The request's id in the pool.
    pub id: u64,
    /// The user who requested (and receives the funds and any returned units).
    pub user: Pubkey,
    /// Who paid the account's rent (gets it back when the request is closed).
    pub rent_payer: Pubkey,
    /// Units escrowed.
    pub amount: u64,
    /// The rate in force at request time (funds minor units per base unit × `RATE_SCALE`).
    pub rate: u64,
    /// Funds owed, in the currency's minor units, rounded down.
    pub quoted: u64,
    /// When it was requested (unix seconds).
    pub created_at: i64,
    /// Its status.
    pub status: RequestStatus,
    /// When it became final (unix seconds; 0 while open).
    pub finalized_at: i64,
    /// Hash of the payment platform's transaction id (settled requests).
    pub payout_reference: [u8; 32],
    /// Funds actually paid, in the currency's minor units (settled requests).
    pub paid_amount: u64,
    /// Reason code given by the settlement authority (rejected requests).
    pub reject_reason: u16,
    /// Frozen term: the mint settlement pays in on chain (`None`: paid off chain).
    pub payout_mint: Option<Pubkey>,
    /// Frozen term: ISO 4217 code of `quoted`.
    pub currency: [u8; 3],
    /// Frozen term: minor-unit digits of `currency` (`quoted` is in 10^-digits units).
    pub currency_digits: u8,
    /// Frozen term: from this unix time the user may cancel the request while it is pending.
    pub cancel_after: i64,
    /// Frozen term: seconds a lock holds before the user may cancel anyway.
    pub lock_timeout_seconds: i64,
    /// When the settlement authority locked it for payout (unix seconds; 0: never locked).
    pub locked_at: i64,
    /// Base units of `payout_mint` transferred to the user at settlement (0 when paid off chain).
    pub payout_base_units: u64,
    /// The settlement authority that locked it (`Pubkey::default()`: never locked). While the
    /// request is locked only that key may settle or reject it, even after the pool's settlement
    /// authority changes: it may have paid off chain already.
    pub locked_by: Pubkey,
    /// How many of `amount` were the user's own allocation (units received from others are
    /// exchanged first): what a cancel or reject makes claw-backable again.
    pub own_units: u64,
}

impl ExchangeRequest {
    /// Whether the request is final (settled, cancelled or rejected).
    pub fn is_final(&self) -> bool {
        !matches!(self.status, RequestStatus::Pending | RequestStatus::Locked)
    }

    /// Whether the settlement authority may lock it: only a pending request paid off chain (an
    /// on-chain payout is atomic with its settlement; a lock would only hold the user's units).
    pub fn check_can_lock(&self) -> Result<()> {
        require!(
            self.status == RequestStatus::Pending,
            AllotError::RequestNotPending
        );
        require!(self.payout_mint.is_none(), AllotError::LockNotNeeded);
        Ok(())
    }

    /// Whether it is the request a transaction was signed for: made at `expected_created_at`
    /// (the signer's read), not a later request at a closed request's id.
    pub fn check_is_instance(&self, expected_created_at: i64) -> Result<()> {
        require_eq!(
            self.created_at,
            expected_created_at,
            AllotError::RequestInstanceMismatch
        );
        Ok(())
    }

    /// Whether the settlement authority may settle or reject it (pending or locked).
    pub fn check_is_open(&self) -> Result<()> {
        require!(!self.is_final(), AllotError::RequestNotPending);
        Ok(())
    }

    /// When its user may cancel it: `cancel_after` while pending, the lock's expiry while
    /// locked; `None` once final.
    pub fn cancel_from(&self) -> Result<Option<i64>> {
        Ok(match self.status {
            RequestStatus::Pending => Some(self.cancel_after),
            RequestStatus::Locked => Some(
                self.locked_at
                    .checked_add(self.lock_timeout_seconds)
                    .ok_or(AllotError::MathOverflow)?,
            ),
            _ => None,
        })
    }

    /// Whether it is locked, by `key`.
    pub fn is_locked_by(&self, key: &Pubkey) -> bool {
        self.status == RequestStatus::Locked && self.locked_by == *key
    }

    /// Whether `signer` may settle or reject it while `authority` is the pool's settlement
    /// authority: a pending request, the authority; a locked one, only the key that locked it
    /// (that key may be paying it off chain: the authority finishing it too could pay the user
    /// twice, or refund a paid request; it must settle after the authority moves, or the lock
    /// would expire and the user could cancel after being paid). A lock whose key is lost ends
    /// when it expires: the user cancels.
    pub fn check_may_finish(&self, authority: &Pubkey, signer: &Pubkey) -> Result<()> {
        let allowed = match self.status {
            RequestStatus::Locked => self.is_locked_by(signer),
            _ => signer == authority,
        };
        require!(allowed, AllotError::NotSettlementAuthority);
        Ok(())
    }

    /// Whether its user may cancel it at `now`: pending past `cancel_after`, or locked past the
    /// lock's expiry (the user's way out when the operator stops settling).
    pub fn check_can_cancel(&self, now: i64) -> Result<()> {
        let from = self.cancel_from()?.ok_or(AllotError::RequestNotPending)?;
        if now >= from {
            return Ok(());
        }
        if self.status == RequestStatus::Locked {
            return err!(AllotError::RequestLocked);
        }
        err!(AllotError::CancelTooEarly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: RequestStatus) -> ExchangeRequest {
        ExchangeRequest {
            bump: 255,
            pool: Pubkey::new_unique(),
            id: 0,
            user: Pubkey::new_unique(),
            rent_payer: Pubkey::new_unique(),
            amount: 10,
            rate: 1,
            quoted: 10,
            created_at: 1_000,
            status,
            finalized_at: 0,
            payout_reference: [0; 32],
            paid_amount: 0,
            reject_reason: 0,
            payout_mint: None,
            currency: *b"USD",
            currency_digits: 2,
            cancel_after: 2_000,
            lock_timeout_seconds: 5_000,
            locked_at: 1_500,
            payout_base_units: 0,
            locked_by: Pubkey::new_unique(),
            own_units: 10,
        }
    }

    #[test]
    fn a_pending_request_is_cancellable_from_its_own_cancel_after() {
        let pending = request(RequestStatus::Pending);
        assert!(pending.check_can_cancel(1_999).is_err());
        assert!(pending.check_can_cancel(2_000).is_ok());
    }

    #[test]
    fn a_locked_request_is_cancellable_only_after_its_lock_expires() {
        let locked = request(RequestStatus::Locked);
        assert_eq!(
            locked.check_can_cancel(2_000).unwrap_err(),
            AllotError::RequestLocked.into()
        );
        assert!(locked.check_can_cancel(6_499).is_err());
        assert!(locked.check_can_cancel(6_500).is_ok());
        assert!(locked.check_can_lock().is_err());
        assert!(locked.check_is_open().is_ok());
    }

    #[test]
    fn only_an_off_chain_payout_is_locked() {
        let mut pending = request(RequestStatus::Pending);
        assert!(pending.check_can_lock().is_ok());
        pending.payout_mint = Some(Pubkey::new_unique());
        assert_eq!(
            pending.check_can_lock().unwrap_err(),
            AllotError::LockNotNeeded.into()
        );
    }

    #[test]
    fn the_key_that_locked_a_request_may_finish_it_after_the_authority_moves() {
        let authority = Pubkey::new_unique();
        let stranger = Pubkey::new_unique();
        let locked = request(RequestStatus::Locked);
        let locker = locked.locked_by;
        assert!(locked.check_may_finish(&authority, &locker).is_ok());
        // The authority does not finish another key's lock: that key may be paying it.
        assert_eq!(
            locked.check_may_finish(&authority, &authority).unwrap_err(),
            AllotError::NotSettlementAuthority.into()
        );
        assert_eq!(
            locked.check_may_finish(&authority, &stranger).unwrap_err(),
            AllotError::NotSettlementAuthority.into()
        );
        // A pending request (never locked, or a lock record from before) is the authority's only.
        let mut pending = request(RequestStatus::Pending);
        pending.locked_by = locker;
        assert!(pending.check_may_finish(&authority, &authority).is_ok());
        assert!(pending.check_may_finish(&authority, &locker).is_err());
    }

    #[test]
    fn a_final_request_cannot_move() {
        for status in [
            RequestStatus::Settled,
            RequestStatus::Cancelled,
            RequestStatus::Rejected,
        ] {
            let done = request(status);
            assert!(done.is_final());
            assert!(done.check_can_lock().is_err());
            assert!(done.check_is_open().is_err());
            assert!(done.check_can_cancel(i64::MAX).is_err());
        }
    }
}
