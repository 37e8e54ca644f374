//! Where the crank's allocations draw their units from: the pool's vault, or its allocation
//! shards. An allocation from a shard does not write the pool, mint or vault, so transactions on
//! different shards can land in parallel; the crank spreads allocations over the shards with the
//! most units left and interleaves the shards' transactions so the ones in flight together touch
//! different shards.

use allot::state::{AllocationShard, Pool};
use allot_client::chain::Chain;
use allot_client::{accounts, pdas};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};

use crate::batch::Job;

/// What one shard may still allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardBudget {
    /// The shard's index in its pool.
    pub index: u16,
    /// Units it may allocate: what its own books leave (funded − drained − allocated), capped
    /// by what its vault holds.
    pub available: u64,
}

/// Reads the budgets of shards `0..pool.shard_count` of the pool at `address`.
pub async fn load_budgets(
    chain: &impl Chain,
    address: &Pubkey,
    pool: &Pool,
) -> Result<Vec<ShardBudget>> {
    let indices: Vec<u16> = (0..pool.shard_count).collect();
    let shard_addresses: Vec<Pubkey> = indices.iter().map(|i| pdas::shard(address, *i)).collect();
    let shards = accounts::fetch_many::<AllocationShard>(chain, &shard_addresses).await?;
    let vaults = chain
        .accounts(
            indices
                .iter()
                .map(|i| pdas::shard_vault(address, *i))
                .collect(),
        )
        .await?;
    indices
        .iter()
        .zip(shards)
        .zip(vaults)
        .map(|((index, shard), vault)| {
            let shard = shard.with_context(|| {
                format!(
                    "pool {address} counts {} shards but shard {index} is missing",
                    pool.shard_count
                )
            })?;
            let books = shard.expected_balance().map_err(|e| {
                anyhow::anyhow!("shard {index} of pool {address} has inconsistent books: {e}")
            })?;
            let held = vault.map_or(0, |a| {
                allot_client::token::amount_base_units(&a.data).unwrap_or(0)
            });
            Ok(ShardBudget {
                index: *index,
                available: books.min(held),
            })
        })
        .collect()
}

/// One crank's share of a pool when several cranks, each with its own fee payer, run side by
/// side: part `index` of `count` takes the users whose key falls in it and the shards whose index
/// does (`index mod count`). On a cluster a fee payer is written by every transaction it pays, so
/// one crank is itself one write lock; `count` cranks on disjoint users and shards are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// This crank's part, `0..count`.
    pub index: u16,
    /// How many parts.
    pub count: u16,
}

impl Partition {
    /// The whole pool (one crank).
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    /// Whether `user` is in this part (by the first two bytes of the key, which are uniform).
    pub fn has_user(&self, user: &Pubkey) -> bool {
        let bytes = user.to_bytes();
        u16::from_le_bytes([bytes[0], bytes[1]]) % self.count == self.index
    }

    /// Whether shard `index` is in this part.
    pub fn has_shard(&self, index: u16) -> bool {
        index % self.count == self.index
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    /// Parses `K/N` (e.g. `0/4`): part K of N, 0 ≤ K < N ≤ 64.
    fn from_str(text: &str) -> Result<Self, String> {
        let invalid =
            || format!("{text:?} is not a partition K/N with 0 <= K < N <= 64 (e.g. 0/4)");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: u16 = index.trim().parse().map_err(|_| invalid())?;
        let count: u16 = count.trim().parse().map_err(|_| invalid())?;
        if count == 0 || count > 64 || index >= count {
            return Err(invalid());
        }
        Ok(Partition { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where one allocation's units come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The pool's vault (or, in a non-transferable pool, a mint): `allocate`.
    Vault,
    /// An allocation shard: `allocate_sharded`.
    Shard(u16),
}

/// The units the crank may still hand out, by source.
#[derive(Clone, Debug)]
pub struct Supply {
    /// Units the vault (or the supply cap) still allows.
    pub vault: u64,
    /// Each shard's budget.
    pub shards: Vec<ShardBudget>,
}

impl Supply {
    /// Takes `amount` for one allocation: from the shard with the most units left (the lowest
    /// index on a tie), else from the vault; from the vault only when `vault_only`. `None` when
    /// no source has enough.
    pub fn take(&mut self, amount: u64, vault_only: bool) -> Option<Source> {
        let shard = self
            .shards
            .iter_mut()
            .filter(|s| !vault_only && s.available >= amount)
            .max_by_key(|s| (s.available, std::cmp::Reverse(s.index)));
        if let Some(shard) = shard {
            shard.available -= amount;
            return Some(Source::Shard(shard.index));
        }
        if self.vault >= amount {
            self.vault -= amount;
            return Some(Source::Vault);
        }
        None
    }
}

/// Orders transaction groups from several lanes (the vault's, each shard's) round-robin, so the
/// transactions sent together write different shards.
pub fn interleave(lanes: Vec<Vec<Vec<Job>>>) -> Vec<Vec<Job>> {
    let mut lanes: Vec<std::vec::IntoIter<Vec<Job>>> =
        lanes.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for lane in &mut lanes {
            out.extend(lane.next());
        }
        if out.len() == before {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(vault: u64, shards: &[u64]) -> Supply {
        Supply {
            vault,
            shards: shards
                .iter()
                .enumerate()
                .map(|(i, available)| ShardBudget {
                    index: i as u16,
                    available: *available,
                })
                .collect(),
        }
    }

    #[test]
    fn allocations_spread_over_the_fullest_shards_then_the_vault() {
        let mut s = supply(10, &[20, 30]);
        let taken: Vec<Option<Source>> = (0..7).map(|_| s.take(10, false)).collect();
        assert_eq!(
            taken,
            vec![
                Some(Source::Shard(1)),
                Some(Source::Shard(0)),
                Some(Source::Shard(1)),
                Some(Source::Shard(0)),
                Some(Source::Shard(1)),
                Some(Source::Vault),
                None,
            ]
        );
    }

    #[test]
    fn a_vault_only_allocation_leaves_the_shards_alone() {
        let mut s = supply(10, &[50]);
        assert_eq!(s.take(10, true), Some(Source::Vault));
        assert_eq!(s.take(10, true), None);
        assert_eq!(s.shards[0].available, 50);
    }

    #[test]
    fn partitions_split_users_and_shards_without_overlap() {
        let parts: Vec<Partition> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for _ in 0..200 {
            let user = Pubkey::new_unique();
            assert_eq!(parts.iter().filter(|p| p.has_user(&user)).count(), 1);
        }
        for shard in 0..10 {
            assert_eq!(parts.iter().filter(|p| p.has_shard(shard)).count(), 1);
        }
        for bad in ["3/3", "1", "0/0", "0/65", "a/2", "-1/2"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
        assert_eq!(Partition::WHOLE.to_string(), "0/1");
    }

    #[test]
    fn lanes_are_interleaved() {
        let job = |label: &str| Job {
            label: label.into(),
            instruction: solana_sdk::instruction::Instruction::new_with_bytes(
                Pubkey::default(),
                &[],
                vec![],
            ),
        };
        let lanes = vec![
            vec![vec![job("a1")], vec![job("a2")], vec![job("a3")]],
            vec![],
            vec![vec![job("c1")]],
        ];
        let order: Vec<String> = interleave(lanes)
            .into_iter()
            .map(|g| g[0].label.clone())
            .collect();
        assert_eq!(order, ["a1", "c1", "a2", "a3"]);
    }
}
