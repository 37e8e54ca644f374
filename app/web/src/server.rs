//! Starting the server: checks the pool, reads the cluster's genesis hash, binds, serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use allot::state::Pool;
use allot_client::accounts;
use allot_client::compute_budget::FeePolicy;
use allot_client::rpc_chain::RpcChain;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result, ensure};
use solana_commitment_config::CommitmentConfig;

use crate::app::{AppState, Cluster, router};

/// Where and what to serve.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The cluster's JSON-RPC URL.
    pub rpc_url: String,
    /// Which cluster it is.
    pub cluster: Cluster,
    /// The pool the page serves.
    pub pool: Pubkey,
    /// Listen address.
    pub listen: SocketAddr,
    /// The built page (`app/web/page/dist`).
    pub page_dir: PathBuf,
    /// How the transactions it builds for wallets pay for priority.
    pub fees: FeePolicy,
    /// The URL clients reach it at (`https://pool.example.com`), for the absolute URLs of the
    /// Actions (their icon); `None`: `http://` and the request's `Host`.
    pub public_url: Option<String>,
}

/// A bound server, ready to serve.
pub struct WebServer {
    /// The address it listens on (the real port when 0 was asked).
    pub addr: SocketAddr,
    listener: tokio::net::TcpListener,
    app: axum::Router,
}

impl WebServer {
    /// Checks the configuration against the cluster and binds.
    pub async fn bind(config: WebConfig) -> Result<Self> {
        ensure!(
            config.page_dir.join("index.html").exists(),
            "{} has no index.html: build the page first (cd app/web/page && npm ci && npm run build)",
            config.page_dir.display()
        );
        let chain = RpcChain::new(config.rpc_url.clone(), CommitmentConfig::confirmed());
        accounts::fetch::<Pool>(&chain, config.pool)
            .await
            .with_context(|| format!("cannot read pool {} from {}", config.pool, config.rpc_url))?
            .with_context(|| {
                format!("pool {} does not exist on {}", config.pool, config.rpc_url)
            })?;
        let genesis = chain
            .client()
            .get_genesis_hash()
            .await
            .with_context(|| format!("cannot read the genesis hash of {}", config.rpc_url))?;
        let state = AppState::new(
            chain,
            config.rpc_url.clone(),
            config.pool,
            config.cluster,
            &genesis.to_string(),
            config.fees,
            config
                .public_url
                .as_ref()
                .map(|url| url.trim_end_matches('/').to_owned()),
        );
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        Ok(Self {
            addr,
            listener,
            app: router(Arc::new(state), config.page_dir),
        })
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the web server stopped")
    }
}
