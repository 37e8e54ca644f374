//! Accounts and handler of `shard_drain`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::constants::SEED_SHARD;
use crate::error::AllotError;
use crate::events::ShardDrained;
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{AllocationShard, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct ShardDrain<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool whose vault receives.
    #[account(
        mut,
        has_one = operator @ AllotError::NotOperator,
        has_one = mint,
        has_one = vault,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's vault (destination).
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The shard to drain: one of this pool's, at its canonical address (it signs the transfer).
    #[account(
        mut,
        has_one = pool,
        seeds = [SEED_SHARD, pool.key().as_ref(), &shard.index.to_le_bytes()],
        bump = shard.bump,
    )]
    pub shard: Box<Account<'info, AllocationShard>>,
    /// The shard's vault (source).
    #[account(mut, address = shard.vault)]
    pub shard_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Program<'info, Token2022>,
}

/// Checks: amount > 0, the shard has not allocated them (funded − drained − allocated).
pub fn handler(ctx: Context<ShardDrain>, amount: u64) -> Result<()> {
    require!(amount > 0, AllotError::ZeroAmount);
    require!(
        ctx.accounts.shard.expected_balance()? >= amount,
        AllotError::ShardInsufficient
    );
    ctx.accounts.pool.record_unstaged(amount)?;
    ctx.accounts.shard.record_drain(amount)?;
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
        &ctx.accounts.vault.to_account_info(),
        amount,
    )?;
    let pool = &ctx.accounts.pool;
    pool.invariant()?;
    emit_cpi!(ShardDrained {
        pool: pool.key(),
        index: ctx.accounts.shard.index,
        amount,
        shard_available: ctx.accounts.shard.expected_balance()?,
        pool_staged: pool.totals.staged,
    });
    Ok(())
}
