//! `allot-bridge` (app/bridge), built in this workspace so that the bridge suite can run it as a
//! separate process against the validator: kill it, restart it, run two of it.

fn main() -> std::process::ExitCode {
    allot_bridge::cli::main()
}
