//! The recent blockhash and priority fee the bridge signs with, and the cluster's slot length,
//! asked of the node at most once per short while and shared by every lane of the process.
//!
//! Before, each lock and settle transaction asked for both (`getLatestBlockhash` and
//! `getRecentPrioritizationFees`): two of the twelve or so calls a settled request cost. A
//! blockhash a few seconds old still leaves a transaction almost all of its ~150 blocks to land
//! (a stored settlement is resent until its own last valid height, whatever that is), and the
//! fee answer covers the last 150 slots, so a few seconds change it little.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::hash::Hash;
use tokio::sync::Mutex;

use crate::config::FeePolicy;
use crate::rpc_failure::{RpcFailure, RpcResultExt as _};

/// How long a fetched blockhash is signed with: 3 s, under 8 of the ~150 blocks a transaction
/// has to land.
pub const BLOCKHASH_MAX_AGE: Duration = Duration::from_secs(3);
/// How long a pool's fee lookup is used: 10 s of the ~60 s of slots it summarises.
pub const FEE_MAX_AGE: Duration = Duration::from_secs(10);
/// How long a failed lookup's answer stands (the error for a blockhash, no priority fee for a
/// fee): lanes waiting behind a failing call get its answer instead of each waiting out the
/// client's timeout in turn, and the node is asked again soon after.
pub const FAILED_LOOKUP_STANDS: Duration = Duration::from_secs(1);

/// How long the slot length measured from the node's performance samples is used.
pub const SLOT_LENGTH_MAX_AGE: Duration = Duration::from_secs(60);
/// A slot's nominal length on a Solana cluster (milliseconds): what is assumed while the node
/// has no performance sample (its first minute) or does not answer.
pub const NOMINAL_SLOT_MS: i64 = 400;
/// The shortest and longest slot a sample may say (milliseconds); anything outside is clamped.
const SLOT_MS_RANGE: (i64, i64) = (100, 2_000);

/// A value and until when it is used.
#[derive(Clone, Debug)]
struct Fetched<T> {
    value: T,
    until: Instant,
}

impl<T: Clone> Fetched<T> {
    /// `value`, used for `stands` from now.
    fn new(value: T, stands: Duration) -> Self {
        Self {
            value,
            until: Instant::now() + stands,
        }
    }

    /// The value, if still used at `now`.
    fn fresh(&self, now: Instant) -> Option<T> {
        (now < self.until).then(|| self.value.clone())
    }
}

/// A blockhash with its last valid block height, or why the node gave none.
type BlockhashAnswer = Result<(Hash, u64), RpcFailure>;
/// One pool's fee lookup, behind its own lock.
type PoolFee = Arc<Mutex<Option<Fetched<u64>>>>;

/// The recent blockhash and each pool's priority fee under the bridge's fee policy, fetched when
/// missing or stale. Lanes that ask at once wait for one lookup (a lock is held across it: one
/// for the blockhash, one per pool for fees).
#[derive(Debug)]
pub struct Recent {
    policy: FeePolicy,
    blockhash: Mutex<Option<Fetched<BlockhashAnswer>>>,
    fees: std::sync::Mutex<HashMap<Pubkey, PoolFee>>,
    slot_ms: Mutex<Option<Fetched<i64>>>,
}

impl Recent {
    /// Nothing fetched yet; lock and settle transactions pay for priority as `policy` says.
    pub fn new(policy: FeePolicy) -> Self {
        Self {
            policy,
            blockhash: Mutex::default(),
            fees: std::sync::Mutex::default(),
            slot_ms: Mutex::default(),
        }
    }

    /// A confirmed blockhash at most [`BLOCKHASH_MAX_AGE`] old, and the last block height at
    /// which a transaction signed with it can land (fetched together, so they always match).
    pub async fn blockhash(&self, rpc: &RpcClient) -> Result<(Hash, u64), RpcFailure> {
        let mut cached = self.blockhash.lock().await;
        if let Some(answer) = cached.as_ref().and_then(|c| c.fresh(Instant::now())) {
            return answer;
        }
        let answer = rpc
            .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
            .await
            .method("getLatestBlockhash");
        let stands = if answer.is_ok() {
            BLOCKHASH_MAX_AGE
        } else {
            FAILED_LOOKUP_STANDS
        };
        *cached = Some(Fetched::new(answer.clone(), stands));
        answer
    }

