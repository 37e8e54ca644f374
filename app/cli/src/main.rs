//! `allot`: the command line for operators, verifiers, users and cranks, over JSON-RPC (see
//! [`allot_cli::main`]).

fn main() -> std::process::ExitCode {
    allot_cli::main()
}
