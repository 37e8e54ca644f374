//! Small builders for the world a test needs: a pool, its verifiers, credentials and users.

use allot::instructions::{CredentialIssueArgs, PoolCreateArgs, UserListPublishArgs};
use allot::state::{AllocationRule, Comparison, ExchangeConfig, Pool, ResourceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence};
use allot_client::merkle_tree::UserListTree;
use allot_client::pdas;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

use crate::TestChain;

/// Seconds in the test pools' allocation period (one day).
pub const PERIOD: i64 = 86_400;

/// A rule: indicator slot 0 at least 1,000, 100 units per allocation, credentials valid 2 days.
pub fn rule() -> AllocationRule {
    AllocationRule {
        indicator: 0,
        comparison: Comparison::AtLeast,
        threshold: 1_000,
        amount: 100,
        credential_max_age: 2 * PERIOD,
    }
}

/// Arguments of a test pool: id `pool_id`, virtual stock, 0 decimals, cap 1,000,000.
pub fn pool_args(pool_id: u64, transferable: bool) -> PoolCreateArgs {
    PoolCreateArgs {
        pool_id,
        kind: ResourceKind::VirtualStock,
        decimals: 0,
        transferable,
        pausable: false,
        supply_cap: 1_000_000,
        period_seconds: PERIOD,
        rule: rule(),
    }
}

/// A created pool with one active verifier, and the keys that run it.
pub struct PoolFixture {
    /// The pool address.
    pub pool: Pubkey,
    /// Its mint.
    pub mint: Pubkey,
    /// Its vault.
    pub vault: Pubkey,
    /// The operator (a funded key distinct from the fee payer).
    pub operator: Keypair,
    /// An active verifier of the pool.
    pub verifier: Keypair,
}

impl PoolFixture {
    /// Creates pool `pool_id` (funded with 10,000 units when transferable) and adds a verifier.
    pub async fn create(chain: &mut TestChain, pool_id: u64, transferable: bool) -> Self {
        Self::create_with(chain, pool_args(pool_id, transferable)).await
    }

    /// Creates a pool from `args` (funded with 10,000 units when transferable) and adds a
    /// verifier.
    pub async fn create_with(chain: &mut TestChain, args: PoolCreateArgs) -> Self {
        let (pool_id, transferable) = (args.pool_id, args.transferable);
        let operator = chain.funded_keypair(10_000_000_000).await;
        let verifier = chain.funded_keypair(1_000_000_000).await;
        let pool = pdas::pool(&operator.pubkey(), pool_id);
        let op = operator.pubkey();
        let create = instructions::pool_create(&op, args);
        chain.send_ok(&[create], &[&operator]).await;
        let add = instructions::verifier_add(&op, &pool, &verifier.pubkey());
        chain.send_ok(&[add], &[&operator]).await;
        if transferable {
            let fund = instructions::pool_fund(&op, &pool, 10_000);
            chain.send_ok(&[fund], &[&operator]).await;
        }
        Self {
            pool,
            mint: pdas::mint(&pool),
            vault: pdas::vault(&pool),
            operator,
            verifier,
        }
    }

    /// The pool account as stored.
    pub async fn state(&self, chain: &mut TestChain) -> Pool {
        chain.fetch(self.pool).await
    }

    /// The current period of the pool on the chain's clock.
    pub async fn period(&self, chain: &mut TestChain) -> u64 {
        let now = chain.clock().await.unix_timestamp;
        self.state(chain).await.period_at(now).unwrap()
    }

    /// Credential arguments for the current period with indicator 0 = `value`, expiring in 30 days.
    pub async fn credential_args(&self, chain: &mut TestChain, value: u64) -> CredentialIssueArgs {
        let now = chain.clock().await.unix_timestamp;
        CredentialIssueArgs {
            period: self.period(chain).await,
            indicators: [value, 0, 0, 0],
            expires_at: now + 30 * PERIOD,
            evidence_hash: [42; 32],
        }
    }

    /// Issues (or updates) `user`'s credential for the current period with indicator 0 = `value`.
    pub async fn issue_credential(&self, chain: &mut TestChain, user: &Pubkey, value: u64) {
        let args = self.credential_args(chain, value).await;
        let ix = instructions::credential_issue(&self.verifier.pubkey(), &self.pool, user, args);
        chain.send_ok(&[ix], &[&self.verifier]).await;
    }

    /// Issues `user` a credential with indicator 0 = `value`, then allocates to them on it (both
    /// must land): a holder of the rule's 100 units.
    pub async fn issue_and_allocate(&self, chain: &mut TestChain, user: &Pubkey, value: u64) {
        self.issue_credential(chain, user, value).await;
        let payer = chain.payer().pubkey();
        let ix = instructions::allocate(&payer, &self.pool, user, Evidence::Credential);
        chain.send_ok(&[ix], &[]).await;
    }

    /// The operator sets the pool's exchange to `config` (which must land).
    pub async fn set_exchange(&self, chain: &mut TestChain, config: ExchangeConfig) {
        let ix = instructions::pool_set_exchange(&self.operator.pubkey(), &self.pool, config);
        chain.send_ok(&[ix], &[&self.operator]).await;
    }

    /// The operator publishes the list of `entries` (user, value) for `period` (which must land);
    /// returns its tree, to prove entries with [`list_evidence`], and the events.
    pub async fn publish_list(
        &self,
        chain: &mut TestChain,
        period: u64,
        entries: Vec<(Pubkey, u64)>,
    ) -> (UserListTree, Vec<AllotEvent>) {
        let user_count = u32::try_from(entries.len()).unwrap();
        let tree = UserListTree::build(&self.pool, period, entries).unwrap();
        let args = UserListPublishArgs {
            period,
            root: tree.root(),
            user_count,
        };
        let ix = instructions::user_list_publish(&self.operator.pubkey(), &self.pool, args);
        let events = chain.send_ok(&[ix], &[&self.operator]).await;
        (tree, events)
    }

