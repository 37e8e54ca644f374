//! Accounts and handler of `pool_create`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::associated_token::{
    self, AssociatedToken, get_associated_token_address_with_program_id,
};
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_2022::spl_token_2022::extension::ExtensionType;
use anchor_spl::token_2022::spl_token_2022::state::Mint as MintState;
use anchor_spl::token_2022::{InitializeMint2, initialize_mint2};
use anchor_spl::token_2022_extensions::{
    MetadataPointerInitialize, NonTransferableMintInitialize, PausableInitialize,
    PermanentDelegateInitialize, metadata_pointer_initialize, non_transferable_mint_initialize,
    pausable_initialize, permanent_delegate_initialize,
};

use crate::constants::{MAX_DECIMALS, MIN_PERIOD_SECONDS, SEED_ESCROW, SEED_MINT, SEED_POOL};
use crate::error::AllotError;
use crate::events::PoolCreated;
use crate::pda_account::{create_pda_account, create_token_account_pda};
use crate::state::{AllocationRule, ExchangeConfig, ExchangeState, Pool, PoolTotals, ResourceKind};

/// Parameters of a new pool.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct PoolCreateArgs {
    /// Creator-chosen id (part of the pool's seeds).
    pub pool_id: u64,
    /// What the units represent.
    pub kind: ResourceKind,
    /// Decimals of the mint, at most 9.
    pub decimals: u8,
    /// Whether holders may transfer units to each other.
    pub transferable: bool,
    /// Whether the operator may pause every movement of the units, holders' own transfers
    /// included (Token-2022's Pausable extension, the pool its authority; transferable pools
    /// only: a non-transferable pool's units move only through the program, which
    /// `pool_set_paused` already stops). Fixed for the pool's life.
    pub pausable: bool,
    /// Most units the pool may ever mint.
    pub supply_cap: u64,
    /// Length of one allocation period in seconds (fixed for the pool's life).
    pub period_seconds: i64,
    /// The allocation rule.
    pub rule: AllocationRule,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: PoolCreateArgs)]
pub struct PoolCreate<'info> {
    /// Pays for the accounts and becomes the pool's first operator.
    #[account(mut)]
    pub creator: Signer<'info>,
    /// The new pool.
    #[account(
        init,
        payer = creator,
        space = 8 + Pool::INIT_SPACE,
        seeds = [SEED_POOL, creator.key().as_ref(), &args.pool_id.to_le_bytes()],
        bump,
    )]
    pub pool: Box<Account<'info, Pool>>,
    /// CHECK: the pool's mint PDA, created and initialised by this instruction.
    #[account(mut, seeds = [SEED_MINT, pool.key().as_ref()], bump)]
    pub mint: UncheckedAccount<'info>,
    /// CHECK: the pool's vault: the pool's associated token account, created by this instruction
    /// (the ATA program checks the address).
    #[account(
        mut,
        address = get_associated_token_address_with_program_id(&pool.key(), &mint.key(), &token_program.key()),
    )]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: the pool's escrow token account PDA for exchange requests, created by this
    /// instruction when the pool is transferable (non-transferable units cannot be escrowed).
    #[account(mut, seeds = [SEED_ESCROW, pool.key().as_ref()], bump)]
    pub escrow: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token2022>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

impl PoolCreate<'_> {
    fn validate(&self, args: &PoolCreateArgs) -> Result<()> {
        args.rule.validate()?;
        require!(args.decimals <= MAX_DECIMALS, AllotError::TooManyDecimals);
        require!(
            args.period_seconds >= MIN_PERIOD_SECONDS,
            AllotError::PeriodTooShort
        );
        require!(
            args.supply_cap >= args.rule.amount,
            AllotError::SupplyCapTooSmall
        );
        require!(
            args.transferable || !args.pausable,
            AllotError::PausableNeedsTransferable
        );
        Ok(())
    }
}

