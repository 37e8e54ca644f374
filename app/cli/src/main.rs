//! `allot`: the command line for operators, verifiers, users and cranks, over JSON-RPC.

use std::io::IsTerminal;
use std::process::ExitCode;

use allot_cli::settings::{Settings, signer_for};
use allot_cli::{Cli, Context, OutputFormat, run};
use allot_client::rpc_chain::RpcChain;
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.global.output;
    match execute(cli).await {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            match format {
                OutputFormat::Json => {
                    println!("{}", serde_json::json!({ "error": format!("{error:#}") }))
                }
                OutputFormat::Display => eprintln!("error: {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<String> {
    let settings = Settings::resolve(&cli.global)?;
    let signer = signer_for(&cli.command, &settings.keypair_path)?;
    let chain = RpcChain::new(settings.url.clone(), settings.commitment);
    let ctx = Context {
        chain: &chain,
        signer,
        unit_price_micro_lamports: cli.global.with_compute_unit_price,
    };
    let quiet = cli.global.output == OutputFormat::Json || !std::io::stderr().is_terminal();
    let outcome = run(&ctx, cli.command, quiet).await?;
    Ok(outcome.render(cli.global.output))
}
