//! Accounts and handler of `pool_fund`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::error::AllotError;
use crate::events::PoolFunded;
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::Pool;

#[event_cpi]
#[derive(Accounts)]
pub struct PoolFund<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool to fund.
    #[account(
        mut,
        has_one = operator @ AllotError::NotOperator,
        has_one = mint,
        has_one = vault,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    #[account(mut)]
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's vault.
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Program<'info, Token2022>,
}

/// Checks: transferable pool (non-transferable pools mint at allocation), amount > 0, the supply cap.
pub fn handler(ctx: Context<PoolFund>, amount: u64) -> Result<()> {
    require!(amount > 0, AllotError::ZeroAmount);
    require!(
        ctx.accounts.pool.transferable,
        AllotError::NonTransferableHasNoVault
    );
    ctx.accounts.pool.record_mint(amount)?;
    let tokens = PoolTokenAccounts::new(
        ctx.accounts.pool.to_account_info(),
        ctx.accounts.mint.to_account_info(),
        ctx.accounts.token_program.to_account_info(),
    );
    tokens.mint_to(
        &ctx.accounts.pool,
        &ctx.accounts.vault.to_account_info(),
        amount,
    )?;
    let pool = &ctx.accounts.pool;
    pool.invariant()?;
    emit_cpi!(PoolFunded {
        pool: pool.key(),
        amount,
        total_minted: pool.totals.minted,
    });
    Ok(())
}
