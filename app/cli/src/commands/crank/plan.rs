//! The crank's second stage, pure: from what the scan read, the transactions to send — each user
//! decided by the program's own rules ([`decide`]), each allocation given a source (the vault or
//! a shard) within what is left — packed and ordered, with what they amount to.

use std::collections::BTreeMap;

use allot::state::clawback_amount;
use allot_client::instructions::{self, Evidence};
use allot_client::pdas;
use anchor_lang::prelude::Pubkey;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::signature::{Keypair, Signer};

use super::scan::Scan;
use super::{Decision, UserView, decide};
use crate::batch::{self, Job};
use crate::commands::operator_shards;
use crate::shard_plan::{self, Source, Supply};

/// What the crank will send and what it amounts to.
#[derive(Debug)]
pub struct Plan {
    /// The transactions, in sending order.
    pub transactions: Transactions,
    /// What they amount to, for the report.
    pub tally: Tally,
}

/// The crank's transactions (each a group of jobs), by stage in sending order.
#[derive(Debug, Default)]
pub struct Transactions {
    /// The user list's first allocation, alone: it seals the list's root.
    pub sealing: Vec<Vec<Job>>,
    /// The allocations and clawbacks, the vault's and each shard's transactions interleaved.
    pub groups: Vec<Vec<Job>>,
    /// The sweeps of the shards used, so the pool's totals count their allocations.
    pub sweeps: Vec<Vec<Job>>,
}

impl Transactions {
    /// The stages in sending order, each with the name its progress bar shows.
    pub fn stages(self) -> [(Vec<Vec<Job>>, &'static str); 3] {
        [
            (self.sealing, "seal list"),
            (self.groups, "crank"),
            (self.sweeps, "sweep"),
        ]
    }
}

/// What a plan amounts to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Allocations planned.
    pub allocations: usize,
    /// Of them, those drawn on a shard.
    pub sharded_allocations: usize,
    /// Clawbacks planned.
    pub clawbacks: usize,
    /// Units the clawbacks take.
    pub clawed_units: u64,
    /// Allocation records the allocations create.
    pub new_records: usize,
    /// Token accounts the allocations create.
    pub new_token_accounts: usize,
    /// Users left alone, by reason.
    pub skipped: BTreeMap<String, usize>,
    /// The shards allocations draw on.
    pub shards_used: Vec<u16>,
    /// Transactions to send.
    pub planned_transactions: usize,
    /// Jobs in the largest transaction.
    pub largest_transaction: usize,
    /// The lookup table, when it lacks a shard used (its transactions carry the keys in full).
    pub table_without_shards: Option<Pubkey>,
}

/// Plans the crank over `scan`: `crank` pays and signs, at most `max_per_transaction` jobs go in
/// one transaction.
pub fn plan(scan: &Scan, crank: &Keypair, max_per_transaction: usize) -> Plan {
    let mut lanes = Lanes::new(scan, crank.pubkey());
    for (user, view) in &scan.users {
        match decide(&scan.pool, scan.period, scan.now, view) {
            Decision::Allocate(evidence) => lanes.allocate(user, view, evidence),
            Decision::Clawback(evidence) => lanes.claw_back(user, view, evidence),
            Decision::Skip(reason) => lanes.skip(reason),
        }
    }
    lanes.pack(crank, max_per_transaction, &scan.tables)
}

/// The jobs decided so far, by the lane they go in, and the units still to hand out.
struct Lanes<'a> {
    scan: &'a Scan,
    crank: Pubkey,
    supply: Supply,
    sealing: Option<Job>,
    vault: Vec<Job>,
    shards: BTreeMap<u16, Vec<Job>>,
    tally: Tally,
}

