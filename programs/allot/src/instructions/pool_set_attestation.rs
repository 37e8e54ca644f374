//! Accounts and handler of `pool_set_attestation`. What it does, who signs it and its hazards are
//! said once, at its entry in `lib.rs` (the doc the IDL carries).

use anchor_lang::prelude::*;

use crate::constants::SAS_PROGRAM_ID;
use crate::error::AllotError;
use crate::events::PoolAttestationSet;
use crate::state::{AttestationEvidence, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct PoolSetAttestation<'info> {
    /// The pool's operator.
    pub operator: Signer<'info>,
    /// The pool whose evidence changes.
    #[account(mut, has_one = operator @ AllotError::NotOperator)]
    pub pool: Box<Account<'info, Pool>>,
    /// CHECK: the SAS schema (one account per version) whose attestations the pool accepts;
    /// owned by the SAS program, decoded with SAS's published layout by
    /// `AttestationEvidence::from_schema`. Absent: the pool stops accepting attestations.
    #[account(owner = SAS_PROGRAM_ID @ AllotError::AttestationWrongOwner)]
    pub schema: Option<UncheckedAccount<'info>>,
}

/// Checks: the schema and `field_index` come together; the schema is a SAS schema account whose
/// field number `field_index` is a `u64` after fixed-size fields only. Another schema or field
/// is accepted from now on (`accepted_at`); the same again keeps its first acceptance time.
pub fn handler(ctx: Context<PoolSetAttestation>, field_index: Option<u8>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &mut ctx.accounts.pool;
    let evidence = match (ctx.accounts.schema.as_ref(), field_index) {
        (Some(schema), Some(field_index)) => {
            let named = AttestationEvidence::from_schema(
                schema.key(),
                &schema.try_borrow_data()?,
                field_index,
                now,
            )?;
            // Naming the same schema and field again keeps when they were first accepted, so
            // holders allocated on them stay claw-backable.
            match pool.attestation {
                Some(current) if current.reads_as(&named) => Some(current),
                _ => Some(named),
            }
        }
        (None, None) => None,
        _ => return err!(AllotError::AttestationAccountsMismatch),
    };
    pool.attestation = evidence;
    emit_cpi!(PoolAttestationSet {
        pool: pool.key(),
        evidence,
    });
    Ok(())
}
