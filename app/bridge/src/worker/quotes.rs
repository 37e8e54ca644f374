//! Requests paid on chain are quoted a batch at a time: a discovered one that falls due takes
//! along the other discovered ones due now, up to one `getMultipleAccounts` call, and all are
//! read in that one call, then quoted, each checked against its event exactly as alone
//! (`record_quote`). One after another, each request cost its own read and three store round
//! trips before the next was looked at: a backlog of 2,000 waited 23 s on average to be quoted
//! (`bridge_figures`, docs/figures.md) while its settlements, which already go several to a
//! transaction, waited for them. (Requests paid over HTTP are quoted with their locks,
//! `locks.rs`.)

use allot::state::ExchangeRequest;
use anyhow::Result;

use super::{PayoutAdapter, Step, Worker, wait_for_companions};
use crate::state::RequestState;
use crate::store::{StoredRequest, now_ms};

/// Most requests quoted together: what one `getMultipleAccounts` call answers.
const QUOTE_BATCH: usize = 100;

impl Worker<'_> {
    /// Whether `row` is a request paid on chain whose next step is its quote.
    pub(super) fn quotes_in_batches(&self, row: &StoredRequest) -> bool {
        matches!(self.payout, PayoutAdapter::Onchain { .. })
            && row.state().ok() == Some(RequestState::Discovered)
    }

    /// Quotes `lead` and up to [`QUOTE_BATCH`]` - 1` other due discovered requests, their
    /// accounts read together; returns how many were stepped. Those quoted wait
    /// [`super::COMPANION_WAIT_MS`] together (their settlements share transactions); any other
    /// takes its usual step (a request not on chain yet is looked at again, one that differs from
    /// its event goes to review). A failed read lets the whole batch go, due again in two seconds;
    /// a failure on one request defers it alone; a batch running past half its claims' time, or
    /// told to `stop`, lets the requests it has not reached go.
    pub(super) async fn advance_quotes(
        &self,
        lead: StoredRequest,
        stop: &dyn Fn() -> bool,
    ) -> Result<usize> {
        let started = now_ms();
        let Some(batch) = self
            .claim_and_read(
                lead,
                &[RequestState::Discovered],
                QUOTE_BATCH - 1,
                0,
                "requests to quote",
            )
            .await?
        else {
            return Ok(0);
        };
        let mut waiting = Vec::new();
        let (stepped, mut first_error) = self
            .step_each(batch, started, stop, async |row, _, on_chain| {
                self.quote_read(row, on_chain, &mut waiting).await
            })
            .await;
        if let Err(error) = self.defer_rows(&waiting).await {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(stepped),
        }
    }

    /// The quote of the discovered `row` with its account as read: one quoted, or to look at
    /// again later, joins `waiting` (released with the batch's others, a quoted one due when its
    /// companions may have joined it: `wait_for_companions`, as when stepped alone); any other
    /// takes its usual step.
    async fn quote_read(
        &self,
        row: &StoredRequest,
        on_chain: Option<ExchangeRequest>,
        waiting: &mut Vec<(String, i64)>,
    ) -> Result<()> {
        let step = wait_for_companions(self.record_quote(row, on_chain.as_ref()).await?);
        match step {
            Step::Later {
                at_ms,
                counted_attempt: false,
            } => {
                waiting.push((row.address.clone(), at_ms));
                Ok(())
            }
            step => self.follow(row.clone(), step).await,
        }
    }
}
