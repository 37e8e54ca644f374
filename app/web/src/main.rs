//! `allot-web`: serves the page and the Actions endpoints for one pool (`allot_web::cli`).

fn main() -> anyhow::Result<()> {
    allot_web::cli::main()
}
