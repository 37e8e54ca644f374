//! `allot-idl`: builds the program's Anchor IDL exactly as `anchor idl build` does (Anchor's own
//! `IdlBuilder`: the program's `__anchor_private_print_idl` test under `--features idl-build`),
//! and writes it to `idl/allot.json`, or with `--check` fails when the committed file differs.
//!
//! The build runs natively: no SBF toolchain is needed. It uses its own target directory
//! (`target/idl`), because the IDL build sets `RUSTFLAGS` and would otherwise rebuild the
//! workspace's dependencies back and forth.

use std::path::{Path, PathBuf};

use anchor_lang_idl::build::IdlBuilder;
use anyhow::{Context as _, Result, bail};
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

/// The IDL as `anchor idl build` prints it (pretty JSON, with a final newline).
fn build_idl(root: &Path) -> Result<String> {
    let target = root.join("target/idl");
    let idl = IdlBuilder::new()
        .program_path(root.join("programs/allot"))
        .cargo_args(vec!["--target-dir".into(), target.display().to_string()])
        .build()
        .context("building the IDL (the program's `idl-build` feature)")?;
    let mut json = serde_json::to_string_pretty(&idl).context("serialising the IDL")?;
    json.push('\n');
    Ok(json)
}