/// Checks (`validate`): the rule is valid; at most `MAX_DECIMALS` decimals; a period of at least
/// `MIN_PERIOD_SECONDS`; a supply cap of at least the rule's amount; pausable only if
/// transferable.
#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<PoolCreate>, args: PoolCreateArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    ctx.accounts.pool.set_inner(Pool {
        bump: ctx.bumps.pool,
        mint_bump: ctx.bumps.mint,
        creator: ctx.accounts.creator.key(),
        pool_id: args.pool_id,
        operator: ctx.accounts.creator.key(),
        pending_operator: None,
        kind: args.kind,
        mint: ctx.accounts.mint.key(),
        vault: ctx.accounts.vault.key(),
        decimals: args.decimals,
        transferable: args.transferable,
        paused: false,
        rule: args.rule,
        period_origin: now,
        period_seconds: args.period_seconds,
        supply_cap: args.supply_cap,
        totals: PoolTotals::default(),
        active_verifiers: 0,
        escrow: ctx.accounts.escrow.key(),
        escrow_bump: ctx.bumps.escrow,
        exchange: ExchangeConfig::closed(ctx.accounts.creator.key()),
        exchange_state: ExchangeState::default(),
        shard_count: 0,
        attestation: None,
        retired_at: 0,
    });
    create_mint(ctx.accounts, ctx.bumps.mint, &pool_key, &args)?;
    associated_token::create(CpiContext::new(
        ctx.accounts.associated_token_program.key(),
        associated_token::Create {
            payer: ctx.accounts.creator.to_account_info(),
            associated_token: ctx.accounts.vault.to_account_info(),
            authority: ctx.accounts.pool.to_account_info(),
            mint: ctx.accounts.mint.to_account_info(),
            system_program: ctx.accounts.system_program.to_account_info(),
            token_program: ctx.accounts.token_program.to_account_info(),
        },
    ))?;
    if args.transferable {
        create_escrow(ctx.accounts, ctx.bumps.escrow, &pool_key)?;
    }
    let pool = &ctx.accounts.pool;
    pool.invariant()?;
    emit_cpi!(PoolCreated {
        pool: pool_key,
        creator: pool.creator,
        pool_id: pool.pool_id,
        operator: pool.operator,
        kind: pool.kind,
        mint: pool.mint,
        vault: pool.vault,
        decimals: pool.decimals,
        transferable: pool.transferable,
        pausable: args.pausable,
        supply_cap: pool.supply_cap,
        rule: pool.rule,
        period_origin: pool.period_origin,
        period_seconds: pool.period_seconds,
    });
    Ok(())
}

/// Allocates the mint PDA with its extensions and initialises it.
fn create_mint(
    accounts: &PoolCreate,
    mint_bump: u8,
    pool: &Pubkey,
    args: &PoolCreateArgs,
) -> Result<()> {
    let extensions = mint_extensions(args);
    let space = ExtensionType::try_calculate_account_len::<MintState>(&extensions)?;
    let bump = [mint_bump];
    let mint_seeds: &[&[u8]] = &[SEED_MINT, pool.as_ref(), &bump];
    let token_program = accounts.token_program.key();
    let mint = accounts.mint.to_account_info();
    create_pda_account(
        &accounts.creator.to_account_info(),
        &mint,
        &accounts.system_program.to_account_info(),
        space,
        &token_program,
        &[mint_seeds],
    )?;
    permanent_delegate_initialize(
        CpiContext::new(
            token_program,
            PermanentDelegateInitialize {
                token_program_id: accounts.token_program.to_account_info(),
                mint: mint.clone(),
            },
        ),
        pool,
    )?;
    metadata_pointer_initialize(
        CpiContext::new(
            token_program,
            MetadataPointerInitialize {
                token_program_id: accounts.token_program.to_account_info(),
                mint: mint.clone(),
            },
        ),
        Some(*pool),
        Some(mint.key()),
    )?;
    if !args.transferable {
        non_transferable_mint_initialize(CpiContext::new(
            token_program,
            NonTransferableMintInitialize {
                token_program_id: accounts.token_program.to_account_info(),
                mint: mint.clone(),
            },
        ))?;
    }
    if args.pausable {
        pausable_initialize(
            CpiContext::new(
                token_program,
                PausableInitialize {
                    token_program_id: accounts.token_program.to_account_info(),
                    mint: mint.clone(),
                },
            ),
            *pool,
        )?;
    }
    initialize_mint2(
        CpiContext::new(token_program, InitializeMint2 { mint }),
        accounts.pool.decimals,
        pool,
        None,
    )
}

/// The Token-2022 extensions of a pool's mint: the pool as permanent delegate (clawback); a
/// metadata pointer naming the mint itself (`pool_set_metadata` writes the token's name there,
/// wallets read it through the pointer); NonTransferable unless `transferable`; Pausable (the
/// pool its authority) when `pausable`.
fn mint_extensions(args: &PoolCreateArgs) -> Vec<ExtensionType> {
    let mut extensions = vec![
        ExtensionType::PermanentDelegate,
        ExtensionType::MetadataPointer,
    ];
    if !args.transferable {
        extensions.push(ExtensionType::NonTransferable);
    }
    if args.pausable {
        extensions.push(ExtensionType::Pausable);
    }
    extensions
}

/// Creates the escrow token account PDA (owner: the pool) for the pool's mint.
fn create_escrow(accounts: &PoolCreate, escrow_bump: u8, pool: &Pubkey) -> Result<()> {
    let bump = [escrow_bump];
    let seeds: &[&[u8]] = &[SEED_ESCROW, pool.as_ref(), &bump];
    create_token_account_pda(
        &accounts.creator.to_account_info(),
        &accounts.escrow.to_account_info(),
        &accounts.mint.to_account_info(),
        &accounts.pool.to_account_info(),
        &accounts.system_program.to_account_info(),
        &accounts.token_program.to_account_info(),
        &[seeds],
    )
}
