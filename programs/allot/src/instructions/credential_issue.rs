//! Accounts and handler of `credential_issue`. What it does, who signs it and its hazards are said
//! once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::{INDICATOR_COUNT, SEED_CREDENTIAL, SEED_VERIFIER};
use crate::error::AllotError;
use crate::events::CredentialIssued;
use crate::pda_account::{load_or_create, store};
use crate::state::{Credential, Pool, Verifier};

/// What the verifier attests.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct CredentialIssueArgs {
    /// The allocation period the indicators cover (not later than the current one).
    pub period: u64,
    /// Indicator values; the pool's rule reads one slot.
    pub indicators: [u64; INDICATOR_COUNT],
    /// Unix time after which the credential no longer supports holdings.
    pub expires_at: i64,
    /// Hash of the off-chain verification report.
    pub evidence_hash: [u8; 32],
}

#[event_cpi]
#[derive(Accounts)]
pub struct CredentialIssue<'info> {
    /// The verifier's signing key; pays the credential's rent when it is new.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The pool the credential is for.
    pub pool: Box<Account<'info, Pool>>,
    /// The signer's authorisation for this pool; must be active.
    #[account(
        mut,
        seeds = [SEED_VERIFIER, pool.key().as_ref(), authority.key().as_ref()],
        bump = verifier.bump,
        has_one = pool,
        constraint = verifier.active @ AllotError::VerifierInactive,
    )]
    pub verifier: Box<Account<'info, Verifier>>,
    /// CHECK: the user's wallet; only its key is used (as seed and stored value).
    pub user: UncheckedAccount<'info>,
    /// CHECK: the user's credential PDA in this pool (address checked by the seeds). Created on
    /// first issue by `pda_account::load_or_create` (tolerates a pre-funded address), then owner-
    /// and discriminator-checked when loaded.
    #[account(
        mut,
        seeds = [SEED_CREDENTIAL, pool.key().as_ref(), user.key().as_ref()],
        bump,
    )]
    pub credential: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Checks: expiry in the future; period not in the future; period never moves backwards.
pub fn handler(ctx: Context<CredentialIssue>, args: CredentialIssueArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    require!(args.expires_at > now, AllotError::ExpiryInPast);
    let current_period = ctx.accounts.pool.period_at(now)?;
    require!(args.period <= current_period, AllotError::PeriodInFuture);
    let pool_key = ctx.accounts.pool.key();
    let user = ctx.accounts.user.key();
    let bump = [ctx.bumps.credential];
    let seeds: &[&[u8]] = &[SEED_CREDENTIAL, pool_key.as_ref(), user.as_ref(), &bump];
    let credential: Credential = load_or_create(
        &ctx.accounts.credential,
        &ctx.accounts.authority,
        &ctx.accounts.system_program,
        8 + Credential::INIT_SPACE,
        &[seeds],
    )?;
    let is_new = credential.pool == Pubkey::default();
    require!(
        is_new || args.period >= credential.period,
        AllotError::CredentialPeriodRegressed
    );
    let authority = ctx.accounts.authority.key();
    let rent_payer = if is_new {
        authority
    } else {
        credential.rent_payer
    };
    let credential = Credential {
        bump: ctx.bumps.credential,
        pool: pool_key,
        user,
        verifier: authority,
        period: args.period,
        indicators: args.indicators,
        issued_at: now,
        expires_at: args.expires_at,
        evidence_hash: args.evidence_hash,
        revoked: false,
        rent_payer,
    };
    store(&ctx.accounts.credential, &credential)?;
    let verifier = &mut ctx.accounts.verifier;
    verifier.credentials_issued = verifier
        .credentials_issued
        .checked_add(1)
        .ok_or(AllotError::MathOverflow)?;
    emit_cpi!(CredentialIssued {
        pool: pool_key,
        user,
        verifier: authority,
        period: args.period,
        indicators: args.indicators,
        issued_at: now,
        expires_at: args.expires_at,
        evidence_hash: args.evidence_hash,
    });
    Ok(())
}
