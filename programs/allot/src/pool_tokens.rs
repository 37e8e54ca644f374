//! Token-2022 movements the pool signs for: as mint authority, vault owner and permanent delegate.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::{self, BurnChecked, MintToChecked, TransferChecked};

use crate::state::{AllocationShard, Pool};

/// The token accounts and programs a pool movement needs.
pub struct PoolTokenAccounts<'info> {
    /// The pool PDA (signs every movement).
    pool: AccountInfo<'info>,
    /// The pool's mint.
    mint: AccountInfo<'info>,
    /// The Token-2022 program.
    token_program: AccountInfo<'info>,
}

impl<'info> PoolTokenAccounts<'info> {
    /// The pool, its mint and the token program, as every handler that moves units holds them.
    pub fn new(
        pool: AccountInfo<'info>,
        mint: AccountInfo<'info>,
        token_program: AccountInfo<'info>,
    ) -> Self {
        Self {
            pool,
            mint,
            token_program,
        }
    }

    /// Mints `amount` new units into `to`, as mint authority.
    pub fn mint_to(&self, pool: &Pool, to: &AccountInfo<'info>, amount: u64) -> Result<()> {
        pool.with_signer(|seeds| {
            token_2022::mint_to_checked(
                CpiContext::new_with_signer(
                    self.token_program.key(),
                    MintToChecked {
                        mint: self.mint.clone(),
                        to: to.clone(),
                        authority: self.pool.clone(),
                    },
                    seeds,
                ),
                amount,
                pool.decimals,
            )
        })
    }

    /// Moves `amount` from `from` to `to`. The pool signs as owner of the vault or, for a user's
    /// account, as the mint's permanent delegate.
    pub fn transfer(
        &self,
        pool: &Pool,
        from: &AccountInfo<'info>,
        to: &AccountInfo<'info>,
        amount: u64,
    ) -> Result<()> {
        pool.with_signer(|seeds| {
            self.transfer_signed(&self.pool, seeds, from, to, amount, pool.decimals)
        })
    }

    /// Burns `amount` from `from`, as the mint's permanent delegate.
    pub fn burn(&self, pool: &Pool, from: &AccountInfo<'info>, amount: u64) -> Result<()> {
        pool.with_signer(|seeds| {
            token_2022::burn_checked(
                CpiContext::new_with_signer(
                    self.token_program.key(),
                    BurnChecked {
                        mint: self.mint.clone(),
                        from: from.clone(),
                        authority: self.pool.clone(),
                    },
                    seeds,
                ),
                amount,
                pool.decimals,
            )
        })
    }

    /// Moves `amount` out of a shard's vault `from` to `to`; the shard signs as the vault's
    /// owner (the pool account is not needed, so it need not be written).
    pub fn transfer_from_shard(
        &self,
        pool: &Pool,
        shard: &AllocationShard,
        shard_info: &AccountInfo<'info>,
        from: &AccountInfo<'info>,
        to: &AccountInfo<'info>,
        amount: u64,
    ) -> Result<()> {
        shard.with_signer(|seeds| {
            self.transfer_signed(shard_info, seeds, from, to, amount, pool.decimals)
        })
    }

    /// `transfer_checked` of `amount` from `from` to `to`, `authority` signing with `seeds`.
    fn transfer_signed(
        &self,
        authority: &AccountInfo<'info>,
        seeds: &[&[&[u8]]],
        from: &AccountInfo<'info>,
        to: &AccountInfo<'info>,
        amount: u64,
        decimals: u8,
    ) -> Result<()> {
        token_2022::transfer_checked(
            CpiContext::new_with_signer(
                self.token_program.key(),
                TransferChecked {
                    from: from.clone(),
                    mint: self.mint.clone(),
                    to: to.clone(),
                    authority: authority.clone(),
                },
                seeds,
            ),
            amount,
            decimals,
        )
    }
}
