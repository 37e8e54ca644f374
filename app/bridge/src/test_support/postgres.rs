//! A PostgreSQL server for tests: `ALLOT_TEST_POSTGRES_URL` (an admin URL of a running server)
//! when set, else a private server started from Debian's binaries (`postgresql` package) in a
//! temporary directory and stopped on drop. Each [`TestDatabase`] is a fresh database.
//!
//! [`TestPostgres::start_tls`] starts a private server that accepts only TLS connections, with a
//! certificate for `127.0.0.1` signed by a throwaway certificate authority (made with the
//! `openssl` command): its URLs ask for `sslmode=verify-full` against that authority.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;

/// The environment variable naming an existing server's admin URL.
pub const POSTGRES_URL_ENV: &str = "ALLOT_TEST_POSTGRES_URL";

/// A private PostgreSQL server.
pub struct TestPostgres {
    /// `postgres://user@host:port`, without a database.
    server_url: String,
    /// The admin database.
    admin_database: String,
    /// The URL's query (`?sslmode=…`), or empty.
    query: String,
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
            let (url, query) = url.split_once('?').unwrap_or((&url, ""));
            let (server_url, admin_database) = url
                .rsplit_once('/')
                .ok_or_else(|| format!("{POSTGRES_URL_ENV} must end with /database: {url}"))?;
            return Ok(Self {
                server_url: server_url.to_owned(),
                admin_database: admin_database.to_owned(),
                query: if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                },
                private: None,
            });
        }
        Self::start_private(false)
    }

    /// A private server that accepts TLS connections only (`hostssl` in its `pg_hba.conf`,
    /// plaintext rejected); its URLs verify its certificate (`sslmode=verify-full`).
    pub fn start_tls() -> Result<Self, String> {
        Self::start_private(true)
    }

    /// The certificate authority that signed a TLS server's certificate (PEM).
    pub fn ca_file(&self) -> Option<PathBuf> {
        let (dir, _) = self.private.as_ref()?;
        let ca = dir.path().join("ca.crt");
        ca.exists().then_some(ca)
    }

    /// The admin database's URL (with the server's TLS parameters).
    pub fn admin_url(&self) -> String {
        format!("{}/{}{}", self.server_url, self.admin_database, self.query)
    }

    /// The admin database's URL without TLS (`sslmode=disable`), which a TLS-only server refuses.
    pub fn plaintext_admin_url(&self) -> String {
        format!(
            "{}/{}?sslmode=disable",
            self.server_url, self.admin_database
        )
    }

    fn start_private(tls: bool) -> Result<Self, String> {
        let bin = postgres_bin().ok_or_else(|| {
            format!(
                "no PostgreSQL server binaries under /usr/lib/postgresql: install the `postgresql` \
                 package (.ci/run does) or set {POSTGRES_URL_ENV}"
            )
        })?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let as_root = is_root();
        if tls {
            make_certificates(dir.path())?;
        }
        if as_root {
            // PostgreSQL refuses to run as root: the package's `postgres` user runs it.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        run(as_postgres(as_root, &bin.join("initdb"))
            .args(["-A", "trust", "-U", "allot", "--no-sync", "-D"])
            .arg(&data))?;
        let port = super::ports::free_port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            dir.path().display()
        );
        let mut query = String::new();
        if tls {
            // TCP connections must use TLS; the local socket (unused by the tests) stays open.
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n",
            )
            .map_err(|e| e.to_string())?;
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                dir.path().display()
            ));
            query = format!(
                "?sslmode=verify-full&sslrootcert={}",
                dir.path().join("ca.crt").display()
            );
        }
        run(as_postgres(as_root, &bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-w", "-l"])
            .arg(dir.path().join("server.log"))
            .arg("start"))?;
        Ok(Self {
            server_url: format!("postgres://allot@127.0.0.1:{port}"),
            admin_database: "postgres".into(),
            query,
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
        let admin_url = self.admin_url();
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .map_err(|e| format!("cannot reach PostgreSQL at {admin_url}: {e}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .map_err(|e| e.to_string())?;
        admin.close().await.map_err(|e| e.to_string())?;
        Ok(TestDatabase {
            url: format!("{}/{name}{}", self.server_url, self.query),
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

/// Writes `ca.crt` (a throwaway certificate authority) and `server.crt`/`server.key` (for
/// `127.0.0.1`, signed by it) into `dir` with the `openssl` command.
fn make_certificates(dir: &Path) -> Result<(), String> {
    let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=allot test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ])?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n\
         extendedKeyUsage = serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ])?;
    // PostgreSQL refuses a key that others can read.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .map_err(|e| e.to_string())
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
