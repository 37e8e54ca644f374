//! The README's main-job command runs to the end on a fresh chain and its report adds up.

use std::process::Command;

#[test]
fn main_job_runs_and_conserves_units() {
    let output = Command::new(env!("CARGO_BIN_EXE_allot-demo"))
        // 10 users: the shards (a quarter of the qualifying users each, rounded up) keep units
        // after the crank, so the conservation check counts what the shard vaults hold.
        .args(["--users", "10"])
        .output()
        .expect("allot-demo starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "allot-demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| !l.contains("DEBUG") && !l.contains("INFO"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("migrate again: 0 transactions"), "{stdout}");
    assert!(stdout.contains("crank again: 0 transactions"), "{stdout}");
    assert!(stdout.contains("conservation holds"), "{stdout}");
    assert!(stdout.contains(" 0 refused"), "{stdout}");
}

#[test]
fn main_job_refuses_bad_arguments() {
    let output = Command::new(env!("CARGO_BIN_EXE_allot-demo"))
        .args(["--users", "many"])
        .output()
        .expect("allot-demo starts");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--users must be a whole number"));
}
