//! Accounts and handler of `clawback`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::constants::{SEED_ALLOCATION, SEED_CREDENTIAL};
use crate::error::AllotError;
use crate::events::ClawedBack;
use crate::evidence::{ListProof, PresentedEvidence, read_attestation, read_credential};
use crate::pool_tokens::PoolTokenAccounts;
use crate::state::{AllocationRecord, Pool, UserList, clawback_amount};

#[event_cpi]
#[derive(Accounts)]
pub struct Clawback<'info> {
    /// CHECK: the holder's wallet; only its key is used, to find its token account and record.
    pub user: UncheckedAccount<'info>,
    /// The pool recovering units.
    #[account(mut, has_one = mint, has_one = vault)]
    pub pool: Box<Account<'info, Pool>>,
    /// The pool's mint (its permanent delegate is the pool).
    #[account(mut)]
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's vault (receives the units in transferable pools).
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's associated token account for the pool mint.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = user,
        associated_token::token_program = token_program,
    )]
    pub user_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's allocation record: bounds what may be recovered.
    #[account(
        mut,
        seeds = [SEED_ALLOCATION, pool.key().as_ref(), user.key().as_ref()],
        bump = record.bump,
    )]
    pub record: Box<Account<'info, AllocationRecord>>,
    /// CHECK: evidence, option 1: the user's credential PDA in this pool (address checked by the
    /// seeds); read by `read_credential`: a credential (owner and discriminator checked), or an
    /// empty address once a verifier closed it, which counts as revoked for a holder last
    /// allocated on a credential.
    #[account(seeds = [SEED_CREDENTIAL, pool.key().as_ref(), user.key().as_ref()], bump)]
    pub credential: Option<UncheckedAccount<'info>>,
    /// Evidence, option 2: a user list of this pool stating a failing value (with `proof`), of a
    /// period that has begun. Written: a clawback seals its root.
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
}

/// Checks: pool not retired; exactly one piece of evidence, no older than the user's last allocation, showing that
/// the rule no longer holds (credential revoked, closed, expired or failing; or a list value
/// failing, in a list whose period has begun — the list is then sealed; or an attestation
/// closed, expired, unsigned or failing); something to recover.
pub fn handler(ctx: Context<Clawback>, proof: Option<ListProof>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.pool.check_not_retired()?;
    let pool_key = ctx.accounts.pool.key();
    let user = ctx.accounts.user.key();
    let record = &ctx.accounts.record;
    let credential = read_credential(ctx.accounts.credential.as_ref().map(|c| c.as_ref()))?;
    let (reason, evidence) = PresentedEvidence {
        credential: credential.as_ref().map(Option::as_ref),
        user_list: ctx.accounts.user_list.as_deref().map(|l| &**l),
        proof: proof.as_ref(),
        attestation: read_attestation(
            &ctx.accounts.pool,
            &user,
            ctx.accounts.attestation.as_ref().map(|a| a.as_ref()),
            ctx.accounts.attestation_issuer.as_ref().map(|a| a.as_ref()),
        )?,
    }
    .check_fails(&pool_key, &ctx.accounts.pool, &user, record, now)?;

    let amount = clawback_amount(record, ctx.accounts.user_token.amount)?;
    ctx.accounts.record.record_clawback(amount)?;
    let debt = ctx.accounts.record.debt;
    if let Some(list) = ctx.accounts.user_list.as_mut() {
        list.clawbacks = list
            .clawbacks
            .checked_add(1)
            .ok_or(AllotError::MathOverflow)?;
    }

    let tokens = PoolTokenAccounts::new(
        ctx.accounts.pool.to_account_info(),
        ctx.accounts.mint.to_account_info(),
        ctx.accounts.token_program.to_account_info(),
    );
    let user_token = ctx.accounts.user_token.to_account_info();
    let pool = &mut ctx.accounts.pool;
    let burned = !pool.transferable;
    if amount == 0 {
        // Nothing held: the clawback only records the debt.
    } else if burned {
        tokens.burn(pool, &user_token, amount)?;
    } else {
        tokens.transfer(
            pool,
            &user_token,
            &ctx.accounts.vault.to_account_info(),
            amount,
        )?;
    }
    pool.record_clawback(amount, burned)?;
    pool.invariant()?;

    emit_cpi!(ClawedBack {
        pool: pool_key,
        user,
        amount,
        reason,
        evidence,
        burned,
        pool_outstanding: pool.held_by_users(),
        debt,
    });
    Ok(())
}
