//! `user_list_publish`: the operator publishes the Merkle root of a period's user list.

use anchor_lang::prelude::*;

use crate::constants::SEED_USER_LIST;
use crate::error::AllotError;
use crate::events::UserListPublished;
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
    /// The list for `args.period`, created on first publication.
    #[account(
        init_if_needed,
        payer = operator,
        space = 8 + UserList::INIT_SPACE,
        seeds = [SEED_USER_LIST, pool.key().as_ref(), &args.period.to_le_bytes()],
        bump,
    )]
    pub user_list: Box<Account<'info, UserList>>,
    pub system_program: Program<'info, System>,
}

/// Publishes (or, until an allocation used it, replaces) the root for `args.period`.
///
/// Checks: a root already used by an allocation is frozen. Any period may be published ahead of
/// time; a leaf commits to its period, so a list can never serve another period.
pub fn handler(ctx: Context<UserListPublish>, args: UserListPublishArgs) -> Result<()> {
    let list = &mut ctx.accounts.user_list;
    require!(list.allocations == 0, AllotError::UserListRootInUse);
    list.set_inner(UserList {
        bump: ctx.bumps.user_list,
        pool: ctx.accounts.pool.key(),
        period: args.period,
        root: args.root,
        user_count: args.user_count,
        published_at: Clock::get()?.unix_timestamp,
        allocations: 0,
    });
    emit_cpi!(UserListPublished {
        pool: ctx.accounts.pool.key(),
        period: args.period,
        root: args.root,
        user_count: args.user_count,
    });
    Ok(())
}