    /// The unit price (micro-lamports per compute unit) the policy asks for a transaction of
    /// `pool`'s exchanges: a fixed price as it is, or a percentile of the fees recently paid
    /// writing the pool, looked up at most every [`FEE_MAX_AGE`] per pool. The pool is the
    /// account exchange transactions contend for (a request account is new, written in a slot
    /// or two; a lock writes only its request, so there the pool's fee is the conservative
    /// side), and a quiet pool's answer is the blocks' own minimum. A failed lookup is logged
    /// and means no priority fee for [`FAILED_LOOKUP_STANDS`] (a node that refuses the method
    /// never blocks a transaction).
    pub async fn unit_price(&self, rpc: &RpcClient, pool: Pubkey) -> u64 {
        let (percentile, max) = match self.policy {
            FeePolicy::Fixed(price) => return price,
            FeePolicy::RecentPercentile { percentile, max } => (percentile, max),
        };
        let slot = self
            .fees
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(pool)
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some(price) = cached.as_ref().and_then(|c| c.fresh(Instant::now())) {
            return price;
        }
        let (price, stands) =
            match allot_client::compute_budget::recent_fee(rpc, &[pool], percentile).await {
                Ok(price) => (price.min(max), FEE_MAX_AGE),
                Err(error) => {
                    tracing::warn!("getRecentPrioritizationFees failed, no priority fee: {error}");
                    (0, FAILED_LOOKUP_STANDS)
                }
            };
        *cached = Some(Fetched::new(price, stands));
        price
    }

    /// How long the cluster's slots last now (milliseconds): the node's newest performance
    /// sample (the slots it made over its period, a minute on agave), looked up at most every
    /// [`SLOT_LENGTH_MAX_AGE`]; [`NOMINAL_SLOT_MS`] while it has none, or when the call fails
    /// (logged; asked again after [`FAILED_LOOKUP_STANDS`]). A wait for finality counted in
    /// slots (32 of them) is this long each: 400 ms on mainnet, 300 ms on a test validator.
    pub async fn slot_ms(&self, rpc: &RpcClient) -> i64 {
        let mut cached = self.slot_ms.lock().await;
        if let Some(ms) = cached.as_ref().and_then(|c| c.fresh(Instant::now())) {
            return ms;
        }
        let (ms, stands) = match rpc.get_recent_performance_samples(Some(1)).await {
            Ok(samples) => match samples
                .first()
                .and_then(|sample| slot_ms_of(sample.num_slots, sample.sample_period_secs))
            {
                Some(ms) => (ms, SLOT_LENGTH_MAX_AGE),
                None => (NOMINAL_SLOT_MS, FAILED_LOOKUP_STANDS),
            },
            Err(error) => {
                tracing::warn!(
                    "getRecentPerformanceSamples failed, slots taken as {NOMINAL_SLOT_MS} ms: {error}"
                );
                (NOMINAL_SLOT_MS, FAILED_LOOKUP_STANDS)
            }
        };
        *cached = Some(Fetched::new(ms, stands));
        ms
    }
}

/// The slot length (milliseconds) a performance sample of `num_slots` slots over
/// `period_secs` seconds says, within [`SLOT_MS_RANGE`]; `None` for a sample of no slots or no
/// time.
fn slot_ms_of(num_slots: u64, period_secs: u16) -> Option<i64> {
    if num_slots == 0 || period_secs == 0 {
        return None;
    }
    let ms = u64::from(period_secs).saturating_mul(1_000) / num_slots;
    Some(
        i64::try_from(ms)
            .unwrap_or(i64::MAX)
            .clamp(SLOT_MS_RANGE.0, SLOT_MS_RANGE.1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_used_only_until_it_stands() {
        let stands = Duration::from_secs(3);
        let fetched = Fetched::new(7_u64, stands);
        let at = fetched.until - stands;
        assert_eq!(fetched.fresh(at), Some(7));
        assert_eq!(fetched.fresh(at + Duration::from_millis(2_999)), Some(7));
        assert_eq!(fetched.fresh(at + stands), None);
        assert_eq!(fetched.fresh(at + Duration::from_secs(60)), None);
    }

    /// A sample's slots over its period give the slot length, kept within sense; a sample of
    /// nothing says nothing.
    #[test]
    fn a_performance_sample_gives_the_slot_length() {
        assert_eq!(slot_ms_of(150, 60), Some(400));
        assert_eq!(slot_ms_of(200, 60), Some(300));
        assert_eq!(slot_ms_of(1_000_000, 60), Some(SLOT_MS_RANGE.0));
        assert_eq!(slot_ms_of(1, 60), Some(SLOT_MS_RANGE.1));
        assert_eq!(slot_ms_of(0, 60), None);
        assert_eq!(slot_ms_of(150, 0), None);
    }

    /// A failed lookup's answer stands a second, not the value's full age.
    #[test]
    fn a_failure_stands_shorter_than_a_value() {
        let failed: Fetched<BlockhashAnswer> = Fetched::new(
            Err(RpcFailure::new("getLatestBlockhash", "down")),
            FAILED_LOOKUP_STANDS,
        );
        let at = failed.until - FAILED_LOOKUP_STANDS;
        assert!(matches!(failed.fresh(at), Some(Err(_))));
        assert!(failed.fresh(at + FAILED_LOOKUP_STANDS).is_none());
        assert!(FAILED_LOOKUP_STANDS < BLOCKHASH_MAX_AGE && FAILED_LOOKUP_STANDS < FEE_MAX_AGE);
    }
}
