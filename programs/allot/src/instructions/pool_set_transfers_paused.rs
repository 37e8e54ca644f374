//! Accounts and handler of `pool_set_transfers_paused`. What it does, who signs it and its
//! hazards are said once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_2022::spl_token_2022::extension::pausable::PausableConfig;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions as _, StateWithExtensions,
};
use anchor_spl::token_2022::spl_token_2022::state::Mint as MintState;
use anchor_spl::token_2022_extensions::{PausableToggle, pausable_pause, pausable_resume};

use crate::error::AllotError;
use crate::events::PoolTransfersPauseChanged;
use crate::state::Pool;

#[event_cpi]
#[derive(Accounts)]
pub struct PoolSetTransfersPaused<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool: its mint's pause authority, signing the Token-2022 call.
    #[account(has_one = operator @ AllotError::NotOperator, has_one = mint)]
    pub pool: Box<Account<'info, Pool>>,
    /// CHECK: the pool's mint (`has_one` above); its Pausable extension is read here and
    /// written by the Token-2022 program.
    #[account(mut)]
    pub mint: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token2022>,
}

impl PoolSetTransfersPaused<'_> {
    /// The mint has the Pausable extension with the pool as its authority (a pool created
    /// `pausable`).
    fn validate(&self) -> Result<()> {
        let data = self.mint.try_borrow_data()?;
        let mint = StateWithExtensions::<MintState>::unpack(&data)?;
        let authority = mint
            .get_extension::<PausableConfig>()
            .ok()
            .and_then(|config| Option::<Pubkey>::from(config.authority));
        require!(
            authority == Some(self.pool.key()),
            AllotError::TransfersNotPausable
        );
        Ok(())
    }
}

/// Checks (`validate`): the pool's mint is pausable, the pool its authority. Pausing a paused
/// mint (or resuming a running one) lands and changes nothing.
#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<PoolSetTransfersPaused>, paused: bool) -> Result<()> {
    let pool = &ctx.accounts.pool;
    let toggle = PausableToggle {
        token_program_id: ctx.accounts.token_program.to_account_info(),
        mint: ctx.accounts.mint.to_account_info(),
        authority: pool.to_account_info(),
    };
    let program = ctx.accounts.token_program.key();
    pool.with_signer(|seeds| {
        let cpi = CpiContext::new_with_signer(program, toggle, seeds);
        if paused {
            pausable_pause(cpi)
        } else {
            pausable_resume(cpi)
        }
    })?;
    emit_cpi!(PoolTransfersPauseChanged {
        pool: pool.key(),
        paused,
    });
    Ok(())
}
