//! The recent blockhash and priority fee the bridge signs with, asked of the node at most once
//! per short while and shared by every lane of the process.
//!
//! Before, each lock and settle transaction asked for both (`getLatestBlockhash` and
//! `getRecentPrioritizationFees`): two of the twelve or so calls a settled request cost. A
//! blockhash a few seconds old still leaves a transaction almost all of its ~150 blocks to land
//! (a stored settlement is resent until its own last valid height, whatever that is), and the
//! fee answer covers the last 150 slots, so a few seconds change it little.

use std::collections::HashMap;
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

/// A value and when the node gave it.
#[derive(Clone, Copy, Debug)]
struct Fetched<T> {
    value: T,
    at: Instant,
}

impl<T: Copy> Fetched<T> {
    /// The value, if fetched less than `max_age` before `now`.
    fn fresh(&self, now: Instant, max_age: Duration) -> Option<T> {
        (now.saturating_duration_since(self.at) < max_age).then_some(self.value)
    }
}

/// The recent blockhash and each pool's priority fee, fetched when missing or stale. Lanes that
/// ask at once wait for one lookup (the locks are held across it).
#[derive(Debug, Default)]
pub struct Recent {
    blockhash: Mutex<Option<Fetched<(Hash, u64)>>>,
    fees: Mutex<HashMap<Pubkey, Fetched<u64>>>,
}

impl Recent {
    /// Nothing fetched yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A confirmed blockhash at most [`BLOCKHASH_MAX_AGE`] old, and the last block height at
    /// which a transaction signed with it can land.
    pub async fn blockhash(&self, rpc: &RpcClient) -> Result<(Hash, u64), RpcFailure> {
        let mut cached = self.blockhash.lock().await;
        if let Some(value) = cached.and_then(|c| c.fresh(Instant::now(), BLOCKHASH_MAX_AGE)) {
            return Ok(value);
        }
        let value = rpc
            .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
            .await
            .method("getLatestBlockhash")?;
        *cached = Some(Fetched {
            value,
            at: Instant::now(),
        });
        Ok(value)
    }

    /// The unit price (micro-lamports per compute unit) `policy` asks for a transaction writing
    /// `pool`'s accounts: a fixed price as it is, a percentile of the fees recently paid writing
    /// the pool looked up at most every [`FEE_MAX_AGE`]. The pool is the account its
    /// transactions contend for (a request account is new, written in a slot or two), and a
    /// quiet pool's answer is the blocks' own minimum. A failed lookup is not kept: the next
    /// transaction asks again (and this one goes without a priority fee, as
    /// `compute_budget::unit_price` decides).
    pub async fn unit_price(&self, rpc: &RpcClient, pool: Pubkey, policy: FeePolicy) -> u64 {
        let (percentile, max) = match policy {
            FeePolicy::Fixed(price) => return price,
            FeePolicy::RecentPercentile { percentile, max } => (percentile, max),
        };
        let mut fees = self.fees.lock().await;
        if let Some(price) = fees
            .get(&pool)
            .and_then(|f| f.fresh(Instant::now(), FEE_MAX_AGE))
        {
            return price;
        }
        match allot_client::compute_budget::recent_fee(rpc, &[pool], percentile).await {
            Ok(price) => {
                let price = price.min(max);
                fees.insert(
                    pool,
                    Fetched {
                        value: price,
                        at: Instant::now(),
                    },
                );
                price
            }
            Err(error) => {
                tracing::warn!("getRecentPrioritizationFees failed, no priority fee: {error}");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_fresh_only_within_its_max_age() {
        let at = Instant::now();
        let fetched = Fetched { value: 7_u64, at };
        let age = Duration::from_secs(3);
        assert_eq!(fetched.fresh(at, age), Some(7));
        assert_eq!(
            fetched.fresh(at + Duration::from_millis(2_999), age),
            Some(7)
        );
        assert_eq!(fetched.fresh(at + age, age), None);
        // A clock read before the fetch (another lane's `now`) counts as fresh.
        assert_eq!(
            fetched.fresh(at.checked_sub(Duration::from_millis(1)).unwrap_or(at), age),
            Some(7)
        );
    }
}
