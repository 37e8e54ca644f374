//! Creating a program-derived account that someone may have pre-funded.
//!
//! `system_program::create_account` fails when the address already holds lamports, so anyone
//! could block pool creation by sending a few lamports to the future mint address. This does what
//! Anchor's `init` does: top up to rent-exemption, then allocate and assign.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};

/// Creates `target` (a PDA signed for by `signer_seeds`) with `space` bytes owned by `owner`,
/// `payer` paying whatever rent the account does not already hold.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    target: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    signer_seeds: &[&[&[u8]]],
) -> Result<()> {
    let rent = Rent::get()?.minimum_balance(space);
    let space_u64 =
        u64::try_from(space).map_err(|_| error!(crate::error::AllotError::MathOverflow))?;
    let held = target.lamports();
    if held == 0 {
        return system_program::create_account(
            CpiContext::new_with_signer(
                system_program.key(),
                CreateAccount {
                    from: payer.clone(),
                    to: target.clone(),
                },
                signer_seeds,
            ),
            rent,
            space_u64,
            owner,
        );
    }
    let shortfall = rent.saturating_sub(held);
    if shortfall > 0 {
        system_program::transfer(
            CpiContext::new(
                system_program.key(),
                Transfer {
                    from: payer.clone(),
                    to: target.clone(),
                },
            ),
            shortfall,
        )?;
    }
    system_program::allocate(
        CpiContext::new_with_signer(
            system_program.key(),
            Allocate {
                account_to_allocate: target.clone(),
            },
            signer_seeds,
        ),
        space_u64,
    )?;
    system_program::assign(
        CpiContext::new_with_signer(
            system_program.key(),
            Assign {
                account_to_assign: target.clone(),
            },
            signer_seeds,
        ),
        owner,
    )
}
