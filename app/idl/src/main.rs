//! `allot-idl`: builds the program's Anchor IDL exactly as `anchor idl build` does (Anchor's own
//! `IdlBuilder`: the program's `__anchor_private_print_idl` test under `--features idl-build`),
//! and writes it to `idl/allot.json`, or with `--check` fails when the committed file differs.
//!
//! The build runs natively: no SBF toolchain is needed. It uses its own target directory
//! (`target/idl`), because the IDL build sets `RUSTFLAGS` and would otherwise rebuild the
//! workspace's dependencies back and forth.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anchor_lang_idl::build::IdlBuilder;
use anchor_lang_idl::types::{Idl, IdlAccount, IdlTypeDef};
use anyhow::{Context as _, Result, bail, ensure};
use clap::Parser;

/// Command-line arguments.
#[derive(Parser)]
#[command(about = "Build allot's Anchor IDL into idl/allot.json, or check the committed one")]
struct Args {
    /// Fail (exit 1) if the committed IDL differs from a fresh build, instead of writing it.
    #[arg(long, env = "ALLOT_IDL_CHECK")]
    check: bool,
    /// The IDL file to write or check.
    #[arg(long, env = "ALLOT_IDL_OUT", default_value = "idl/allot.json")]
    out: PathBuf,
}

fn main() -> Result<()> {
    // anchor-lang-idl 0.1.4 passes the literal argument "+{toolchain}" to cargo whenever
    // RUSTUP_TOOLCHAIN is set (a formatting slip), and rustup sets it for everything `cargo run`
    // starts: build with the toolchain cargo resolves instead.
    // SAFETY: the first statement of `main`, before any other thread exists.
    unsafe { std::env::remove_var("RUSTUP_TOOLCHAIN") };
    let args = Args::parse();
    let root = workspace_root();
    let built = build_idl(&root)?;
    let out = root.join(&args.out);
    if args.check {
        let committed = std::fs::read_to_string(&out)
            .with_context(|| format!("reading the committed IDL {}", out.display()))?;
        if committed != built {
            bail!(
                "{} is out of date with the program: run `cargo run -p allot-idl` and commit it",
                out.display()
            );
        }
        println!("{} matches the program", out.display());
        return Ok(());
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, &built).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The repository root (this crate lives at `app/idl`).
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The IDL as `anchor idl build` prints it (pretty JSON, with a final newline), plus the
/// account types no instruction names (the program's `idl_extra`).
fn build_idl(root: &Path) -> Result<String> {
    let program = root.join("programs/allot");
    let target = root.join("target/idl");
    let mut idl = IdlBuilder::new()
        .program_path(program.clone())
        .cargo_args(vec!["--target-dir".into(), target.display().to_string()])
        .build()
        .context("building the IDL (the program's `idl-build` feature)")?;
    for (account, definition) in extra_accounts(&program, &target)? {
        add_account(&mut idl, account, definition);
    }
    let mut json = serde_json::to_string_pretty(&idl).context("serialising the IDL")?;
    json.push('\n');
    Ok(json)
}

/// Anchor's own account entries and type definitions of the types the program's
/// `allot_print_idl_extra_accounts` test prints, built as `IdlBuilder` builds (same features,
/// flags and target directory, so nothing is compiled twice).
fn extra_accounts(program: &Path, target: &Path) -> Result<Vec<(IdlAccount, IdlTypeDef)>> {
    let output = Command::new("cargo")
        .args([
            "test",
            "allot_print_idl_extra_accounts",
            "--features",
            "idl-build",
            "--target-dir",
        ])
        .arg(target)
        .args(["--", "--show-output", "--quiet"])
        .env("ANCHOR_IDL_BUILD_NO_DOCS", "FALSE")
        .env("ANCHOR_IDL_BUILD_RESOLUTION", "TRUE")
        .env("ANCHOR_IDL_BUILD_SKIP_LINT", "FALSE")
        .env("ANCHOR_IDL_BUILD_PROGRAM_PATH", program)
        .env("RUSTFLAGS", "-A warnings")
        .current_dir(program)
        .stderr(Stdio::inherit())
        .output()
        .context("running the program's extra-accounts IDL test")?;
    ensure!(
        output.status.success(),
        "the program's extra-accounts IDL test failed"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line == "--- allot idl extra account ---" {
            let json = lines
                .next()
                .context("an extra account section without its JSON")?;
            found.push(serde_json::from_str(json).context("an extra account's JSON")?);
        }
    }
    ensure!(
        !found.is_empty(),
        "the program's extra-accounts IDL test printed nothing"
    );
    Ok(found)
}

/// Adds `account` and its type `definition` to `idl` unless it has them, keeping Anchor's order
/// and naming the type by its last path segment (as `IdlBuilder` does for its own types).
fn add_account(idl: &mut Idl, account: IdlAccount, mut definition: IdlTypeDef) {
    if let Some((_, name)) = definition.name.rsplit_once("::") {
        definition.name = name.to_owned();
    }
    if !idl.accounts.iter().any(|a| a.name == account.name) {
        idl.accounts.push(account);
        idl.accounts.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if !idl.types.iter().any(|t| t.name == definition.name) {
        idl.types.push(definition);
        idl.types.sort_by(|a, b| a.name.cmp(&b.name));
    }
}
