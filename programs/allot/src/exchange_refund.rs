//! Returning an open (pending or locked) request's escrowed units to its user (cancel and reject share this).

use anchor_lang::prelude::*;

use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{AllocationRecord, ExchangeRequest, Pool, RequestStatus};

/// The token accounts a refund moves units between.
pub struct EscrowRefund<'info> {
    /// The pool's token accounts and signer.
    pub tokens: PoolTokenAccounts<'info>,
    /// The pool's escrow (source).
    pub escrow: AccountInfo<'info>,
    /// The user's token account (destination).
    pub user_token: AccountInfo<'info>,
}

impl<'info> EscrowRefund<'info> {
    /// Moves the request's escrowed units back to the user, gives the user's own among them back
    /// to its record (claw-backable again; nothing to give back to a record closed after the
    /// pool's retirement, which ended clawbacks and the period the request counted in), returns them to the per-user and per-period exchange caps of the
    /// period the request counted in (if that period's counts are still the current ones), and
    /// makes the request final with `status`.
    pub fn apply(
        &self,
        pool: &mut Pool,
        record: Option<&mut AllocationRecord>,
        request: &mut ExchangeRequest,
        status: RequestStatus,
        now: i64,
    ) -> Result<()> {
        request.check_is_open()?;
        self.tokens
            .transfer(pool, &self.escrow, &self.user_token, request.amount)?;
        // The period the request counted in (`period_seconds` never changes).
        let period = pool.period_at(request.created_at)?;
        pool.record_request_returned(request.amount, period)?;
        if let Some(record) = record {
            // A record closed after the retirement and reopened by a later request no longer
            // counts this older request's own units (clawbacks are over: nothing to give back).
            let own_units = if pool.is_retired() {
                request.own_units.min(record.exchanged)
            } else {
                request.own_units
            };
            record.record_request_returned(request.amount, own_units, period)?;
        }
        pool.invariant()?;
        request.status = status;
        request.finalized_at = now;
        Ok(())
    }
}
