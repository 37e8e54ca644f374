//! `allot-bridge`: see [`allot_bridge::cli`].

fn main() -> std::process::ExitCode {
    allot_bridge::cli::main()
}
