//! The worlds the tests share: a pool with one allocated user (`allocated`), a pool with allocated
//! holders and an open exchange (`Market`), and Token-2022 stablecoins to pay with.

use allot::events::Allocated;
use allot::instructions::ExchangeSettleArgs;
use allot::state::{EvidenceKind, ExchangeConfig, ExchangeRequest, ResourceKind};
use allot_client::events::AllotEvent;
use allot_client::instructions::{self, Evidence, OnChainPayout};
use allot_client::pdas;
use allot_tests::{PoolFixture, TestChain, exchange_config, pool_args};
use anchor_lang::AccountDeserialize as _;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

/// A pool with one user allocated 100 units on a credential.
pub async fn allocated(transferable: bool) -> (TestChain, PoolFixture, Pubkey) {
    let mut chain = TestChain::start().await;
    let fixture = PoolFixture::create(&mut chain, 1, transferable).await;
    let user = Keypair::new().pubkey();
    fixture.issue_and_allocate(&mut chain, &user, 1_000).await;
    (chain, fixture, user)
}

/// The event of `user`'s first allocation of 100 units (in period 0) on `evidence`, after which
/// the pool counts `pool_outstanding`; `shard` names the shard that gave them, if any.
pub fn first_allocation(
    pool: Pubkey,
    user: Pubkey,
    evidence: EvidenceKind,
    pool_outstanding: u64,
    shard: Option<u16>,
) -> AllotEvent {
    AllotEvent::Allocated(Allocated {
        pool,
        user,
        period: 0,
        amount: 100,
        evidence,
        user_allocated: 100,
        pool_outstanding,
        shard,
        debt_repaid: 0,
    })
}

/// A pool with `users` allocated 100 units each and an exchange settled by `bridge`.
pub struct Market {
    /// The chain.
    pub chain: TestChain,
    /// The pool.
    pub fixture: PoolFixture,
    /// The settlement authority.
    pub bridge: Keypair,
    /// The holders, 100 units each.
    pub users: Vec<Keypair>,
}

impl Market {
    pub async fn open(users: usize, config: impl FnOnce(&mut ExchangeConfig)) -> Self {
        Self::open_kind(users, ResourceKind::VirtualStock, config).await
    }

    /// A one-user market under the default exchange rules whose user has just requested an
    /// exchange of 60 units; returns it with the pending request's id.
    pub async fn with_pending_request() -> (Self, u64) {
        let mut m = Self::open(1, |_| {}).await;
        let (id, _) = m.request(0, 60).await.expect("the request lands");
        (m, id)
    }

    pub async fn open_kind(
        users: usize,
        kind: ResourceKind,
        config: impl FnOnce(&mut ExchangeConfig),
    ) -> Self {
        let mut chain = TestChain::start().await;
        let fixture = if kind == ResourceKind::VirtualStock {
            PoolFixture::create(&mut chain, 1, true).await
        } else {
            PoolFixture::create_with(&mut chain, {
                let mut a = pool_args(1, true);
                a.kind = kind;
                a
            })
            .await
        };
        let bridge = chain.funded_keypair(1_000_000_000).await;
        let mut users_out = Vec::new();
        for _ in 0..users {
            let user = chain.funded_keypair(100_000_000).await;
            fixture
                .issue_and_allocate(&mut chain, &user.pubkey(), 1_000)
                .await;
            users_out.push(user);
        }
        let mut cfg = exchange_config(bridge.pubkey());
        config(&mut cfg);
        fixture.set_exchange(&mut chain, cfg).await;
        Self {
            chain,
            fixture,
            bridge,
            users: users_out,
        }
    }

    /// The operator's `pool_set_exchange` of the world's config changed by `change`.
    pub fn configure_ix(
        &self,
        change: impl FnOnce(&mut ExchangeConfig),
    ) -> solana_sdk::instruction::Instruction {
        let mut cfg = exchange_config(self.bridge.pubkey());
        change(&mut cfg);
        let op = self.fixture.operator.pubkey();
        instructions::pool_set_exchange(&op, &self.fixture.pool, cfg)
    }

