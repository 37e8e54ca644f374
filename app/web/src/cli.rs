//! `allot-web`'s command line: serves the page and the Actions endpoints for one pool. In the
//! library so that another workspace (the localnet suite's README walkthrough) builds the same
//! binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::app::Cluster;
use crate::server::{WebConfig, WebServer};
use allot_client::compute_budget::FeePolicy;
use anchor_lang::prelude::Pubkey;
use clap::{Parser, ValueEnum};

/// The allot web server.
#[derive(Parser)]
#[command(name = "allot-web", version, about)]
struct Cli {
    /// JSON-RPC URL of the cluster.
    #[arg(
        long,
        short = 'u',
        env = "ALLOT_WEB_RPC_URL",
        default_value = "http://127.0.0.1:8899"
    )]
    url: String,
    /// Which cluster the URL is (decides how the wallet submits).
    #[arg(long, value_enum, default_value = "localnet")]
    cluster: ClusterArg,
    /// The pool the page serves.
    #[arg(long, env = "ALLOT_WEB_POOL")]
    pool: Pubkey,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The built page.
    #[arg(long, default_value = "app/web/page/dist")]
    page_dir: PathBuf,
    /// Priority fee of the transactions built for wallets, in micro-lamports per compute unit
    /// [default: the 75th percentile of recent fees for the accounts they write, at most
    /// 1,000,000].
    #[arg(
        long,
        value_name = "MICRO_LAMPORTS",
        env = "ALLOT_WEB_WITH_COMPUTE_UNIT_PRICE"
    )]
    with_compute_unit_price: Option<u64>,
    /// The URL users and Blink clients reach this server at (behind a proxy), for the Actions'
    /// absolute URLs [default: http:// and the request's Host].
    #[arg(long, env = "ALLOT_WEB_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClusterArg {
    Localnet,
    Devnet,
    MainnetBeta,
}

/// Parses the command line and serves until Ctrl-C.
#[tokio::main]
pub async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let cluster = match cli.cluster {
        ClusterArg::Localnet => Cluster::Localnet,
        ClusterArg::Devnet => Cluster::Devnet,
        ClusterArg::MainnetBeta => Cluster::MainnetBeta,
    };
    let server = WebServer::bind(WebConfig {
        rpc_url: cli.url,
        cluster,
        pool: cli.pool,
        listen: cli.listen,
        page_dir: cli.page_dir,
        fees: cli
            .with_compute_unit_price
            .map_or_else(FeePolicy::default, FeePolicy::Fixed),
        public_url: cli.public_url,
    })
    .await?;
    println!("allot-web: http://{}/ (Ctrl-C stops it)", server.addr);
    server
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
