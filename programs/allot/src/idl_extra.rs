//! Account types Anchor's IDL build would miss. The IDL lists the types an instruction names as
//! `Account<T>`; `ProfitReport` is created by hand (`pda_account::load_or_create`, so a
//! pre-funded address cannot block a period's report) and never named so. `allot-idl` runs this
//! test under `idl-build` and adds what it prints — Anchor's own generated account entry and type
//! definition — to `idl/allot.json`, so Anchor clients and explorers decode profit reports too.

#[cfg(all(test, feature = "idl-build"))]
mod print {
    use anchor_lang::Discriminator;
    use anchor_lang::idl::types::IdlAccount;
    use anchor_lang::idl::{IdlBuild, serde_json};

    use crate::state::ProfitReport;

    /// Marks the printed section for `allot-idl`.
    const BEGIN: &str = "--- allot idl extra account ---";

    #[test]
    fn allot_print_idl_extra_accounts() {
        let account = IdlAccount {
            name: "ProfitReport".into(),
            discriminator: ProfitReport::DISCRIMINATOR.to_vec(),
        };
        let definition =
            ProfitReport::create_type().expect("an #[account] type has an IDL definition");
        println!("{BEGIN}");
        println!("{}", serde_json::to_string(&(account, definition)).unwrap());
    }
}
