//! The `allot` binary against a node that answers badly: an HTML error page, and an "account"
//! at the pool's address that is not a pool. Each run fails with a message a person can act on
//! (what was read, from where), and exits non-zero.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;

use anchor_lang::prelude::Pubkey;

/// A node that answers every request with `status` and `body`; returns its URL.
fn node(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// `allot --url <url> --keypair <fresh key> user show --pool <pool>`: must fail; returns stderr.
fn user_show_fails(url: &str, pool: &Pubkey) -> String {
    let dir = tempfile::tempdir().unwrap();
    let keypair = dir.path().join("user.json");
    let bytes = solana_sdk::signature::Keypair::new().to_bytes().to_vec();
    std::fs::write(&keypair, serde_json::to_string(&bytes).unwrap()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_allot"))
        .args(["--url", url, "--keypair"])
        .arg(&keypair)
        .args(["user", "show", "--pool", &pool.to_string()])
        .output()
        .expect("the allot binary runs");
    assert!(
        !output.status.success(),
        "a bad answer must fail the command"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_html_error_page_is_reported_as_the_nodes_failure() {
    let url = node(
        "502 Bad Gateway",
        "<html><body>502 Bad Gateway</body></html>".into(),
    );
    let message = user_show_fails(&url, &Pubkey::new_unique());
    assert!(message.contains("502"), "{message}");
}

#[test]
fn an_account_that_is_not_a_pool_is_named() {
    let pool = Pubkey::new_unique();
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1,
        "result": {
            "context": {"slot": 1},
            "value": {
                "data": ["AAECAwQFBgcICQ==", "base64"], "executable": false,
                "lamports": 1_000_000, "owner": allot::ID.to_string(), "rentEpoch": 0, "space": 10
            }
        }
    })
    .to_string();
    let url = node("200 OK", body);
    let message = user_show_fails(&url, &pool);
    assert!(message.contains(&pool.to_string()), "{message}");
}
