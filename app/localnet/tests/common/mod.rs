//! What the localnet suites share: wallets as keypair files, and the `allot` CLI run in-process
//! over JSON-RPC.

#![allow(dead_code)]

use allot_client::rpc_chain::RpcChain;
use solana_keypair::{Keypair, write_keypair_file};
use solana_signer::Signer;

/// An HTTP answer.
pub struct HttpAnswer {
    /// Its status code.
    pub status: u16,
    /// Its headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: String,
}

impl HttpAnswer {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request to 127.0.0.1:`port` (plain TCP: the test sees the exact bytes).
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> HttpAnswer {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the server listens");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = json_body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A keypair saved where the CLI (and the bridge) can read it.
pub struct Wallet {
    /// Its public key.
    pub key: anchor_lang::prelude::Pubkey,
    /// Its keypair file.
    pub file: String,
}

/// A new keypair, saved as `name`.json in `dir`.
pub fn wallet(dir: &tempfile::TempDir, name: &str) -> (Keypair, Wallet) {
    let keypair = Keypair::new();
    let path = dir.path().join(format!("{name}.json"));
    write_keypair_file(&keypair, &path).expect("keypair written");
    let wallet = Wallet {
        key: keypair.pubkey(),
        file: path.display().to_string(),
    };
    (keypair, wallet)
}

/// Runs `allot --url <url> --keypair <wallet> --output json <args>` and returns its JSON.
pub async fn allot(
    chain: &RpcChain,
    url: &str,
    wallet: &Wallet,
    args: &[&str],
) -> serde_json::Value {
    let mut argv = vec![
        "allot",
        "--url",
        url,
        "--keypair",
        &wallet.file,
        "--output",
        "json",
    ];
    argv.extend_from_slice(args);
    let text = allot_cli::run_argv(chain, &argv)
        .await
        .unwrap_or_else(|e| panic!("allot {args:?} failed: {e:#}"));
    serde_json::from_str(&text).expect("JSON output")
}

pub mod bridge_harness;
pub mod http_crash_scenario;
