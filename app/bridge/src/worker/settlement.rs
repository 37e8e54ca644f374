//! Settle transactions: the on-chain payout (paid inside the settle transaction), the settlement
//! of a provider's payment, and following a sent transaction until it lands or provably expires.

use allot::state::{ExchangeRequest, RequestStatus};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_sdk::signature::Signer;

use super::{CLAIM_MS, PayoutAdapter, SETTLE_RECHECK_MS, Step, Worker};
use crate::crash::crash_point;
use crate::settle::{self, SettleStatus, SignedSettle};
use crate::state::RequestState;
use crate::store::{Changes, StoredRequest, now_ms};

impl Worker<'_> {
    /// `Quoted`, paid on chain in the request's frozen payout mint: the transfer and the
    /// settlement are one transaction.
    pub(super) async fn settle_with_onchain_payout(
        &self,
        row: &StoredRequest,
        on_chain: &ExchangeRequest,
        payout_mint: Pubkey,
        treasury: Option<Pubkey>,
    ) -> Result<Step> {
        let mint_program = self.owner_of(payout_mint).await?;
        let payout =
            settle::onchain_payout(on_chain, &self.authority.pubkey(), mint_program, treasury);
        let reference = settle::payout_reference(&row.address);
        let signed = self.sign(on_chain, reference, payout).await?;
        self.send_new(row, RequestState::Quoted, signed).await
    }

    /// `Paid`: signs, stores and sends the settle transaction that records the provider's
    /// payment on chain.
    pub(super) async fn settle_paid(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let state = RequestState::Paid;
        let Some(on_chain) = self.on_chain(address).await? else {
            return self
                .review(row, state, "paid, but the request account is gone")
                .await;
        };
        match on_chain.status {
            RequestStatus::Pending | RequestStatus::Locked => {}
            RequestStatus::Settled => return self.settled(row, state).await,
            other => {
                let reason = format!("paid, but the request was {other:?} on chain");
                return self.review(row, state, &reason).await;
            }
        }
        let payment_id = row
            .payment_id
            .as_deref()
            .context("paid without a payment id")?;
        let signed = self
            .sign(&on_chain, settle::payout_reference(payment_id), None)
            .await?;
        self.send_new(row, state, signed).await
    }

    /// Reads the stored settle transaction's fate and acts on it.
    pub(super) async fn follow_settle(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let state = RequestState::SettleSent;
        let (Some(signature), Some(base64), Some(last_valid)) = (
            row.settle_signature.as_deref(),
            row.settle_tx.as_deref(),
            row.settle_last_valid_height,
        ) else {
            return self
                .review(row, state, "settle sent without a stored transaction")
                .await;
        };
        let last_valid = u64::try_from(last_valid).context("stored block height")?;
        match self
            .metrics
            .counted(settle::status(self.chain.client(), signature, last_valid).await)?
        {
            SettleStatus::Succeeded => self.settled(row, state).await,
            SettleStatus::InFlight => {
                self.metrics
                    .counted(settle::send(self.chain.client(), base64).await)?;
                Ok(Step::Later {
                    at_ms: now_ms().saturating_add(SETTLE_RECHECK_MS),
                    counted_attempt: false,
                })
            }
            SettleStatus::Failed(error) => match self.on_chain(address).await?.map(|r| r.status) {
                Some(RequestStatus::Settled) => self.settled(row, state).await,
                _ => {
                    let reason = format!("the settle transaction {signature} failed: {error}");
                    self.review(row, state, &reason).await
                }
            },
            SettleStatus::Expired => self.after_expiry(row, address).await,
        }
    }

    /// The stored settle transaction expired unseen (it can never land): the request account
    /// decides — settled after all, a new transaction under the same terms, or withdrawn.
    async fn after_expiry(&self, row: &StoredRequest, address: Pubkey) -> Result<Step> {
        let state = RequestState::SettleSent;
        let Some(on_chain) = self.on_chain(address).await? else {
            return self.review(row, state, "the request account is gone").await;
        };
        match on_chain.status {
            RequestStatus::Settled => self.settled(row, state).await,
            RequestStatus::Pending | RequestStatus::Locked => {
                tracing::info!(address = %row.address, "settle transaction expired unseen; signing a new one");
                // How this request is paid was fixed when it was first settled: a provider
                // payment (payment id stored) never gets an on-chain transfer.
                let payout = match (self.payout, &row.payment_id, on_chain.payout_mint) {
                    (_, Some(_), _) => None,
                    (PayoutAdapter::Onchain { treasury }, None, Some(mint)) => {
                        let program = self.owner_of(mint).await?;
                        settle::onchain_payout(
                            &on_chain,
                            &self.authority.pubkey(),
                            program,
                            *treasury,
                        )
                    }
                    _ => {
                        return self
                            .review(row, state, "an on-chain payout's settle transaction expired, and the bridge is no longer configured to pay this request on chain")
                            .await;
                    }
                };
                let reference = match &row.payment_id {
                    Some(payment_id) => settle::payout_reference(payment_id),
                    None => settle::payout_reference(&row.address),
                };
                let signed = self.sign(&on_chain, reference, payout).await?;
                self.send_new(row, state, signed).await
            }
            other => match row.payment_id {
                // Nothing moved: the payout was inside the transaction that never landed.
                None => {
                    self.moved(
                        row,
                        state,
                        RequestState::Withdrawn,
                        Changes::default(),
                        "withdrawn",
                    )
                    .await
                }
                Some(_) => {
                    let reason =
                        format!("paid, but the request was {other:?} on chain before settlement");
                    self.review(row, state, &reason).await
                }
            },
        }
    }

    /// Stores `signed` (before it is ever sent), then sends it.
    async fn send_new(
        &self,
        row: &StoredRequest,
        from: RequestState,
        signed: SignedSettle,
    ) -> Result<Step> {
        let changes = Changes {
            settle_tx: Some(signed.base64.clone()),
            settle_signature: Some(signed.signature.clone()),
            settle_last_valid_height: Some(
                i64::try_from(signed.last_valid_height).context("block height")?,
            ),
            ..Changes::default()
        };
        if !self
            .store
            .transition(
                &row.address,
                self.name,
                from,
                RequestState::SettleSent,
                changes,
                CLAIM_MS,
            )
            .await?
        {
            return Ok(Step::Done);
        }
        crash_point("settle_sent");
        self.metrics
            .counted(settle::send(self.chain.client(), &signed.base64).await)?;
        crash_point("settle_broadcast");
        Ok(Step::Later {
            at_ms: now_ms().saturating_add(SETTLE_RECHECK_MS),
            counted_attempt: false,
        })
    }

    /// The program owning `account` (a mint's token program).
    async fn owner_of(&self, account: Pubkey) -> Result<Pubkey> {
        use allot_client::chain::Chain as _;
        let found = self
            .chain
            .account(account)
            .await
            .map_err(|error| self.metrics.failed_call("getAccountInfo", error))?
            .with_context(|| format!("account {account} is not on chain"))?;
        Ok(found.owner)
    }

    /// Signs the settle transaction of `request`.
    async fn sign(
        &self,
        request: &ExchangeRequest,
        reference: [u8; 32],
        payout: Option<allot_client::instructions::OnChainPayout>,
    ) -> Result<SignedSettle> {
        self.metrics.counted(
            settle::sign(
                self.chain.client(),
                self.authority,
                request,
                reference,
                payout,
                self.fees,
            )
            .await,
        )
    }
}