    /// The operator sets the exchange to the world's config changed by `change` (which must land).
    pub async fn configure(&mut self, change: impl FnOnce(&mut ExchangeConfig)) {
        let ix = self.configure_ix(change);
        let op = self.fixture.operator.insecure_clone();
        self.send_ok(&[ix], &[&op]).await;
    }

    /// The operator's [`Market::configure_ix`] is refused with `code`, and the pool is unchanged.
    pub async fn configure_refused(
        &mut self,
        change: impl FnOnce(&mut ExchangeConfig),
        code: impl Into<u32>,
    ) {
        let ix = self.configure_ix(change);
        let op = self.fixture.operator.insecure_clone();
        let pool = self.fixture.pool;
        self.expect_refused(&[ix], &[&op], code, &[pool]).await;
    }

    /// A [`stablecoin_with`] `extension` and `decimals` to pay user 0 in, its treasury of `amount`
    /// base units held by the settlement authority: (mint, treasury, user's, stranger's).
    pub async fn payout_coin(
        &mut self,
        amount: u64,
        extension: PayoutExtension,
        decimals: u8,
    ) -> (Pubkey, Pubkey, Pubkey, Pubkey) {
        let user = self.users[0].pubkey();
        stablecoin_with(
            &mut self.chain,
            &self.bridge,
            &user,
            amount,
            extension,
            decimals,
        )
        .await
    }

    pub fn holders(&self) -> Vec<Pubkey> {
        self.users.iter().map(|u| u.pubkey()).collect()
    }

