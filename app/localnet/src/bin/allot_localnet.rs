//! `allot-localnet`: starts the validator with allot, runs the self-test, prints the URLs and
//! serves until Ctrl-C.
//!
//! `cargo run --manifest-path app/localnet/Cargo.toml -- [--rpc-port 8899] [--faucet-port 9900]
//!  [--prefund <PUBKEY>]...`

use allot_localnet::{Localnet, LocalnetConfig, self_test};
use anyhow::{Context, Result, bail};

fn config() -> Result<LocalnetConfig> {
    let mut config = LocalnetConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--rpc-port" => {
                config.rpc_port = value("--rpc-port")?
                    .parse()
                    .context("--rpc-port must be a port number")?
            }
            "--faucet-port" => {
                config.faucet_port = value("--faucet-port")?
                    .parse()
                    .context("--faucet-port must be a port number")?
            }
            "--prefund" => config.prefund.push(
                value("--prefund")?
                    .parse()
                    .context("--prefund takes a base58 public key")?,
            ),
            other => bail!(
                "unknown argument {other:?}; usage: allot-localnet [--rpc-port N] [--faucet-port N] [--prefund PUBKEY]..."
            ),
        }
    }
    Ok(config)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let config = config()?;
    let localnet = Localnet::start(config).await?;
    let pool = self_test::run(&localnet.rpc_url(), &localnet.mint).await?;
    println!("allot localnet is ready (self-test pool {pool} funded through Token-2022)");
    println!("  JSON-RPC  {}", localnet.rpc_url());
    println!("  PubSub    {}", localnet.pubsub_url());
    println!("  faucet    {}", localnet.faucet);
    println!("  program   {}", allot::ID);
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping");
    drop(localnet);
    Ok(())
}
