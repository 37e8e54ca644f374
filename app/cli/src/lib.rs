//! # allot-cli
//!
//! The `allot` command line as a library: [`args`] is what clap parses, [`run`] executes a parsed
//! command against any [`Chain`] — the JSON-RPC chain in the `allot` binary, the embedded chain in
//! the main job and the tests — so the same code runs in both.

pub mod args;
pub mod batch;
pub mod commands;
pub mod context;
pub use allot_client::decimal;
pub mod entry;
pub mod lookup_table;
pub mod outcome;
pub mod pool_file;
pub mod records;
pub mod report;
pub mod sender;
pub mod settings;
pub mod shard_plan;

use allot_client::chain::Chain;
use anyhow::Result;
use clap::Parser;

pub use args::{Cli, Command, OutputFormat};
pub use context::Context;
pub use entry::main;
pub use outcome::Outcome;

/// The completion script of the `allot` command line for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "allot",
        &mut script,
    );
    String::from_utf8_lossy(&script).into_owned()
}

/// Runs `command` with `ctx`; `quiet` hides progress bars.
pub async fn run<C: Chain>(ctx: &Context<'_, C>, command: Command, quiet: bool) -> Result<Outcome> {
    match command {
        Command::Operator(command) => commands::operator::run(ctx, command).await,
        Command::Verifier(command) => commands::verifier::run(ctx, command, quiet).await,
        Command::User(command) => commands::user::run(ctx, command).await,
        Command::Settlement(command) => commands::settlement::run(ctx, command).await,
        Command::Crank(args) => commands::crank::run(ctx, args, quiet).await,
        Command::Migrate(args) => commands::migrate::run(ctx, args.files).await,
        Command::LookupTable(args::LookupTableCommand::Create(pool)) => {
            lookup_table::create(ctx, &pool.pool).await
        }
        Command::Address => {
            let address = ctx.me().to_string();
            Ok(Outcome::new(serde_json::json!({ "address": address })).line(address))
        }
        Command::Completions { shell } => {
            let script = completion_script(shell);
            Ok(
                Outcome::new(serde_json::json!({ "shell": shell.to_string(), "script": script }))
                    .line(script.trim_end()),
            )
        }
    }
}

/// Parses `argv` as a person would type it (`["allot", "crank", "--pool", …]`), reads the keypair
/// it names, and runs it against `chain`; returns the printed text in the chosen output format.
/// The `--url` is not used: `chain` is where the command goes.
pub async fn run_argv<C: Chain>(chain: &C, argv: &[&str]) -> Result<String> {
    let cli = Cli::try_parse_from(argv)?;
    let settings = settings::Settings::resolve(&cli.global)?;
    let signer = settings::signer_for(&cli.command, &settings.keypair_path)?;
    let ctx = Context {
        chain,
        signer,
        unit_price_micro_lamports: cli.global.with_compute_unit_price,
    };
    let outcome = run(&ctx, cli.command, true).await?;
    Ok(outcome.render(cli.global.output))
}
