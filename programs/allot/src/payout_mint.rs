//! What a stablecoin must be to pay users on chain: delivered in full, and fine-grained enough
//! to pay every quote exactly. Checked when the operator configures it and again at settlement.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions, ExtensionType, StateWithExtensions,
};
use anchor_spl::token_2022::spl_token_2022::state::Mint as MintState;
use anchor_spl::token_interface::Mint;

use crate::error::AllotError;

/// Refuses a payout mint that cannot pay quotes in `currency_digits` exactly: fewer decimals
/// than the currency's minor units, a transfer fee (the user would receive less) or a transfer
/// hook (its extra accounts are not passed).
pub fn check_payout_mint(mint: &InterfaceAccount<Mint>, currency_digits: u8) -> Result<()> {
    require!(
        mint.decimals >= currency_digits,
        AllotError::PayoutMintTooFewDecimals
    );
    require!(
        pays_in_full(&mint.to_account_info())?,
        AllotError::PayoutMintUnsupported
    );
    Ok(())
}

/// Whether a transfer of the mint delivers exactly what is sent: no transfer fee and no
/// transfer hook (SPL Token mints have neither).
fn pays_in_full(mint: &AccountInfo) -> Result<bool> {
    if *mint.owner != anchor_spl::token_2022::ID {
        return Ok(true);
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<MintState>::unpack(&data)?;
    let extensions = state.get_extension_types()?;
    Ok(!extensions.iter().any(|e| {
        matches!(
            e,
            ExtensionType::TransferFeeConfig | ExtensionType::TransferHook
        )
    }))
}
