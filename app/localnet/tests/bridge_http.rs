//! The HTTP payouts on SQLite (the bridge's default store), on one validator: the crash
//! scenario (`common/http_crash_scenario.rs`), then each review command on requests the
//! provider refused (`common/review_scenario.rs`).

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn http_payouts_survive_crashes_and_people_resolve_what_the_bridge_cannot() {
    let market = common::bridge_harness::Market::open(48_899, 49_900, 5, false).await;
    common::http_crash_scenario::killed_at_every_transition(&market, None).await;
    common::review_scenario::review_commands(&market).await;
}
