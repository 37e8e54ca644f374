//! Accounts and handler of `shard_create`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::Mint;

use crate::constants::{MAX_SHARDS, SEED_SHARD, SEED_SHARD_VAULT};
use crate::error::AllotError;
use crate::events::ShardCreated;
use crate::pda_account::{create_pda_account, create_token_account_pda, store};
use crate::state::{AllocationShard, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct ShardCreate<'info> {
    /// The pool's operator; pays the shard's and its vault's rent.
    #[account(mut)]
    pub operator: Signer<'info>,
    /// The pool gaining a shard; its `shard_count` is the new shard's index.
    #[account(
        mut,
        has_one = operator @ AllotError::NotOperator,
        has_one = mint,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: the new shard, numbered `pool.shard_count` (so shards are 0, 1, … with no gaps;
    /// address checked by the seeds). Created by `pda_account::create_pda_account`, which
    /// tolerates a pre-funded address: the next shard's address is public, and a griefer's
    /// lamports must not block it.
    #[account(
        mut,
        seeds = [SEED_SHARD, pool.key().as_ref(), &pool.shard_count.to_le_bytes()],
        bump,
    )]
    pub shard: UncheckedAccount<'info>,
    /// The shard's vault: a token account PDA `[SEED_SHARD_VAULT, pool, index]` owned by the
    /// shard.
    /// CHECK: address checked by the seeds; created here by
    /// `pda_account::create_token_account_pda`. Only this program can create it, so it starts
    /// empty: no units can be allocated or sent into it before the shard exists.
    #[account(
        mut,
        seeds = [SEED_SHARD_VAULT, pool.key().as_ref(), &pool.shard_count.to_le_bytes()],
        bump,
    )]
    pub shard_vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

/// Checks: transferable pool (shards hold vault units), fewer than `MAX_SHARDS` shards.
pub fn handler(ctx: Context<ShardCreate>) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    require!(pool.transferable, AllotError::ShardsNeedTransferablePool);
    require!(pool.shard_count < MAX_SHARDS, AllotError::TooManyShards);
    let index = pool.shard_count;
    pool.shard_count = index.checked_add(1).ok_or(AllotError::MathOverflow)?;
    let pool_key = pool.key();
    let vault = ctx.accounts.shard_vault.key();
    let index_seed = index.to_le_bytes();
    let bump = [ctx.bumps.shard];
    let [seed, pool_seed, index_seed] = AllocationShard::seeds(&pool_key, &index_seed);
    let seeds: &[&[u8]] = &[seed, pool_seed, index_seed, &bump];
    let shard = ctx.accounts.shard.to_account_info();
    create_pda_account(
        &ctx.accounts.operator.to_account_info(),
        &shard,
        &ctx.accounts.system_program.to_account_info(),
        8 + AllocationShard::INIT_SPACE,
        &crate::ID,
        &[seeds],
    )?;
    let vault_bump = [ctx.bumps.shard_vault];
    let vault_seeds: &[&[u8]] = &[SEED_SHARD_VAULT, pool_key.as_ref(), index_seed, &vault_bump];
    create_token_account_pda(
        &ctx.accounts.operator.to_account_info(),
        &ctx.accounts.shard_vault.to_account_info(),
        &ctx.accounts.mint.to_account_info(),
        &shard,
        &ctx.accounts.system_program.to_account_info(),
        &ctx.accounts.token_program.to_account_info(),
        &[vault_seeds],
    )?;
    store(
        &shard,
        &AllocationShard::new(ctx.bumps.shard, pool_key, index, vault),
    )?;
    emit_cpi!(ShardCreated {
        pool: pool_key,
        shard: ctx.accounts.shard.key(),
        index,
        vault,
    });
    Ok(())
}
