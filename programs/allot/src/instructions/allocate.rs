//! Accounts and handler of `allocate`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::allocation::RecordAccounts;
use crate::constants::{SEED_ALLOCATION, SEED_CREDENTIAL};
use crate::error::AllotError;
use crate::events::Allocated;
use crate::evidence::{ListProof, PresentedEvidence, read_attestation};
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{Credential, Pool, UserList};

#[event_cpi]
#[derive(Accounts)]
pub struct Allocate<'info> {
    /// Whoever sends the allocation (the user, or the operator's crank); pays for the user's token
    /// account and allocation record when they are new, so the user needs no SOL.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: the user's wallet; receives the units in its associated token account. Not an
    /// allot account: with the pool as the user, its associated account is the pool's vault,
    /// and units booked as held would sit there to be allocated again (shards are refused
    /// alike).
    #[account(constraint = *user.owner != crate::ID @ AllotError::UserIsProgramAccount)]
    pub user: UncheckedAccount<'info>,
    /// The pool allocating.
    #[account(mut, has_one = mint, has_one = vault)]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint.
    #[account(mut)]
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's vault (source of units in transferable pools).
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's associated token account for the pool mint, created if missing.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = user,
        associated_token::token_program = token_program,
    )]
    pub user_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the user's allocation record PDA (address checked by the seeds). Created on the
    /// first allocation by `pda_account::load_or_create`, which tolerates a pre-funded address,
    /// then owner- and discriminator-checked when loaded.
    #[account(
        mut,
        seeds = [SEED_ALLOCATION, pool.key().as_ref(), user.key().as_ref()],
        bump,
    )]
    pub record: UncheckedAccount<'info>,
    /// Evidence, option 1: the user's credential in this pool.
    #[account(
        seeds = [SEED_CREDENTIAL, pool.key().as_ref(), user.key().as_ref()],
        bump = credential.bump,
    )]
    pub credential: Option<Box<Account<'info, Credential>>>,
    /// Evidence, option 2: this pool's user list for the current period (with `proof` in the args).
    #[account(mut, has_one = pool)]
    pub user_list: Option<Box<Account<'info, UserList>>>,
    /// CHECK: evidence, option 3: the user's SAS attestation under the pool's issuer and schema
    /// (owner, address, layout, issuer and schema checked by `AttestationEvidence::read`).
    pub attestation: Option<UncheckedAccount<'info>>,
    /// CHECK: the SAS issuer (credential account) the pool names, whose authorised signers the
    /// attestation's signer must be among (address and owner checked by
    /// `AttestationEvidence::read`); passed with `attestation`.
    pub attestation_issuer: Option<UncheckedAccount<'info>>,
    pub token_program: Program<'info, Token2022>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

/// Checks: pool not retired nor paused; exactly one piece of evidence (a credential, a user list plus
/// `proof`, or a SAS attestation with its issuer) and it meets the rule for the current period; no allocation yet in this period;
/// enough units in the vault (transferable) or under the supply cap (non-transferable). A user
/// in debt (`AllocationRecord::debt`) receives the amount less what repays it.
pub fn handler(ctx: Context<Allocate>, proof: Option<ListProof>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let user = ctx.accounts.user.key();
    ctx.accounts.pool.check_not_retired()?;
    require!(!ctx.accounts.pool.paused, AllotError::PoolPaused);
    let period = ctx.accounts.pool.period_at(now)?;
    let rule = ctx.accounts.pool.rule;

    let evidence = PresentedEvidence {
        credential: ctx.accounts.credential.as_deref().map(|c| Some(&**c)),
        user_list: ctx.accounts.user_list.as_deref().map(|l| &**l),
        proof: proof.as_ref(),
        attestation: read_attestation(
            &ctx.accounts.pool,
            &user,
            ctx.accounts.attestation.as_ref().map(|a| a.as_ref()),
            ctx.accounts.attestation_issuer.as_ref().map(|a| a.as_ref()),
        )?,
    }
    .check_supports_allocation(&pool_key, &user, &rule, period, now)?;
    if let Some(list) = ctx.accounts.user_list.as_mut() {
        // The first use seals the list's root (`user_list_publish` refuses to replace it).
        list.allocations = list
            .allocations
            .checked_add(1)
            .ok_or(AllotError::MathOverflow)?;
    }
    let (record, repaid) = RecordAccounts {
        record: &ctx.accounts.record.to_account_info(),
        pool: &pool_key,
        user: &user,
        bump: ctx.bumps.record,
        payer: &ctx.accounts.payer.to_account_info(),
        system_program: &ctx.accounts.system_program.to_account_info(),
    }
    .record_allocation(period, rule.amount, now, evidence)?;

    let tokens = PoolTokenAccounts::new(
        ctx.accounts.pool.to_account_info(),
        ctx.accounts.mint.to_account_info(),
        ctx.accounts.token_program.to_account_info(),
    );
    let user_token = ctx.accounts.user_token.to_account_info();
    let pool = &mut ctx.accounts.pool;
    // The units that repay the user's debt stay with the pool: never moved (or minted).
    let delivered = rule
        .amount
        .checked_sub(repaid)
        .ok_or(AllotError::InvariantViolated)?;
    if pool.transferable {
        require!(
            ctx.accounts.vault.amount >= rule.amount,
            AllotError::VaultInsufficient
        );
        if delivered > 0 {
            tokens.transfer(
                pool,
                &ctx.accounts.vault.to_account_info(),
                &user_token,
                delivered,
            )?;
        }
    } else {
        // The supply cap is checked for the whole amount, as the clients ask.
        pool.minted_after(rule.amount)?;
        pool.record_mint(delivered)?;
        if delivered > 0 {
            tokens.mint_to(pool, &user_token, delivered)?;
        }
    }
    pool.record_allocation(rule.amount)?;
    pool.record_clawback(repaid, false)?;
    pool.invariant()?;

    emit_cpi!(Allocated {
        pool: pool_key,
        user,
        period,
        amount: rule.amount,
        evidence,
        user_allocated: record.allocated,
        pool_outstanding: pool.held_by_users(),
        shard: None,
        debt_repaid: repaid,
    });
    Ok(())
}
