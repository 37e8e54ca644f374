//! The command line, as clap reads it. Global options follow the Solana CLI: `--url` (a URL or a
//! moniker), `--keypair`, `--commitment`, `--config` and `--output json`.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::decimal::TokenAmount;

/// `allot`: run a pool of virtual resources on Solana — operators, verifiers, users and cranks.
#[derive(Debug, Parser)]
#[command(name = "allot", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes (each also readable from the environment).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Solana CLI config file [default: ~/.config/solana/cli/config.yml when it exists].
    #[arg(long, short = 'C', global = true, env = "ALLOT_CONFIG")]
    pub config: Option<PathBuf>,
    /// JSON-RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (or l, d, t, m).
    #[arg(long, short = 'u', global = true, env = "ALLOT_URL")]
    pub url: Option<String>,
    /// Keypair file that signs (and pays) [default: the config's keypair, or ~/.config/solana/id.json].
    #[arg(long, short = 'k', global = true, env = "ALLOT_KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// Commitment to read and confirm at: processed, confirmed or finalized.
    #[arg(long, global = true, env = "ALLOT_COMMITMENT")]
    pub commitment: Option<String>,
    /// Priority fee of every transaction sent, in micro-lamports per compute unit (as the Solana
    /// CLI names it); the compute-unit limit is always measured by simulating the transaction.
    #[arg(
        long,
        global = true,
        value_name = "MICRO_LAMPORTS",
        env = "ALLOT_WITH_COMPUTE_UNIT_PRICE"
    )]
    pub with_compute_unit_price: Option<u64>,
    /// How results are printed.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Display)]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Display,
    /// One JSON document, for scripts.
    Json,
}

/// The subcommands, grouped by role.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Operator: create and run pools.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Verifier: write users' credentials.
    #[command(subcommand)]
    Verifier(VerifierCommand),
    /// User: holdings, allocation and exchange.
    #[command(subcommand)]
    User(UserCommand),
    /// Settlement authority: settle or reject exchange requests by hand.
    #[command(subcommand)]
    Settlement(SettlementCommand),
    /// Allocate to every eligible user and claw back from every ineligible holder.
    Crank(CrankArgs),
    /// Post-deploy step: create the configured pools and verifiers (idempotent).
    Migrate(MigrateArgs),
    /// Address lookup tables that let the crank fit more users per transaction.
    #[command(subcommand)]
    LookupTable(LookupTableCommand),
    /// Print the keypair's public key (as `solana address` does), e.g. to authorise it as a
    /// verifier: `VERIFIER=$(allot address --keypair verifier.json)`.
    Address,
    /// Print a shell completion script (e.g. `allot completions bash > /etc/bash_completion.d/allot`).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Whether the command only reads the chain (it signs and pays for nothing, so it runs
    /// without a keypair): `operator show`, `user show --user`, `settlement pending` and
    /// `crank --dry-run`.
    pub fn is_read_only(&self) -> bool {
        match self {
            Command::Operator(OperatorCommand::Show(_)) => true,
            Command::User(UserCommand::Show { user, .. }) => user.is_some(),
            Command::Settlement(SettlementCommand::Pending(_)) => true,
            Command::Crank(args) => args.dry_run,
            Command::Completions { .. } => true,
            _ => false,
        }
    }
}

/// Lookup-table subcommands.
#[derive(Debug, Subcommand)]
pub enum LookupTableCommand {
    /// Create a table of the pool's shared accounts (owned and paid by the keypair).
    Create(PoolArg),
}

/// `--pool <ADDRESS>`.
#[derive(Debug, Args)]
pub struct PoolArg {
    /// The pool's address.
    #[arg(long)]
    pub pool: Pubkey,
}

