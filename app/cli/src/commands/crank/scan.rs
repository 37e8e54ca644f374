//! The crank's first stage: read from the chain everything the crank decides on — the pool, its
//! users (credentials, SAS attestations and the operator's list), their records and holdings,
//! the units this part may hand out, and the lookup table.

use std::collections::BTreeMap;
use std::path::Path;

use allot::state::{AttestationEvidence, Pool, UserList};
use allot_client::chain::Chain;
use allot_client::{accounts, pdas};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use solana_sdk::message::AddressLookupTableAccount;

use super::UserView;
use crate::args::CrankArgs;
use crate::context::Context;
use crate::lookup_table;
use crate::records::ProofsFile;
use crate::shard_plan::{self, Supply};

/// What the crank read from the chain.
#[derive(Clone, Debug)]
pub struct Scan {
    /// The pool's address.
    pub address: Pubkey,
    /// The pool.
    pub pool: Pool,
    /// The chain's unix time.
    pub now: i64,
    /// The pool's period at `now`.
    pub period: u64,
    /// This part's users.
    pub users: BTreeMap<Pubkey, UserView>,
    /// SAS attestation accounts under the pool's schema that were left out, with why.
    pub skipped_attestations: Vec<(Pubkey, String)>,
    /// Whether the user list was already used by an allocation (which seals its root); only then
    /// may list allocations draw on shards.
    pub list_sealed: bool,
    /// The units this part may hand out: its share of the vault, and its shards.
    pub supply: Supply,
    /// The `--lookup-table`, if any.
    pub tables: Vec<AddressLookupTableAccount>,
}

/// Reads the pool of `args`, this part's users and what it may hand out.
pub async fn scan<C: Chain>(ctx: &Context<'_, C>, args: &CrankArgs) -> Result<Scan> {
    let address = args.pool.pool;
    let pool = ctx.pool(&address).await?;
    let (now, period) = ctx.now_and_period(&pool).await?;
    let (mut users, list_sealed) = users(ctx.chain, &address, args.proofs.as_deref()).await?;
    let skipped_attestations = match &pool.attestation {
        Some(accepted) => add_attestations(ctx.chain, accepted, &mut users).await?,
        None => Vec::new(),
    };
    add_records(ctx.chain, &address, &mut users).await?;
    if let Some(accepted) = &pool.attestation {
        mark_unreadable_attestations(accepted, &skipped_attestations, &mut users);
    }
    users.retain(|user, _| args.partition.has_user(user));
    read_holdings(ctx.chain, &pool.mint, &mut users).await?;
    let supply = supply(ctx.chain, &address, &pool, args).await?;
    let tables = match &args.lookup_table {
        Some(table) => vec![lookup_table::load(ctx.chain, table).await?],
        None => Vec::new(),
    };
    Ok(Scan {
        address,
        pool,
        now,
        period,
        users,
        skipped_attestations,
        list_sealed,
        supply,
        tables,
    })
}

/// The pool's users: those with a credential and, with `proofs`, those in the operator's list;
/// and whether that list is sealed.
async fn users(
    chain: &impl Chain,
    address: &Pubkey,
    proofs: Option<&Path>,
) -> Result<(BTreeMap<Pubkey, UserView>, bool)> {
    let mut users: BTreeMap<Pubkey, UserView> = BTreeMap::new();
    for (_, credential) in accounts::credentials_of_pool(chain, address).await? {
        let user = credential.user;
        users.entry(user).or_default().credential = Some(credential);
    }
    let Some(path) = proofs else {
        return Ok((users, false));
    };
    let file = ProofsFile::read(path, address)?;
    let list = accounts::fetch::<UserList>(chain, pdas::user_list(address, file.period))
        .await?
        .with_context(|| {
            format!(
                "the list of period {} in {} is not published",
                file.period,
                path.display()
            )
        })?;
    ensure!(
        hex::encode(list.root) == file.root,
        "{} does not match the root published for period {}",
        path.display(),
        file.period
    );
    for user in file.users()? {
        let proof = file.proof_of(&user)?.expect("listed users have proofs");
        users.entry(user).or_default().listed = Some((file.period, proof));
    }
    Ok((users, list.is_sealed()))
}

/// Adds the users attested under the pool's SAS settings `accepted`, with what their attestation
/// states; returns the attestation accounts left out and why.
async fn add_attestations(
    chain: &impl Chain,
    accepted: &AttestationEvidence,
    users: &mut BTreeMap<Pubkey, UserView>,
) -> Result<Vec<(Pubkey, String)>> {
    let found = allot_client::attestation::of_schema(chain, accepted).await?;
    for (user, view) in found.attestations {
        users.entry(user).or_default().attestation = Some(view);
    }
    Ok(found.skipped)
}

/// Fills in every user's allocation record from the pool's records (one `getProgramAccounts`;
/// a user without one has none), adding the holders no credential, list or attestation names:
/// those whose credential or attestation was closed.
async fn add_records(
    chain: &impl Chain,
    address: &Pubkey,
    users: &mut BTreeMap<Pubkey, UserView>,
) -> Result<()> {
    for (_, record) in accounts::records_of_pool(chain, address).await? {
        let user = record.user;
        users.entry(user).or_default().record = Some(record);
    }
    Ok(())
}

/// Marks the users whose attestation address holds an account the scan left out (it did not
/// decode, or SAS does not own it): their attestation is not closed.
fn mark_unreadable_attestations(
    accepted: &AttestationEvidence,
    skipped: &[(Pubkey, String)],
    users: &mut BTreeMap<Pubkey, UserView>,
) {
    let skipped: std::collections::BTreeSet<Pubkey> =
        skipped.iter().map(|(address, _)| *address).collect();
    for (user, view) in users.iter_mut() {
        let address = pdas::attestation(&accepted.issuer, &accepted.schema, user);
        view.attestation_unreadable = skipped.contains(&address);
    }
}

/// Fills in each user's holding of `mint`.
async fn read_holdings(
    chain: &impl Chain,
    mint: &Pubkey,
    users: &mut BTreeMap<Pubkey, UserView>,
) -> Result<()> {
    let keys: Vec<Pubkey> = users.keys().copied().collect();
    let tokens = chain
        .accounts(keys.iter().map(|u| pdas::token_account(u, mint)).collect())
        .await?;
    for (view, token) in users.values_mut().zip(tokens) {
        let token = token.filter(|a| !accounts::is_prefunded(a));
        view.has_token_account = token.is_some();
        view.holding = token.map_or(0, |a| {
            allot_client::token::amount_base_units(&a.data).unwrap_or(0)
        });
    }
    Ok(())
}

/// What this part may hand out: its share of the vault (or, in a non-transferable pool, of what
/// the supply cap leaves) and its shards' budgets (none with `--no-shards`).
async fn supply(
    chain: &impl Chain,
    address: &Pubkey,
    pool: &Pool,
    args: &CrankArgs,
) -> Result<Supply> {
    let vault = if pool.transferable {
        chain.account(pool.vault).await?.map_or(0, |a| {
            allot_client::token::amount_base_units(&a.data).unwrap_or(0)
        })
    } else {
        pool.supply_cap.saturating_sub(pool.totals.minted)
    };
    let shards = if args.no_shards {
        Vec::new()
    } else {
        let mut budgets = shard_plan::load_budgets(chain, address, pool).await?;
        budgets.retain(|b| args.partition.has_shard(b.index));
        budgets
    };
    // Cranks in N partitions share the vault: each plans with its share of it.
    let vault = vault / u64::from(args.partition.count);
    Ok(Supply { vault, shards })
}
