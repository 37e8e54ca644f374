//! `allot operator accept-attestations` and `refuse-attestations`: which attestations of the
//! Solana Attestation Service a pool takes as evidence, beside credentials and user lists.

use allot::constants::SAS_PROGRAM_ID;
use allot::state::AttestationEvidence;
use allot_client::chain::Chain;
use allot_client::errors::refusal;
use allot_client::instructions;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use serde_json::json;

use crate::context::Context;
use crate::outcome::Outcome;

/// Makes the pool accept attestations of the SAS `schema`, reading its field number `field`;
/// the schema is read and checked first, as the program will. Another schema or field the pool
/// accepts now is replaced only with `replace`.
pub async fn accept<C: Chain>(
    ctx: &Context<'_, C>,
    pool: Pubkey,
    schema: Pubkey,
    field: u8,
    replace: bool,
) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    let account = ctx
        .chain
        .account(schema)
        .await?
        .with_context(|| format!("no SAS schema at {schema}"))?;
    ensure!(
        account.owner == SAS_PROGRAM_ID,
        "{schema} is not a SAS schema: it is owned by {}, not the Solana Attestation Service ({SAS_PROGRAM_ID})",
        account.owner
    );
    let (now, _) = ctx.now_and_period(&state).await?;
    let evidence =
        AttestationEvidence::from_schema(schema, &account.data, field, now).map_err(|e| {
            anyhow::anyhow!(
                "the program would refuse field {field} of schema {schema}: {}",
                refusal(&e)
            )
        })?;
    if let Some(current) = state
        .attestation
        .filter(|current| !current.reads_as(&evidence))
    {
        ensure!(
            replace,
            "pool {pool} accepts attestations of schema {} (reading byte {}) now; holders allocated on them could no longer be clawed back on an attestation until allocated again: pass --replace to replace it",
            current.schema,
            current.value_offset
        );
    }
    ctx.ensure_can_pay(1, &[]).await?;
    let ix = instructions::pool_set_attestation(&ctx.me(), &pool, Some((schema, field)));
    let signature = ctx.send(&[], &[ix]).await?;
    Ok(Outcome::new(json!({
        "pool": pool.to_string(),
        "issuer": evidence.issuer.to_string(),
        "schema": schema.to_string(),
        "schema_version": evidence.schema_version,
        "field": field,
        "value_offset": evidence.value_offset,
        "signature": signature.to_string(),
    }))
    .line(format!(
        "pool {pool} accepts attestations of issuer {} under schema {schema} (version {}), reading field {field} ({signature})",
        evidence.issuer, evidence.schema_version
    )))
}

/// Makes the pool accept no attestations any more.
pub async fn refuse<C: Chain>(ctx: &Context<'_, C>, pool: Pubkey) -> Result<Outcome> {
    let state = ctx.operated_pool(&pool).await?;
    ensure!(
        state.attestation.is_some(),
        "pool {pool} accepts no attestations already"
    );
    ctx.ensure_can_pay(1, &[]).await?;
    let ix = instructions::pool_set_attestation(&ctx.me(), &pool, None);
    let signature = ctx.send(&[], &[ix]).await?;
    Ok(
        Outcome::new(json!({"pool": pool.to_string(), "signature": signature.to_string()})).line(
            format!(
                "pool {pool} accepts no attestations any more; holders allocated on them cannot be clawed back on them ({signature})"
            ),
        ),
    )
}