impl<'a> Lanes<'a> {
    fn new(scan: &'a Scan, crank: Pubkey) -> Self {
        Self {
            scan,
            crank,
            supply: scan.supply.clone(),
            sealing: None,
            vault: Vec::new(),
            shards: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// Allocates to `user` from the source with units left, or skips it when none has enough.
    fn allocate(&mut self, user: &Pubkey, view: &UserView, evidence: Evidence) {
        // The list's first allocation comes from the vault: it seals the root, which a sharded
        // allocation (not writing the list) cannot do.
        let seals = matches!(evidence, Evidence::UserList { .. })
            && !self.scan.list_sealed
            && self.sealing.is_none();
        // A user in debt is allocated from the vault, which the repayment goes back to.
        let in_debt = view.record.as_ref().is_some_and(|r| r.debt > 0);
        let Some(source) = self
            .supply
            .take(self.scan.pool.rule.amount, seals || in_debt)
        else {
            let reason = if seals {
                "the user list's first allocation must come from the pool's vault (it seals the root): fund the vault"
            } else {
                "pool supply exhausted"
            };
            self.skip(reason.into());
            return;
        };
        self.tally.allocations += 1;
        self.tally.new_records += usize::from(view.record.is_none());
        self.tally.new_token_accounts += usize::from(!view.has_token_account);
        let label = format!("allocate {user}");
        let address = &self.scan.address;
        match source {
            Source::Vault => {
                let instruction = instructions::allocate(&self.crank, address, user, evidence);
                let job = Job { label, instruction };
                if seals {
                    self.sealing = Some(job);
                } else {
                    self.vault.push(job);
                }
            }
            Source::Shard(index) => self.shards.entry(index).or_default().push(Job {
                label,
                instruction: instructions::allocate_sharded(
                    &self.crank,
                    address,
                    user,
                    index,
                    evidence,
                ),
            }),
        }
    }

    /// Claws back `user`'s clawable units.
    fn claw_back(&mut self, user: &Pubkey, view: &UserView, evidence: Evidence) {
        self.tally.clawbacks += 1;
        self.tally.clawed_units += view
            .record
            .as_ref()
            .map_or(0, |r| clawback_amount(r, view.holding).unwrap_or(0));
        self.vault.push(Job {
            label: format!("claw back {user}"),
            instruction: instructions::clawback(&self.scan.address, user, evidence),
        });
    }

    /// Counts a user left alone for `reason`.
    fn skip(&mut self, reason: String) {
        *self.tally.skipped.entry(reason).or_default() += 1;
    }

    /// Packs the lanes into transactions: the sealing allocation alone, the vault's and the
    /// shards' transactions interleaved, then the sweeps of the shards used.
    fn pack(
        self,
        crank: &Keypair,
        per_transaction: usize,
        tables: &[AddressLookupTableAccount],
    ) -> Plan {
        let address = self.scan.address;
        let mut tally = self.tally;
        tally.sharded_allocations = self.shards.values().map(Vec::len).sum();
        tally.shards_used = self.shards.keys().copied().collect();
        tally.table_without_shards = tables
            .first()
            .filter(|table| {
                tally
                    .shards_used
                    .iter()
                    .any(|index| !table.addresses.contains(&pdas::shard(&address, *index)))
            })
            .map(|table| table.key);
        let mut lanes = vec![batch::pack(crank, self.vault, per_transaction, tables)];
        for lane in self.shards.into_values() {
            lanes.push(batch::pack(crank, lane, per_transaction, tables));
        }
        let groups = shard_plan::interleave(lanes);
        // After the allocations, the shards used are swept so the pool's totals count them.
        let sweeps = batch::pack(
            crank,
            operator_shards::sweep_jobs(&address, tally.shards_used.iter().copied()),
            per_transaction,
            tables,
        );
        let sealing = self.sealing.map(|job| vec![vec![job]]).unwrap_or_default();
        tally.largest_transaction = groups
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(usize::from(!sealing.is_empty()));
        tally.planned_transactions = sealing.len() + groups.len() + sweeps.len();
        Plan {
            transactions: Transactions {
                sealing,
                groups,
                sweeps,
            },
            tally,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::crank::tests::{PERIOD, credential, listed, pool, record};
    use crate::shard_plan::ShardBudget;

    const LIST_NEEDS_THE_VAULT: &str = "the user list's first allocation must come from the pool's vault (it seals the root): fund the vault";

    fn key(byte: u8) -> Pubkey {
        Pubkey::new_from_array([byte; 32])
    }

    /// A scan of the pool of `crank::tests` in period 2, with `users`, `vault` units and shards
    /// holding `shards` units each.
    fn scan(users: Vec<(Pubkey, UserView)>, vault: u64, shards: &[u64]) -> Scan {
        Scan {
            address: key(200),
            pool: pool(),
            now: 2 * PERIOD + 10,
            period: 2,
            users: users.into_iter().collect(),
            skipped_attestations: Vec::new(),
            list_sealed: false,
            supply: Supply {
                vault,
                shards: shards
                    .iter()
                    .enumerate()
                    .map(|(index, available)| ShardBudget {
                        index: index as u16,
                        available: *available,
                    })
                    .collect(),
            },
            tables: Vec::new(),
        }
    }

    fn qualifying() -> UserView {
        UserView {
            credential: Some(credential(2, 5_000, false)),
            ..Default::default()
        }
    }

    fn on_list() -> UserView {
        UserView {
            listed: listed(2, 5_000),
            ..Default::default()
        }
    }

    fn labels(groups: &[Vec<Job>]) -> Vec<Vec<String>> {
        groups
            .iter()
            .map(|group| group.iter().map(|job| job.label.clone()).collect())
            .collect()
    }

    #[test]
    fn allocations_draw_on_the_shards_then_the_vault_and_the_shards_used_are_swept_last() {
        // Given four qualifying users, a revoked holder and a user without evidence; one shard
        // with room for one allocation, a vault with room for two, and a table without shards.
        let revoked = UserView {
            credential: Some(credential(2, 5_000, true)),
            record: Some(record(2, 10)),
            holding: 10,
            has_token_account: true,
            ..Default::default()
        };
        let mut scan = scan(
            vec![
                (key(1), qualifying()),
                (key(2), qualifying()),
                (key(3), revoked),
                (key(4), UserView::default()),
                (key(5), qualifying()),
                (key(6), qualifying()),
            ],
            20,
            &[10],
        );
        scan.tables = vec![AddressLookupTableAccount {
            key: key(9),
            addresses: Vec::new(),
        }];

        // When the crank plans, one job per transaction.
        let Plan {
            transactions,
            tally,
        } = plan(&scan, &Keypair::new(), 1);

        // Then the first user draws on the shard, the next two on the vault, the last finds
        // nothing left; the vault's and the shard's transactions alternate, the sweep comes last.
        assert!(transactions.sealing.is_empty());
        assert_eq!(
            labels(&transactions.groups),
            [
                vec![format!("allocate {}", key(2))],
                vec![format!("allocate {}", key(1))],
                vec![format!("claw back {}", key(3))],
                vec![format!("allocate {}", key(5))],
            ]
        );
        assert_eq!(labels(&transactions.sweeps), [["sweep shard 0"]]);
        assert_eq!(
            tally,
            Tally {
                allocations: 3,
                sharded_allocations: 1,
                clawbacks: 1,
                clawed_units: 10,
                new_records: 3,
                new_token_accounts: 3,
                skipped: BTreeMap::from([
                    ("no evidence for this period".to_string(), 1),
                    ("pool supply exhausted".to_string(), 1),
                ]),
                shards_used: vec![0],
                planned_transactions: 5,
                largest_transaction: 1,
                table_without_shards: Some(key(9)),
            }
        );
    }

    #[test]
    fn the_lists_first_allocation_seals_it_from_the_vault_before_the_others_draw_on_shards() {
        // Given three users on an unsealed list, a vault with room for one and a full shard.
        let users = vec![
            (key(1), on_list()),
            (key(2), on_list()),
            (key(3), on_list()),
        ];
        let funded = scan(users.clone(), 10, &[100]);

        // When the crank plans, then the first allocation goes alone and first, from the vault.
        let Plan {
            transactions,
            tally,
        } = plan(&funded, &Keypair::new(), 1);
        assert_eq!(
            labels(&transactions.sealing),
            [[format!("allocate {}", key(1))]]
        );
        assert_eq!(
            labels(&transactions.groups),
            [
                [format!("allocate {}", key(2))],
                [format!("allocate {}", key(3))]
            ]
        );
        assert_eq!((tally.allocations, tally.sharded_allocations), (3, 2));
        assert_eq!(
            (tally.planned_transactions, tally.largest_transaction),
            (4, 1)
        );

        // Given an empty vault, then no list allocation is planned: the shards cannot seal.
        let empty = scan(users.clone(), 0, &[100]);
        let Plan { tally, .. } = plan(&empty, &Keypair::new(), 1);
        assert_eq!(tally.allocations, 0);
        assert_eq!(tally.planned_transactions, 0);
        assert_eq!(
            tally.skipped,
            BTreeMap::from([(LIST_NEEDS_THE_VAULT.to_string(), 3)])
        );

        // Given a sealed list, then every allocation draws on the shard.
        let mut sealed = scan(users, 0, &[100]);
        sealed.list_sealed = true;
        let Plan {
            transactions,
            tally,
        } = plan(&sealed, &Keypair::new(), 1);
        assert!(transactions.sealing.is_empty());
        assert_eq!((tally.allocations, tally.sharded_allocations), (3, 3));
    }
}
