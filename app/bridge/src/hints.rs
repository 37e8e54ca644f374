//! Live hints: `logsSubscribe` (confirmed; one subscription per served pool's escrow, the address
//! the history is read by, so allocation traffic wakes nothing) wakes the ingester early. A `slotSubscribe` heartbeat is the watchdog: a websocket that stops carrying
//! slot notifications is dead or half-open, and is replaced; the backfill that follows a
//! reconnect closes whatever gap it left. Hints are only hints: nothing is ingested from them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use futures::StreamExt as _;
use solana_commitment_config::CommitmentConfig;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::{RpcTransactionLogsConfig, RpcTransactionLogsFilter};
use tokio::sync::{Notify, watch};

use crate::metrics::Metrics;

/// How long without a slot notification before the websocket is declared dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which addresses live hints named, and when; and whether a gap (a new subscription) asks for
/// every address to be read. A bridge serving many pools reads only the escrows hinted lately
/// between its full passes.
#[derive(Debug, Default)]
pub struct Hinted {
    /// Each hinted address and its latest hint.
    at: Mutex<HashMap<Pubkey, Instant>>,
    /// Set when subscriptions start again: notifications may have been missed meanwhile.
    everything: AtomicBool,
}

impl Hinted {
    /// Notes a hint naming `address`, now.
    pub fn note(&self, address: Pubkey) {
        self.at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(address, Instant::now());
    }

    /// The addresses hinted within the last `window` (older hints are forgotten).
    pub fn within(&self, window: Duration) -> HashSet<Pubkey> {
        let mut at = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        at.retain(|_, hinted| hinted.elapsed() < window);
        at.keys().copied().collect()
    }

    /// Notes that every address is to be read (a subscription started again).
    pub fn note_everything(&self) {
        self.everything.store(true, Ordering::SeqCst);
    }

    /// Whether every address is to be read, clearing the mark.
    pub fn take_everything(&self) -> bool {
        self.everything.swap(false, Ordering::SeqCst)
    }
}

/// Keeps subscriptions to the logs of transactions mentioning each of `addresses` on `ws_url`,
/// noting each notification's address in `hinted` and waking `wake`, and after every
/// (re)subscription marking everything hinted and waking `wake`, until `stop` turns true.
pub async fn watch(
    ws_url: String,
    addresses: Vec<Pubkey>,
    wake: Arc<Notify>,
    hinted: Arc<Hinted>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut first = true;
    while !*stop.borrow() {
        if !first {
            metrics.reconnects.inc();
            wake.notify_one();
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        }
        first = false;
        let client = match tokio::time::timeout(HEARTBEAT_TIMEOUT, PubsubClient::new(&ws_url)).await
        {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => {
                tracing::warn!(%ws_url, "websocket connect failed: {error}");
                continue;
            }
            Err(_) => {
                tracing::warn!(%ws_url, "websocket connect timed out");
                continue;
            }
        };
        let ended = follow(&client, &addresses, &wake, &hinted, &mut stop).await;
        tracing::warn!(%ws_url, "websocket subscription ended: {ended}; resubscribing");
        // A half-open socket may never answer the close handshake: bounded.
        let _ = tokio::time::timeout(Duration::from_secs(2), client.shutdown()).await;
    }
}

/// Follows the subscriptions until they end; says why.
async fn follow(
    client: &PubsubClient,
    addresses: &[Pubkey],
    wake: &Notify,
    hinted: &Hinted,
    stop: &mut watch::Receiver<bool>,
) -> String {
    // `mentions` takes one address per subscription: one each, merged into one stream.
    let mut streams = Vec::with_capacity(addresses.len());
    let mut _unsubscribe_logs = Vec::with_capacity(addresses.len());
    for address in addresses {
        // A socket that goes half-open while subscribing never answers: bounded too.
        let logs = tokio::time::timeout(
            HEARTBEAT_TIMEOUT,
            client.logs_subscribe(
                RpcTransactionLogsFilter::Mentions(vec![address.to_string()]),
                RpcTransactionLogsConfig {
                    commitment: Some(CommitmentConfig::confirmed()),
                },
            ),
        )
        .await;
        match logs {
            Ok(Ok((stream, unsubscribe))) => {
                let address = *address;
                streams.push(stream.map(move |_| address));
                _unsubscribe_logs.push(unsubscribe);
            }
            Ok(Err(error)) => return format!("logsSubscribe failed for {address}: {error}"),
            Err(_) => return format!("logsSubscribe for {address} got no answer"),
        }
    }
    let mut logs = futures::stream::select_all(streams);
    let (mut slots, _unsubscribe_slots) =
        match tokio::time::timeout(HEARTBEAT_TIMEOUT, client.slot_subscribe()).await {
            Ok(Ok(subscription)) => subscription,
            Ok(Err(error)) => return format!("slotSubscribe failed: {error}"),
            Err(_) => return "slotSubscribe got no answer".into(),
        };
    // Whatever happened before the subscriptions started is read by a full pass.
    hinted.note_everything();
    wake.notify_one();
    loop {
        tokio::select! {
            // No address (a discovering bridge with no pool yet): only the heartbeat runs.
            notification = logs.next(), if !logs.is_empty() => match notification {
                Some(address) => {
                    hinted.note(address);
                    wake.notify_one();
                }
                None => return "the logs stream closed".into(),
            },
            beat = tokio::time::timeout(HEARTBEAT_TIMEOUT, slots.next()) => match beat {
                Ok(Some(_)) => {}
                Ok(None) => return "the slot stream closed".into(),
                Err(_) => return format!("no slot notification for {HEARTBEAT_TIMEOUT:?} (dead or half-open)"),
            },
            _ = stop.changed() => return "shutting down".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_kept_for_their_window_and_everything_is_taken_once() {
        let hinted = Hinted::default();
        let (old, new) = (Pubkey::new_unique(), Pubkey::new_unique());
        hinted.note(old);
        std::thread::sleep(Duration::from_millis(30));
        hinted.note(new);
        assert_eq!(
            hinted.within(Duration::from_secs(60)),
            HashSet::from([old, new])
        );
        assert_eq!(
            hinted.within(Duration::from_millis(20)),
            HashSet::from([new])
        );
        // The older hint was forgotten, not only left out.
        assert_eq!(hinted.within(Duration::from_secs(60)), HashSet::from([new]));
        assert!(!hinted.take_everything());
        hinted.note_everything();
        assert!(hinted.take_everything());
        assert!(!hinted.take_everything());
    }
}
