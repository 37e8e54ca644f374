//! Accounts and handler of `user_list_publish`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SEED_USER_LIST;
use crate::error::AllotError;
use crate::events::UserListPublished;
use crate::pda_account::{load_or_create, store};
use crate::state::{Pool, UserList};

/// The list to publish.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct UserListPublishArgs {
    /// The allocation period the list covers.
    pub period: u64,
    /// Merkle root over `merkle::leaf_hash(pool, period, user, value)` leaves.
    pub root: [u8; 32],
    /// Number of users in the list.
    pub user_count: u32,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: UserListPublishArgs)]
pub struct UserListPublish<'info> {
    /// The pool's operator; pays the list account's rent when it is new.
    #[account(mut)]
    pub operator: Signer<'info>,
    /// The pool the list belongs to.
    #[account(has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
    /// CHECK: the list PDA for `args.period` (address checked by the seeds). Created on first
    /// publication by `pda_account::load_or_create` (tolerates a pre-funded address), then owner-
    /// and discriminator-checked when loaded.
    #[account(
        mut,
        seeds = [SEED_USER_LIST, pool.key().as_ref(), &args.period.to_le_bytes()],
        bump,
    )]
    pub user_list: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Checks: a root already used by an allocation or a clawback is frozen.
pub fn handler(ctx: Context<UserListPublish>, args: UserListPublishArgs) -> Result<()> {
    let pool_key = ctx.accounts.pool.key();
    let period = args.period.to_le_bytes();
    let bump = [ctx.bumps.user_list];
    let seeds: &[&[u8]] = &[SEED_USER_LIST, pool_key.as_ref(), &period, &bump];
    let list: UserList = load_or_create(
        &ctx.accounts.user_list,
        &ctx.accounts.operator,
        &ctx.accounts.system_program,
        8 + UserList::INIT_SPACE,
        &[seeds],
    )?;
    require!(!list.is_sealed(), AllotError::UserListRootInUse);
    let list = UserList {
        bump: ctx.bumps.user_list,
        pool: pool_key,
        period: args.period,
        root: args.root,
        user_count: args.user_count,
        published_at: Clock::get()?.unix_timestamp,
        allocations: 0,
        clawbacks: 0,
    };
    store(&ctx.accounts.user_list, &list)?;
    emit_cpi!(UserListPublished {
        pool: ctx.accounts.pool.key(),
        period: args.period,
        root: args.root,
        user_count: args.user_count,
    });
    Ok(())
}