    /// Sends through the chain, then checks conservation (after every step, landed or refused).
    pub async fn send(
        &mut self,
        instructions: &[solana_sdk::instruction::Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<AllotEvent>, allot_tests::TxFailure> {
        let result = self.chain.send(instructions, signers).await;
        self.conserved().await;
        result
    }

    /// [`Market::send`], which must land: returns the events (see [`TestChain::send_ok`]).
    pub async fn send_ok(
        &mut self,
        instructions: &[solana_sdk::instruction::Instruction],
        signers: &[&Keypair],
    ) -> Vec<AllotEvent> {
        let events = self.chain.send_ok(instructions, signers).await;
        self.conserved().await;
        events
    }

    /// `TestChain::expect_refused`, then a conservation check.
    pub async fn expect_refused(
        &mut self,
        instructions: &[solana_sdk::instruction::Instruction],
        signers: &[&Keypair],
        code: impl Into<u32>,
        watched: &[Pubkey],
    ) -> allot_tests::TxFailure {
        let failure = self
            .chain
            .expect_refused(instructions, signers, code, watched)
            .await;
        self.conserved().await;
        failure
    }

    pub async fn conserved(&mut self) {
        let holders = self.holders();
        self.fixture
            .assert_conserved(&mut self.chain, &holders)
            .await;
    }

    /// User `i` requests `amount`; returns the request id and events. Tests name requests by the
    /// pool's count (0, 1, 2…, readable in assertions); clients draw random ids
    /// (`allot_client::request_id::random`).
    pub async fn request(
        &mut self,
        i: usize,
        amount: u64,
    ) -> Result<(u64, Vec<AllotEvent>), allot_tests::TxFailure> {
        let id = self
            .fixture
            .state(&mut self.chain)
            .await
            .exchange_state
            .requests_opened;
        let user = self.users[i].insecure_clone();
        let events = self
            .send(&[self.request_ix(i, id, amount)], &[&user])
            .await?;
        Ok((id, events))
    }

    /// User `i`'s request `id` of `amount` units, paying its own rent.
    pub fn request_ix(
        &self,
        i: usize,
        id: u64,
        amount: u64,
    ) -> solana_sdk::instruction::Instruction {
        let user = self.users[i].pubkey();
        instructions::exchange_request(&user, &user, &self.fixture.pool, id, amount)
    }

    /// The bridge's settlement of request `id` for the request at that id now (its `created_at`
    /// as read; 0 when there is none), recording `paid` minor units.
    pub async fn settle_ix(
        &mut self,
        id: u64,
        paid: u64,
        payout: Option<OnChainPayout>,
    ) -> solana_sdk::instruction::Instruction {
        let args = ExchangeSettleArgs {
            payout_reference: [9; 32],
            paid_amount: paid,
            expected_created_at: self.created_at(id).await,
        };
        instructions::exchange_settle(&self.bridge.pubkey(), &self.fixture.pool, id, args, payout)
    }

    /// The pool's verifier revokes user `i`'s credential (which must land).
    pub async fn revoke(&mut self, i: usize) {
        let verifier = self.fixture.verifier.insecure_clone();
        let user = self.users[i].pubkey();
        let ix = instructions::credential_revoke(&verifier.pubkey(), &self.fixture.pool, &user);
        self.send_ok(&[ix], &[&verifier]).await;
    }

    /// The clawback of user `i`'s units on their credential, which anyone may send (a crank does).
    pub fn clawback_ix(&self, i: usize) -> solana_sdk::instruction::Instruction {
        instructions::clawback(
            &self.fixture.pool,
            &self.users[i].pubkey(),
            Evidence::Credential,
        )
    }

    /// Claws back user `i`'s units on their credential (sent by the fee payer); returns the events.
    pub async fn clawback(&mut self, i: usize) -> Result<Vec<AllotEvent>, allot_tests::TxFailure> {
        let ix = self.clawback_ix(i);
        self.send(&[ix], &[]).await
    }

    /// `authority` rejects request `id` of user `i` with `reason` (which must land).
    pub async fn reject(&mut self, authority: &Keypair, id: u64, i: usize, reason: u16) {
        let user = self.users[i].pubkey();
        let created_at = self.created_at(id).await;
        let ix = instructions::exchange_reject(
            &authority.pubkey(),
            &self.fixture.pool,
            id,
            created_at,
            &user,
            reason,
        );
        self.send_ok(&[ix], &[authority]).await;
    }

    /// User `i`'s cancel of their request `id`.
    pub fn cancel_ix(&self, i: usize, id: u64) -> solana_sdk::instruction::Instruction {
        instructions::exchange_cancel(&self.users[i].pubkey(), &self.fixture.pool, id)
    }

    /// User `i` cancels their request `id` (which must land); returns the events.
    pub async fn cancel(&mut self, i: usize, id: u64) -> Vec<AllotEvent> {
        let user = self.users[i].insecure_clone();
        self.send_ok(&[self.cancel_ix(i, id)], &[&user]).await
    }

    /// `authority`'s lock of request `id`, for the request at that id now (its `created_at` as
    /// read; 0 when there is none).
    pub async fn lock_ix(
        &mut self,
        authority: &Keypair,
        id: u64,
    ) -> solana_sdk::instruction::Instruction {
        let created_at = self.created_at(id).await;
        instructions::exchange_lock(&authority.pubkey(), &self.fixture.pool, id, created_at)
    }

    /// The `created_at` of the request at `id` now; 0 when there is none.
    pub async fn created_at(&mut self, id: u64) -> i64 {
        let address = pdas::exchange_request(&self.fixture.pool, id);
        match self.chain.account(address).await {
            Some(account) => {
                let request = ExchangeRequest::try_deserialize(&mut account.data.as_slice())
                    .expect("an exchange request");
                request.created_at
            }
            None => 0,
        }
    }

    pub async fn request_state(&mut self, id: u64) -> ExchangeRequest {
        self.chain
            .fetch(pdas::exchange_request(&self.fixture.pool, id))
            .await
    }

    pub fn user_token(&self, i: usize) -> Pubkey {
        self.fixture.user_token(&self.users[i].pubkey())
    }

    /// The accounts a refused exchange instruction of user `i` about request `id` must leave
    /// unchanged: the pool, the request, the escrow and the user's token account.
    pub fn request_accounts(&self, i: usize, id: u64) -> [Pubkey; 4] {
        let pool = self.fixture.pool;
        [
            pool,
            pdas::exchange_request(&pool, id),
            pdas::escrow(&pool),
            self.user_token(i),
        ]
    }
}

/// A Token-2022 stablecoin with 6 decimals, a treasury owned by `owner` holding `amount` (base
/// units), and empty accounts for `user` and for a stranger: (mint, treasury, user's, stranger's).
pub async fn stablecoin(
    chain: &mut TestChain,
    owner: &Keypair,
    user: &Pubkey,
    amount: u64,
) -> (Pubkey, Pubkey, Pubkey, Pubkey) {
    stablecoin_with(chain, owner, user, amount, PayoutExtension::None, 6).await
}

/// A Token-2022 extension that would make the user receive other than the quote.
#[derive(Clone, Copy)]
pub enum PayoutExtension {
    /// A plain mint.
    None,
    /// A transfer fee of this many basis points.
    TransferFee(u16),
    /// A transfer hook calling a program of the mint authority's choosing.
    TransferHook,
}

/// [`stablecoin`], with a Token-2022 `extension` and `decimals`.
pub async fn stablecoin_with(
    chain: &mut TestChain,
    owner: &Keypair,
    user: &Pubkey,
    amount: u64,
    extension: PayoutExtension,
    decimals: u8,
) -> (Pubkey, Pubkey, Pubkey, Pubkey) {
    use spl_associated_token_account_interface::instruction::create_associated_token_account;
    use spl_token_2022_interface::extension::ExtensionType;
    use spl_token_2022_interface::extension::transfer_fee::instruction::initialize_transfer_fee_config;
    use spl_token_2022_interface::extension::transfer_hook::instruction as hook_ix;
    use spl_token_2022_interface::{ID as TOKEN_2022, instruction as token_ix};
    let mint = Keypair::new();
    let payer = chain.payer().pubkey();
    let extensions: &[ExtensionType] = match extension {
        PayoutExtension::None => &[],
        PayoutExtension::TransferFee(_) => &[ExtensionType::TransferFeeConfig],
        PayoutExtension::TransferHook => &[ExtensionType::TransferHook],
    };
    let space = ExtensionType::try_calculate_account_len::<spl_token_2022_interface::state::Mint>(
        extensions,
    )
    .unwrap();
    let lamports = solana_sdk::rent::Rent::default().minimum_balance(space);
    let create = anchor_lang::solana_program::system_instruction::create_account(
        &payer,
        &mint.pubkey(),
        lamports,
        space as u64,
        &TOKEN_2022,
    );
    let init =
        token_ix::initialize_mint2(&TOKEN_2022, &mint.pubkey(), &owner.pubkey(), None, decimals)
            .unwrap();
    let treasury = pdas::token_account(&owner.pubkey(), &mint.pubkey());
    let user_account = pdas::token_account(user, &mint.pubkey());
    let ata_t =
        create_associated_token_account(&payer, &owner.pubkey(), &mint.pubkey(), &TOKEN_2022);
    let ata_u = create_associated_token_account(&payer, user, &mint.pubkey(), &TOKEN_2022);
    let stranger = Pubkey::new_unique();
    let ata_s = create_associated_token_account(&payer, &stranger, &mint.pubkey(), &TOKEN_2022);
    let fund = token_ix::mint_to(
        &TOKEN_2022,
        &mint.pubkey(),
        &treasury,
        &owner.pubkey(),
        &[],
        amount,
    )
    .unwrap();
    let mut setup = vec![create];
    match extension {
        PayoutExtension::None => {}
        PayoutExtension::TransferFee(bps) => setup.push(
            initialize_transfer_fee_config(&TOKEN_2022, &mint.pubkey(), None, None, bps, u64::MAX)
                .unwrap(),
        ),
        PayoutExtension::TransferHook => setup.push(
            hook_ix::initialize(
                &TOKEN_2022,
                &mint.pubkey(),
                Some(owner.pubkey()),
                Some(Pubkey::new_unique()),
            )
            .unwrap(),
        ),
    }
    setup.extend([init, ata_t, ata_u, ata_s, fund]);
    chain.send_ok(&setup, &[&mint, owner]).await;
    let stranger_account = pdas::token_account(&stranger, &mint.pubkey());
    (mint.pubkey(), treasury, user_account, stranger_account)
}
