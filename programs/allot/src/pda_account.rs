//! Creating a program-derived account (or token account) that someone may have pre-funded.
//!
//! `system_program::create_account` fails when the address already holds lamports, so anyone
//! could block pool creation by sending a few lamports to the future mint address. This does what
//! Anchor's `init` does: top up to rent-exemption, then allocate and assign.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions as _, ExtensionType, StateWithExtensions,
};
use anchor_spl::token_2022::spl_token_2022::state::{
    Account as TokenAccountState, Mint as MintState,
};
use anchor_spl::token_2022::{InitializeAccount3, initialize_account3};

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

/// Loads the program account `T` at PDA `info`, creating it first (zeroed, with `T`'s
/// discriminator, rent paid by `payer`) when it does not exist yet.
///
/// Anchor's `init_if_needed` creates a pre-funded address with the `CreateAccountAllowPrefund`
/// system instruction, which runtimes without that feature reject: anyone could then block a
/// user's first allocation or credential by sending the address a lamport. This path works on
/// every runtime. The caller's `seeds`/`bump` constraint has already checked the address.
pub fn load_or_create<'info, T>(
    info: &AccountInfo<'info>,
    payer: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    space: usize,
    signer_seeds: &[&[&[u8]]],
) -> Result<T>
where
    T: AccountDeserialize + Discriminator,
{
    if info.owner == &anchor_lang::system_program::ID {
        create_pda_account(payer, info, system_program, space, &crate::ID, signer_seeds)?;
        // `space` always exceeds the 8-byte discriminator.
        info.try_borrow_mut_data()?[..T::DISCRIMINATOR.len()].copy_from_slice(T::DISCRIMINATOR);
    }
    require_keys_eq!(
        *info.owner,
        crate::ID,
        anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram
    );
    T::try_deserialize(&mut &info.try_borrow_data()?[..])
}

/// Loads the program account `T` at PDA `info`, or `None` when the address holds no account
/// (never created, or closed). The caller's `seeds`/`bump` constraint has already checked the
/// address; anything there that is not this program's `T` is refused.
pub fn load_if_exists<T>(info: &AccountInfo) -> Result<Option<T>>
where
    T: AccountDeserialize,
{
    if info.owner == &anchor_lang::system_program::ID && info.data_is_empty() {
        return Ok(None);
    }
    require_keys_eq!(
        *info.owner,
        crate::ID,
        anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram
    );
    T::try_deserialize(&mut &info.try_borrow_data()?[..]).map(Some)
}

/// Writes `value` (with its discriminator) back into the program account at `info`.
pub fn store<T: AccountSerialize>(info: &AccountInfo, value: &T) -> Result<()> {
    let mut data = info.try_borrow_mut_data()?;
    value.try_serialize(&mut &mut data[..])
}

/// Creates `account` (a PDA signed for by `signer_seeds`) as a Token-2022 account of `mint`
/// owned by `authority`, `payer` paying its rent, sized for the account extensions `mint`
/// requires (PausableAccount for a pausable pool's mint; none for the permanent delegate and
/// metadata pointer; its callers, the escrow and shard vaults, exist for transferable pools
/// only).
pub fn create_token_account_pda<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    token_program: &AccountInfo<'info>,
    signer_seeds: &[&[&[u8]]],
) -> Result<()> {
    let required = {
        let data = mint.try_borrow_data()?;
        let mint_state = StateWithExtensions::<MintState>::unpack(&data)?;
        ExtensionType::get_required_init_account_extensions(&mint_state.get_extension_types()?)
    };
    let space = ExtensionType::try_calculate_account_len::<TokenAccountState>(&required)?;
    create_pda_account(
        payer,
        account,
        system_program,
        space,
        &token_program.key(),
        signer_seeds,
    )?;
    initialize_account3(CpiContext::new(
        token_program.key(),
        InitializeAccount3 {
            account: account.clone(),
            mint: mint.clone(),
            authority: authority.clone(),
        },
    ))
}
