//! Requests paid on chain are quoted a batch at a time: a discovered one that falls due takes
//! along the other discovered ones due now, up to one `getMultipleAccounts` call, and all are
//! read in that one call, each checked against its event exactly as alone (`quote_to_record`),
//! and the quotes recorded in one database transaction (`Worker::transitioned_each`). One after
//! another, each request cost its own read and three store round trips before the next was
//! looked at: a backlog of 2,000 waited 23 s on average to be quoted (`bridge_figures`,
//! docs/figures.md) while its settlements, which already go several to a transaction, waited
//! for them; with a read a batch but a commit a request, still 6 s. (Requests paid over HTTP
//! are quoted with their locks, `locks.rs`.)

use anyhow::Result;

use super::{COMPANION_WAIT_MS, PayoutAdapter, QuoteRead, Step, Worker};
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
    /// accounts read together and their quotes recorded together; returns how many were stepped.
    /// Those quoted wait [`COMPANION_WAIT_MS`] together (their settlements share transactions);
    /// any other takes its usual step (a request not on chain yet is looked at again, one that
    /// differs from its event goes to review). A failed read lets the whole batch go, due again
    /// in two seconds; a failure on one request defers it alone, and one to record the quotes
    /// defers them all by two seconds; a batch running past half its claims' time, or told to
    /// `stop`, lets the requests it has not reached go.
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
        let mut quotes = Vec::new();
        let (stepped, mut first_error) = self
            .step_each(batch, started, stop, async |row, _, on_chain| {
                match self.quote_to_record(row, on_chain.as_ref()).await? {
                    QuoteRead::Quote(changes) => {
                        quotes.push((row.address.clone(), changes));
                        Ok(())
                    }
                    QuoteRead::Instead(step) => self.wait_or_follow(row, step, &mut waiting).await,
                }
            })
            .await;
        let states = (RequestState::Discovered, RequestState::Quoted);
        let quoted = self
            .transitioned_or_retried(&quotes, states, "quoted", "quotes", &mut waiting)
            .await;
        // Each one quoted is due once companions may have joined it: their settlements share
        // transactions.
        let due = now_ms().saturating_add(COMPANION_WAIT_MS);
        waiting.extend(quoted.into_iter().map(|address| (address.to_owned(), due)));
        if let Err(error) = self.defer_rows(&waiting).await {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(stepped),
        }
    }

    /// The step of a discovered `row` that is not quoted now: one to look at again later joins
    /// `waiting` (released with the batch's others); any other is followed.
    async fn wait_or_follow(
        &self,
        row: &StoredRequest,
        step: Step,
        waiting: &mut Vec<(String, i64)>,
    ) -> Result<()> {
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