    /// Allocates to `user` on their credential, paid by the fee payer.
    pub async fn allocate_by_credential(
        &self,
        chain: &mut TestChain,
        user: &Pubkey,
    ) -> Result<Vec<allot_client::events::AllotEvent>, crate::TxFailure> {
        let payer = chain.payer().pubkey();
        chain
            .send(
                &[instructions::allocate(
                    &payer,
                    &self.pool,
                    user,
                    Evidence::Credential,
                )],
                &[],
            )
            .await
    }

    /// `user`'s token account for the pool mint.
    pub fn user_token(&self, user: &Pubkey) -> Pubkey {
        pdas::token_account(user, &self.mint)
    }

    /// Creates `count` allocation shards and moves `each` units from the vault into each.
    pub async fn create_shards(&self, chain: &mut TestChain, count: u16, each: u64) {
        let operator = self.operator.pubkey();
        let first = self.state(chain).await.shard_count;
        for index in first..first + count {
            let create = instructions::shard_create(&operator, &self.pool, index);
            let fund = instructions::shard_fund(&operator, &self.pool, index, each);
            chain.send_ok(&[create, fund], &[&self.operator]).await;
        }
    }

    /// Allocates to `user` on their credential from shard `shard`, paid by the fee payer.
    pub async fn allocate_sharded_by_credential(
        &self,
        chain: &mut TestChain,
        user: &Pubkey,
        shard: u16,
    ) -> Result<Vec<allot_client::events::AllotEvent>, crate::TxFailure> {
        let payer = chain.payer().pubkey();
        chain
            .send(
                &[instructions::allocate_sharded(
                    &payer,
                    &self.pool,
                    user,
                    shard,
                    Evidence::Credential,
                )],
                &[],
            )
            .await
    }
}

impl PoolFixture {
    /// Conservation: the mint's supply is what the pool minted minus what it burned, and it all
    /// sits in the vault, the shards' vaults, the escrow or with `holders`; holders, escrow and
    /// shards together hold exactly the pool's outstanding units
    /// (vault + shards + holders + escrow + burned = minted).
    pub async fn assert_conserved(&self, chain: &mut TestChain, holders: &[Pubkey]) {
        let pool = self.state(chain).await;
        let supply = chain.mint_supply(self.mint).await;
        assert_eq!(
            supply,
            pool.totals.minted - pool.totals.burned,
            "supply = minted - burned"
        );
        let mut held = 0;
        for holder in holders {
            held += chain.token_balance(self.user_token(holder)).await;
        }
        let vault = chain.token_balance(self.vault).await;
        let mut shards = 0;
        for index in 0..pool.shard_count {
            shards += chain
                .token_balance(pdas::shard_vault(&self.pool, index))
                .await;
        }
        let held = held + shards;
        let escrow = chain.token_balance(pdas::escrow(&self.pool)).await;
        assert_eq!(
            escrow, pool.exchange_state.escrowed,
            "escrow holds the pending requests"
        );
        assert_eq!(
            vault + held + escrow,
            supply,
            "vault + shards + holders + escrow = supply"
        );
        assert_eq!(
            held + escrow,
            pool.totals.outstanding,
            "shards + holders + escrow = outstanding"
        );
        pool.invariant().expect("pool invariant holds");
    }
}

/// An open exchange at a fixed rate of 2 funds units per pool unit, settled by `bridge`:
/// no holding minimum, no caps, cancel after one hour, a lock that holds a day, USD (2 digits),
/// escrowed units burned at settlement.
pub fn exchange_config(bridge: Pubkey) -> allot::state::ExchangeConfig {
    allot::state::ExchangeConfig {
        settlement_authority: bridge,
        open: true,
        window_start: 0,
        window_end: 0,
        min_holding: 0,
        min_holding_seconds: 0,
        per_user_period_cap: 0,
        per_period_cap: 0,
        cancel_timeout_seconds: 3_600,
        lock_timeout_seconds: 86_400,
        settle_action: allot::state::SettleAction::Burn,
        pricing: allot::state::Pricing::FixedPrice,
        currency: *b"USD",
        currency_digits: 2,
        fixed_rate: 2 * allot::constants::RATE_SCALE,
        strike: 0,
        payout_mint: None,
    }
}

impl PoolFixture {
    /// The pool's verifier revokes `user`'s credential.
    pub async fn revoke_credential(&self, chain: &mut TestChain, user: &Pubkey) {
        let ix = instructions::credential_revoke(&self.verifier.pubkey(), &self.pool, user);
        chain.send_ok(&[ix], &[&self.verifier]).await;
    }

    /// Claws back from `user` on their credential (sent by the fee payer, as a crank would).
    pub async fn clawback_by_credential(
        &self,
        chain: &mut TestChain,
        user: &Pubkey,
    ) -> Result<Vec<allot_client::events::AllotEvent>, crate::TxFailure> {
        chain
            .send(
                &[instructions::clawback(
                    &self.pool,
                    user,
                    Evidence::Credential,
                )],
                &[],
            )
            .await
    }
}

/// `user`'s evidence on a list of `period`: their proof in `tree`.
pub fn list_evidence(tree: &UserListTree, period: u64, user: &Pubkey) -> Evidence {
    Evidence::UserList {
        period,
        proof: tree.proof(user).expect("the user is listed"),
    }
}
