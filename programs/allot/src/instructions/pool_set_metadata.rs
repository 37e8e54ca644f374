//! Accounts and handler of `pool_set_metadata`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Transfer};
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions as _, StateWithExtensions,
};
use anchor_spl::token_2022::spl_token_2022::state::Mint as MintState;
use anchor_spl::token_2022_extensions::spl_token_metadata_interface::state::{
    Field, TokenMetadata,
};
use anchor_spl::token_2022_extensions::{
    TokenMetadataInitialize, TokenMetadataUpdateField, token_metadata_initialize,
    token_metadata_update_field,
};

use crate::constants::{MAX_TOKEN_NAME_LEN, MAX_TOKEN_SYMBOL_LEN, MAX_TOKEN_URI_LEN};
use crate::error::AllotError;
use crate::events::PoolMetadataSet;
use crate::state::Pool;

/// The token's name, symbol and URI, as wallets show them.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct TokenMetadataArgs {
    /// Its name (1 to [`MAX_TOKEN_NAME_LEN`] bytes), e.g. "Acme merchant shares".
    pub name: String,
    /// Its ticker (1 to [`MAX_TOKEN_SYMBOL_LEN`] bytes), e.g. "ACMES".
    pub symbol: String,
    /// A URI of its JSON description (image, description), at most [`MAX_TOKEN_URI_LEN`] bytes;
    /// empty for none.
    pub uri: String,
}

impl TokenMetadataArgs {
    /// Refuses an empty name or symbol, and any field longer than wallets display.
    pub fn validate(&self) -> Result<()> {
        require!(
            !self.name.trim().is_empty() && !self.symbol.trim().is_empty(),
            AllotError::TokenMetadataEmpty
        );
        require!(
            self.name.len() <= usize::from(MAX_TOKEN_NAME_LEN)
                && self.symbol.len() <= usize::from(MAX_TOKEN_SYMBOL_LEN)
                && self.uri.len() <= usize::from(MAX_TOKEN_URI_LEN),
            AllotError::TokenMetadataTooLong
        );
        Ok(())
    }
}

#[event_cpi]
#[derive(Accounts)]
pub struct PoolSetMetadata<'info> {
    /// The pool's operator; pays the rent of the mint's larger size.
    #[account(mut)]
    pub operator: Signer<'info>,
    /// The pool (mint authority and metadata update authority of its mint).
    #[account(has_one = operator @ AllotError::NotOperator, has_one = mint)]
    pub pool: Box<Account<'info, Pool>>,
    /// CHECK: the pool's mint (`has_one` above), which holds its own metadata (its metadata
    /// pointer names itself); read and written by the Token-2022 program.
    #[account(mut)]
    pub mint: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

/// Checks: name and symbol not empty; every field within what wallets display.
pub fn handler(ctx: Context<PoolSetMetadata>, metadata: TokenMetadataArgs) -> Result<()> {
    metadata.validate()?;
    let pool_key = ctx.accounts.pool.key();
    let mint_key = ctx.accounts.mint.key();
    let (current_len, existing) = {
        let data = ctx.accounts.mint.try_borrow_data()?;
        let mint = StateWithExtensions::<MintState>::unpack(&data)?;
        (
            data.len(),
            mint.get_variable_len_extension::<TokenMetadata>().ok(),
        )
    };
    let wanted = TokenMetadata {
        update_authority: Some(pool_key).try_into()?,
        mint: mint_key,
        name: metadata.name.clone(),
        symbol: metadata.symbol.clone(),
        uri: metadata.uri.clone(),
        additional_metadata: existing
            .as_ref()
            .map(|m| m.additional_metadata.clone())
            .unwrap_or_default(),
    };
    let old_tlv = existing
        .as_ref()
        .map_or(Ok(0), TokenMetadata::tlv_size_of)?;
    let new_len = current_len
        .checked_sub(old_tlv)
        .and_then(|len| len.checked_add(wanted.tlv_size_of().ok()?))
        .ok_or(AllotError::MathOverflow)?;
    top_up_rent(&ctx, new_len)?;

    let pool = &ctx.accounts.pool;
    let program_id = ctx.accounts.token_program.to_account_info();
    let mint = ctx.accounts.mint.to_account_info();
    let authority = pool.to_account_info();
    pool.with_signer(|seeds| -> Result<()> {
        if existing.is_none() {
            return token_metadata_initialize(
                CpiContext::new_with_signer(
                    program_id.key(),
                    TokenMetadataInitialize {
                        program_id: program_id.clone(),
                        metadata: mint.clone(),
                        update_authority: authority.clone(),
                        mint_authority: authority.clone(),
                        mint: mint.clone(),
                    },
                    seeds,
                ),
                metadata.name.clone(),
                metadata.symbol.clone(),
                metadata.uri.clone(),
            );
        }
        for (field, value) in [
            (Field::Name, &metadata.name),
            (Field::Symbol, &metadata.symbol),
            (Field::Uri, &metadata.uri),
        ] {
            token_metadata_update_field(
                CpiContext::new_with_signer(
                    program_id.key(),
                    TokenMetadataUpdateField {
                        program_id: program_id.clone(),
                        metadata: mint.clone(),
                        update_authority: authority.clone(),
                    },
                    seeds,
                ),
                field,
                value.clone(),
            )?;
        }
        Ok(())
    })?;
    emit_cpi!(PoolMetadataSet {
        pool: pool_key,
        mint: mint_key,
        name: metadata.name,
        symbol: metadata.symbol,
        uri: metadata.uri,
    });
    Ok(())
}

/// Moves from the operator to the mint what it lacks to be rent-exempt at `new_len` bytes.
fn top_up_rent(ctx: &Context<PoolSetMetadata>, new_len: usize) -> Result<()> {
    let needed = Rent::get()?
        .minimum_balance(new_len)
        .saturating_sub(ctx.accounts.mint.lamports());
    if needed == 0 {
        return Ok(());
    }
    system_program::transfer(
        CpiContext::new(
            ctx.accounts.system_program.key(),
            Transfer {
                from: ctx.accounts.operator.to_account_info(),
                to: ctx.accounts.mint.to_account_info(),
            },
        ),
        needed,
    )
}
