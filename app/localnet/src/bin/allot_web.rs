//! `allot-web` (app/web), built in this workspace so that the README walkthrough
//! (`tests/walkthrough.rs`) serves the user's page from bash, as an operator starts it.

fn main() -> anyhow::Result<()> {
    allot_web::cli::main()
}
