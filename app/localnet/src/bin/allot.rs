//! `allot` (app/cli), built in this workspace so that the README walkthrough
//! (`tests/walkthrough.rs`) runs the command line from bash against the validator, as an operator
//! types it.

fn main() -> std::process::ExitCode {
    allot_cli::main()
}
