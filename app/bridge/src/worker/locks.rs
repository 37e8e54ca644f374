//! Requests paid over HTTP wait in `Quoted` until the finalized view shows them locked, which on
//! a cluster takes tens of seconds. Read one by one, each waiting request cost two account reads
//! a second, and a few hundred of them slowed the node (and so finality itself; docs/notes.md).
//! Here a waiting request that falls due takes the other due ones along, up to one
//! `getMultipleAccounts` call, and all are read in two calls: the current view, then the
//! finalized view of those locked. Each then takes its usual step with what was read.

use allot::state::{ExchangeRequest, RequestStatus};
use allot_client::accounts;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_commitment_config::CommitmentConfig;

use super::{CLAIM_MS, PayoutAdapter, Step, Worker};
use crate::rpc_failure::RpcResultExt as _;
use crate::state::RequestState;
use crate::store::{StoredRequest, now_ms};

/// Most requests read together: what one `getMultipleAccounts` call answers.
const LOCK_BATCH: usize = 100;

/// What one read of a batch found for one request: its account now (`None`: not there), and
/// whether the finalized view shows it locked (read only for those locked now).
type LockView = (Result<Option<ExchangeRequest>>, Option<bool>);

impl Worker<'_> {
    /// Whether `row` is a request whose next step is its lock (quoted, paid over HTTP).
    pub(super) fn locks_before_paying(&self, row: &StoredRequest) -> bool {
        matches!(self.payout, PayoutAdapter::Http { .. })
            && row.state().ok() == Some(RequestState::Quoted)
    }

    /// Takes a step on `lead` and on up to [`LOCK_BATCH`]` - 1` other due quoted requests,
    /// their accounts read together; returns how many requests were taken.
    pub(super) async fn advance_locks(&self, lead: StoredRequest) -> Result<usize> {
        let others = self
            .store
            .claim_due(
                self.name,
                &lead.address,
                RequestState::Quoted,
                LOCK_BATCH - 1,
                CLAIM_MS,
            )
            .await?;
        let mut rows = vec![lead];
        rows.extend(others);
        let views = match self.read_locks(&rows).await {
            Ok(views) => views,
            Err(error) => {
                tracing::warn!(requests = rows.len(), "locks not read: {error:#}");
                for row in &rows {
                    self.store
                        .defer(
                            &row.address,
                            self.name,
                            now_ms().saturating_add(2_000),
                            false,
                        )
                        .await?;
                }
                return Ok(rows.len());
            }
        };
        let taken = rows.len();
        for (row, (on_chain, finalized_lock)) in rows.into_iter().zip(views) {
            let address = row.address.clone();
            let advanced = match on_chain {
                Ok(on_chain) => self.advance_read(row, on_chain, finalized_lock).await,
                Err(error) => Err(error),
            };
            self.defer_if_failed(&address, advanced).await?;
        }
        Ok(taken)
    }

    /// The step of the quoted `row` with its account as read. A request that moves on (its lock
    /// is final) is let go at once, due: the next free lane pays it, not this one after the
    /// whole batch.
    async fn advance_read(
        &self,
        row: StoredRequest,
        on_chain: Option<ExchangeRequest>,
        finalized_lock: Option<bool>,
    ) -> Result<()> {
        let address: Pubkey = row.address.parse().context("stored address")?;
        match self
            .begin_payout(&row, address, on_chain, finalized_lock)
            .await?
        {
            Step::Moved => Ok(self.store.release_claim(&row.address, self.name).await?),
            step => self.follow(row, step).await,
        }
    }

    /// The accounts of `rows` now, and for those locked now whether they are locked in the
    /// finalized view: two calls for up to [`LOCK_BATCH`] requests.
    async fn read_locks(&self, rows: &[StoredRequest]) -> Result<Vec<LockView>> {
        use allot_client::chain::Chain as _;
        let addresses = rows
            .iter()
            .map(|row| row.address.parse::<Pubkey>().context("stored address"))
            .collect::<Result<Vec<_>>>()?;
        let found = self
            .chain
            .accounts(addresses.clone())
            .await
            .map_err(|error| self.metrics.failed_call("getMultipleAccounts", error))?;
        let now: Vec<Result<Option<ExchangeRequest>>> = addresses
            .iter()
            .zip(found)
            .map(|(address, account)| Ok(accounts::decode_owned(*address, account)?))
            .collect();
        let locked: Vec<Pubkey> = addresses
            .iter()
            .zip(&now)
            .filter(|(_, request)| is_locked(request))
            .map(|(address, _)| *address)
            .collect();
        let mut finalized = self.finalized_locks(&locked).await?.into_iter();
        Ok(now
            .into_iter()
            .map(|request| {
                let finalized_lock = if is_locked(&request) {
                    finalized.next()
                } else {
                    None
                };
                (request, finalized_lock)
            })
            .collect())
    }

    /// Whether the finalized view of the chain shows the request at `address` locked.
    pub(super) async fn locked_when_finalized(&self, address: Pubkey) -> Result<bool> {
        Ok(self.finalized_locks(&[address]).await?.first() == Some(&true))
    }

    /// Whether the finalized view shows each of `addresses` (exchange requests) locked, in
    /// order; one `getMultipleAccounts` call per [`LOCK_BATCH`].
    async fn finalized_locks(&self, addresses: &[Pubkey]) -> Result<Vec<bool>> {
        let mut locked = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(LOCK_BATCH) {
            let found = self.metrics.counted(
                self.chain
                    .client()
                    .get_multiple_accounts_with_commitment(chunk, CommitmentConfig::finalized())
                    .await
                    .method("getMultipleAccounts"),
            )?;
            for (address, account) in chunk.iter().zip(found.value) {
                let request = accounts::decode_owned::<ExchangeRequest>(*address, account)
                    .with_context(|| format!("the account at {address} in the finalized view"))?;
                locked.push(request.is_some_and(|r| r.status == RequestStatus::Locked));
            }
        }
        Ok(locked)
    }
}

/// Whether `request` was read, is there, and is locked.
fn is_locked(request: &Result<Option<ExchangeRequest>>) -> bool {
    matches!(request, Ok(Some(r)) if r.status == RequestStatus::Locked)
}
