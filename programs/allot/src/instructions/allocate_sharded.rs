//! Accounts and handler of `allocate_sharded`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::allocation::RecordAccounts;
use crate::constants::{SEED_ALLOCATION, SEED_CREDENTIAL, SEED_SHARD};
use crate::error::AllotError;
use crate::events::Allocated;
use crate::evidence::{ListProof, PresentedEvidence, read_attestation};
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{AllocationShard, Credential, Pool, UserList};

#[event_cpi]
#[derive(Accounts)]
pub struct AllocateSharded<'info> {
    /// Whoever sends the allocation (the user, or a crank); pays for the user's token account
    /// and allocation record when they are new.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: the user's wallet; receives the units in its associated token account. Not an
    /// allot account: with the pool as the user, its associated account is the pool's vault,
    /// and units booked as held would sit there to be allocated again (shards are refused
    /// alike).
    #[account(constraint = *user.owner != crate::ID @ AllotError::UserIsProgramAccount)]
    pub user: UncheckedAccount<'info>,
    /// The pool allocating (read only: its rule, period and pause flag).
    #[account(has_one = mint)]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint (read only: a transfer does not change it).
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The shard paying: one of this pool's, at its canonical address (it signs the transfer).
    #[account(
        mut,
        has_one = pool,
        seeds = [SEED_SHARD, pool.key().as_ref(), &shard.index.to_le_bytes()],
        bump = shard.bump,
    )]
    pub shard: Box<Account<'info, AllocationShard>>,
    /// The shard's vault (source of the units).
    #[account(mut, address = shard.vault)]
    pub shard_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's associated token account for the pool mint, created if missing.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = user,
        associated_token::token_program = token_program,
    )]
    pub user_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the user's allocation record PDA (address checked by the seeds), the same record
    /// `allocate` uses, so a user gets one allocation a period whichever way it is sent. Created
    /// on the first allocation by `pda_account::load_or_create`, then owner- and
    /// discriminator-checked when loaded.
    #[account(
        mut,
        seeds = [SEED_ALLOCATION, pool.key().as_ref(), user.key().as_ref()],
        bump,
    )]
    pub record: UncheckedAccount<'info>,
    /// Evidence, option 1: the user's credential in this pool.
    #[account(
        seeds = [SEED_CREDENTIAL, pool.key().as_ref(), user.key().as_ref()],
        bump = credential.bump,
    )]
    pub credential: Option<Box<Account<'info, Credential>>>,
    /// Evidence, option 2: this pool's user list for the current period (read only; it must
    /// already be sealed by a direct allocation, with `proof` in the args).
    #[account(has_one = pool)]
    pub user_list: Option<Box<Account<'info, UserList>>>,
    /// CHECK: evidence, option 3: the user's SAS attestation under the pool's issuer and schema
    /// (owner, address, layout, issuer and schema checked by `AttestationEvidence::read`).
    pub attestation: Option<UncheckedAccount<'info>>,
    /// CHECK: the SAS issuer (credential account) the pool names, whose authorised signers the
    /// attestation's signer must be among (address and owner checked by
    /// `AttestationEvidence::read`); passed with `attestation`.
    pub attestation_issuer: Option<UncheckedAccount<'info>>,
    pub token_program: Program<'info, Token2022>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

/// Checks: as `allocate` (pool not retired nor paused; exactly one piece of evidence meeting the rule for
/// the current period; no allocation yet in this period), plus: a user list was already used by a
/// direct allocation (its root is sealed: this instruction cannot mark it), the user owes no
/// debt (`allocate` repays it), and the shard holds the amount by its own records.
pub fn handler(ctx: Context<AllocateSharded>, proof: Option<ListProof>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let user = ctx.accounts.user.key();
    let pool = &ctx.accounts.pool;
    pool.check_not_retired()?;
    require!(!pool.paused, AllotError::PoolPaused);
    let period = pool.period_at(now)?;
    let rule = pool.rule;

    let evidence = PresentedEvidence {
        credential: ctx.accounts.credential.as_deref().map(|c| Some(&**c)),
        user_list: ctx.accounts.user_list.as_deref().map(|l| &**l),
        proof: proof.as_ref(),
        attestation: read_attestation(
            &ctx.accounts.pool,
            &user,
            ctx.accounts.attestation.as_ref().map(|a| a.as_ref()),
            ctx.accounts.attestation_issuer.as_ref().map(|a| a.as_ref()),
        )?,
    }
    .check_supports_allocation(&pool_key, &user, &rule, period, now)?;
    if let Some(list) = ctx.accounts.user_list.as_deref() {
        require!(list.is_sealed(), AllotError::UserListNotSealed);
    }
    let (record, repaid) = RecordAccounts {
        record: &ctx.accounts.record.to_account_info(),
        pool: &pool_key,
        user: &user,
        bump: ctx.bumps.record,
        payer: &ctx.accounts.payer.to_account_info(),
        system_program: &ctx.accounts.system_program.to_account_info(),
    }
    .record_allocation(period, rule.amount, now, evidence)?;
    // Repaying would move units to the pool, which a sharded allocation does not write.
    require!(repaid == 0, AllotError::ClawbackDebtOutstanding);

    require!(
        ctx.accounts.shard.expected_balance()? >= rule.amount,
        AllotError::ShardInsufficient
    );
    ctx.accounts.shard.record_allocation(rule.amount)?;
    let tokens = PoolTokenAccounts::new(
        ctx.accounts.pool.to_account_info(),
        ctx.accounts.mint.to_account_info(),
        ctx.accounts.token_program.to_account_info(),
    );
    tokens.transfer_from_shard(
        &ctx.accounts.pool,
        &ctx.accounts.shard,
        &ctx.accounts.shard.to_account_info(),
        &ctx.accounts.shard_vault.to_account_info(),
        &ctx.accounts.user_token.to_account_info(),
        rule.amount,
    )?;

    emit_cpi!(Allocated {
        pool: pool_key,
        user,
        period,
        amount: rule.amount,
        evidence,
        user_allocated: record.allocated,
        pool_outstanding: ctx.accounts.pool.held_by_users(),
        shard: Some(ctx.accounts.shard.index),
        debt_repaid: 0,
    });
    Ok(())
}
