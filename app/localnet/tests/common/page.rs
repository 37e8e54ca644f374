//! The user page's sources (app/web/page) and its build: the page is build output (`dist`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The page's npm package.
pub fn page_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/page")
}

/// `npm ci` (when the packages are missing) and `npm run build`: the page is build output.
pub fn build_page() {
    let page = page_dir();
    let npm = |args: &[&str]| {
        let output = Command::new("npm")
            .args(args)
            .current_dir(&page)
            .output()
            .expect("npm runs (Node.js and npm are needed for the page)");
        assert!(
            output.status.success(),
            "npm {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    if !page.join("node_modules/.package-lock.json").exists() {
        npm(&["ci", "--no-audit", "--no-fund"]);
    }
    npm(&["run", "build"]);
}