/// Operator subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create a pool from a TOML file (rule, exchange conditions, kind, transferability).
    CreatePool {
        /// The pool file (see migrations/pools/example.toml).
        #[arg(long)]
        file: PathBuf,
    },
    /// Replace the pool's allocation rule and exchange conditions with those of a TOML file.
    Update {
        #[command(flatten)]
        pool: PoolArg,
        /// The pool file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Accept attestations of the Solana Attestation Service as evidence: those of the SAS
    /// `--schema` (its credential is the issuer), whose field number `--field` (a u64 after
    /// fixed-size fields) the rule reads.
    AcceptAttestations {
        #[command(flatten)]
        pool: PoolArg,
        /// The SAS schema account (one account per schema version).
        #[arg(long)]
        schema: Pubkey,
        /// The field of the schema the rule reads, counted from 0.
        #[arg(long)]
        field: u8,
        /// Replace another schema or field the pool accepts now: holders allocated on it can
        /// then no longer be clawed back on an attestation until allocated again.
        #[arg(long)]
        replace: bool,
    },
    /// Accept no SAS attestations any more.
    RefuseAttestations(PoolArg),
    /// Retire the pool for good: no allocation or clawback from now on (exchanges go on), and its
    /// allocation records can be closed for their rent (`allot crank --close`). Run the
    /// clawbacks due (`allot crank`) first: a retired pool claws back nothing.
    Retire(PoolArg),
    /// Refuse allocations until unpaused (clawbacks still run).
    Pause(PoolArg),
    /// Accept allocations again.
    Unpause(PoolArg),
    /// Stop every movement of the pool's units, holders' own transfers included (a pool created
    /// with `pausable = true`): allocations, clawbacks and exchanges stop too.
    PauseTransfers(PoolArg),
    /// Let the pool's units move again.
    ResumeTransfers(PoolArg),
    /// Mint units into the vault (up to the supply cap).
    Fund {
        #[command(flatten)]
        pool: PoolArg,
        /// Units, as the token counts them: decimals up to the mint's (with 2 decimals, 1.5 is
        /// 150 base units).
        #[arg(long)]
        amount: TokenAmount,
    },
    /// Authorise a verifier (or re-activate one).
    AddVerifier {
        #[command(flatten)]
        pool: PoolArg,
        /// The verifier's key.
        #[arg(long)]
        verifier: Pubkey,
    },
    /// Deactivate a verifier: its credentials stay, it can write no more.
    RemoveVerifier {
        #[command(flatten)]
        pool: PoolArg,
        /// The verifier's key.
        #[arg(long)]
        verifier: Pubkey,
    },
    /// Publish this period's user list from a CSV (`user,value`) and write every user's proof.
    PublishList {
        #[command(flatten)]
        pool: PoolArg,
        /// CSV with a header row `user,value`.
        #[arg(long)]
        csv: PathBuf,
        /// Where to write the proofs (JSON), for users and the crank.
        #[arg(long)]
        proofs_out: PathBuf,
        /// Period of the list [default: the current period].
        #[arg(long)]
        period: Option<u64>,
    },
    /// Record a service-profit report for a period.
    RecordProfit {
        #[command(flatten)]
        pool: PoolArg,
        /// The period reported.
        #[arg(long)]
        period: u64,
        /// Profit in the currency's minor units (e.g. cents).
        #[arg(long)]
        amount: u64,
        /// ISO 4217 code; must be the pool's exchange currency.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// The report's evidence (hashed with SHA-256 on chain), e.g. the audited report's id.
        #[arg(long)]
        evidence: String,
    },
    /// Show the pool: rule, exchange conditions, rate, totals.
    Show(PoolArg),
    /// Give the pool `--count` allocation shards and top each up to `--fund-each` units from the
    /// vault (idempotent). The crank then allocates from the shards, which a cluster runs in
    /// parallel (transferable pools).
    Shards {
        #[command(flatten)]
        pool: PoolArg,
        /// Shards the pool should have (1–64); missing ones are created.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        count: u16,
        /// Base units each shard should be able to allocate; shards holding less are topped up.
        #[arg(long)]
        fund_each: u64,
    },
    /// Sweep every shard into the pool's totals and move what they have not allocated back to
    /// the vault.
    DrainShards(PoolArg),
}

/// Verifier subcommands.
#[derive(Debug, Subcommand)]
pub enum VerifierCommand {
    /// Issue (or update for a new period) one user's credential.
    Issue {
        #[command(flatten)]
        pool: PoolArg,
        /// The user's wallet.
        #[arg(long)]
        user: Pubkey,
        /// Indicator values, comma-separated (slot 0 first; missing slots are 0).
        #[arg(long, value_delimiter = ',')]
        indicators: Vec<u64>,
        /// The verification report's reference (hashed with SHA-256 on chain).
        #[arg(long)]
        evidence: String,
        /// Period covered [default: the current period].
        #[arg(long)]
        period: Option<u64>,
        /// Seconds the credential stays valid [default: two periods].
        #[arg(long)]
        valid_for: Option<i64>,
    },
    /// Issue credentials in bulk from a CSV (`user,indicators,evidence`; indicators `a;b;c;d`)
    /// or a JSON array of `{user, indicators, evidence}`.
    IssueBulk {
        #[command(flatten)]
        pool: PoolArg,
        /// The CSV or JSON file (by extension).
        #[arg(long)]
        file: PathBuf,
        /// Period covered [default: the current period].
        #[arg(long)]
        period: Option<u64>,
        /// Seconds the credentials stay valid [default: two periods].
        #[arg(long)]
        valid_for: Option<i64>,
    },
    /// Revoke one user's credential.
    Revoke {
        #[command(flatten)]
        pool: PoolArg,
        /// The user's wallet.
        #[arg(long)]
        user: Pubkey,
    },
    /// Close one user's credential: its rent goes back to the verifier key that paid it. A
    /// closed credential counts as revoked: a holder last allocated on it is clawed back in the
    /// same transaction (cranks find clawbacks among existing credentials only).
    Close {
        #[command(flatten)]
        pool: PoolArg,
        /// The user's wallet.
        #[arg(long)]
        user: Pubkey,
    },
    /// Revoke credentials in bulk from a CSV with a `user` column (or a JSON array of keys).
    RevokeBulk {
        #[command(flatten)]
        pool: PoolArg,
        /// The CSV or JSON file.
        #[arg(long)]
        file: PathBuf,
    },
}

