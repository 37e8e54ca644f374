//! `allot migrate`: the post-deploy step (`anchor migrate` runs `migrations/deploy.sh`, which
//! calls this). Creates every configured pool and its verifiers, or brings them to the files;
//! running it again sends nothing.

use std::path::PathBuf;

use allot_client::chain::Chain;
use anyhow::Result;
use serde_json::json;

use crate::commands::operator;
use crate::context::Context;
use crate::outcome::Outcome;
use crate::pool_file::PoolFile;

/// Applies every pool file; all files are read and checked before anything is sent.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, files: Vec<PathBuf>) -> Result<Outcome> {
    let pools = files
        .iter()
        .map(|path| PoolFile::read(path))
        .collect::<Result<Vec<_>>>()?;
    let mut outcome = Outcome::default();
    let mut results = Vec::new();
    for pool in &pools {
        let applied = operator::apply(ctx, pool).await?;
        outcome.lines.extend(applied.lines);
        results.push(applied.json);
    }
    outcome.json = json!({ "pools": results });
    Ok(outcome)
}
