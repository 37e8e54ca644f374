//! A PostgreSQL server for tests: `ALLOT_TEST_POSTGRES_URL` (an admin URL of a running server)
//! when set, else a private server started from Debian's binaries (`postgresql` package) in a
//! temporary directory and stopped on drop. Each [`TestDatabase`] is a fresh database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;

/// The environment variable naming an existing server's admin URL.
pub const POSTGRES_URL_ENV: &str = "ALLOT_TEST_POSTGRES_URL";

/// A private PostgreSQL server.
pub struct TestPostgres {
    admin_url: String,
    /// The private server's data directory and binaries (None: an external server).
    private: Option<(tempfile::TempDir, PathBuf)>,
}

/// A fresh database on a test server.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
}

impl TestPostgres {
    /// The external server of `ALLOT_TEST_POSTGRES_URL`, or a private one.
    pub fn start() -> Result<Self, String> {
        if let Ok(url) = std::env::var(POSTGRES_URL_ENV) {
            return Ok(Self {
                admin_url: url,
                private: None,
            });
        }
        let bin = postgres_bin().ok_or_else(|| {
            format!(
                "no PostgreSQL server binaries under /usr/lib/postgresql: install the `postgresql` \
                 package (.ci/run does) or set {POSTGRES_URL_ENV}"
            )
        })?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let as_root = is_root();
        if as_root {
            // PostgreSQL refuses to run as root: the package's `postgres` user runs it.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        run(as_postgres(as_root, &bin.join("initdb"))
            .args(["-A", "trust", "-U", "allot", "--no-sync", "-D"])
            .arg(&data))?;
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            dir.path().display()
        );
        run(as_postgres(as_root, &bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-w", "-l"])
            .arg(dir.path().join("server.log"))
            .arg("start"))?;
        Ok(Self {
            admin_url: format!("postgres://allot@127.0.0.1:{port}/postgres"),
            private: Some((dir, bin)),
        })
    }

    /// A fresh, empty database.
    pub async fn database(&self) -> Result<TestDatabase, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "allot_test_{}_{}_{}",
            std::process::id(),
            crate::store::now_ms() % 1_000_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|e| format!("cannot reach PostgreSQL at {}: {e}", self.admin_url))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .map_err(|e| e.to_string())?;
        admin.close().await.map_err(|e| e.to_string())?;
        let base = self
            .admin_url
            .rsplit_once('/')
            .map_or(self.admin_url.as_str(), |(base, _)| base);
        Ok(TestDatabase {
            url: format!("{base}/{name}"),
        })
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some((dir, bin)) = &self.private {
            let _ = as_postgres(is_root(), &bin.join("pg_ctl"))
                .arg("-D")
                .arg(dir.path().join("data"))
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

/// The newest installed server's binaries.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `program` as the `postgres` user when running as root.
fn as_postgres(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}