/// User subcommands (the keypair is the user's wallet).
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Holdings, credential, allocation and exchange status.
    Show {
        #[command(flatten)]
        pool: PoolArg,
        /// Whose status [default: the keypair's].
        #[arg(long)]
        user: Option<Pubkey>,
    },
    /// Claim this period's allocation (by credential, by the list proof in `--proofs`, or by
    /// SAS attestation with `--attestation`).
    Allocate {
        #[command(flatten)]
        pool: PoolArg,
        /// The operator's proofs file, to allocate by user list instead of credential.
        #[arg(long)]
        proofs: Option<PathBuf>,
        /// Allocate on the user's attestation of the Solana Attestation Service (the issuer and
        /// schema the pool names).
        #[arg(long, conflicts_with = "proofs")]
        attestation: bool,
    },
    /// Request an exchange of units for funds.
    Exchange {
        #[command(flatten)]
        pool: PoolArg,
        /// Units to exchange, as the token counts them: decimals up to the mint's (with 2
        /// decimals, 1.5 is 150 base units).
        #[arg(long)]
        amount: TokenAmount,
        /// The request's id (default: a random one, at most 2^53 - 1). Give the id a first
        /// attempt printed when retrying it: if that request landed (and was not closed since),
        /// the retry stops ("request <id> exists already") instead of opening a second one.
        #[arg(long, value_parser = clap::value_parser!(u64).range(..=allot::constants::MAX_REQUEST_ID))]
        id: Option<u64>,
    },
    /// Cancel a request: pending past its cancel time, or locked past its lock's expiry.
    Cancel {
        #[command(flatten)]
        pool: PoolArg,
        /// The request id.
        #[arg(long)]
        request: u64,
    },
}

/// Settlement-authority subcommands.
#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// List open (pending or locked) requests.
    Pending(PoolArg),
    /// Lock a pending request before paying it off chain: its user can no longer cancel it
    /// until the lock expires, so the payment cannot race a cancel.
    Lock {
        #[command(flatten)]
        pool: PoolArg,
        /// The request id.
        #[arg(long)]
        request: u64,
    },
    /// Mark a request paid (off-chain payout), recording the payment reference.
    Settle {
        #[command(flatten)]
        pool: PoolArg,
        /// The request id.
        #[arg(long)]
        request: u64,
        /// The payment platform's transaction id (hashed with SHA-256 on chain).
        #[arg(long)]
        reference: String,
    },
    /// Refuse a request: the escrow goes back to the user.
    Reject {
        #[command(flatten)]
        pool: PoolArg,
        /// The request id.
        #[arg(long)]
        request: u64,
        /// The reason code recorded on chain.
        #[arg(long)]
        reason: u16,
    },
}

/// `crank` options.
#[derive(Debug, Args)]
pub struct CrankArgs {
    #[command(flatten)]
    pub pool: PoolArg,
    /// The operator's proofs file: also allocate and claw back by user list.
    #[arg(long)]
    pub proofs: Option<PathBuf>,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Most users per transaction (fewer when the accounts do not fit).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub max_per_transaction: u16,
    /// Show what would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A lookup table of the pool's shared accounts (`allot lookup-table create`): more users
    /// fit in each transaction.
    #[arg(long)]
    pub lookup_table: Option<Pubkey>,
    /// This crank's part `K/N` of the pool's users and shards, for N cranks (each with its own
    /// keypair, which pays and is written by all its transactions) running side by side.
    #[arg(long, default_value = "0/1")]
    pub partition: crate::shard_plan::Partition,
    /// Allocate from the pool's vault even when the pool has allocation shards (by default the
    /// crank draws on the shards, whose transactions a cluster can run in parallel, and sweeps
    /// them after).
    #[arg(long)]
    pub no_shards: bool,
    /// Instead of allocating and clawing back: close the allocation records of a retired pool
    /// that guard nothing any more (`allot operator retire`), their rent going back to whoever
    /// paid it. Anyone may run it.
    #[arg(long)]
    pub close: bool,
}

/// `migrate` options.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Pool files to apply (each creates its pool and verifiers if missing).
    #[arg(long = "file", required = true)]
    pub files: Vec<PathBuf>,
}
