//! The HTTP-payout crash scenario on SQLite (the bridge's default store); see
//! `common/http_crash_scenario.rs`.

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn http_payouts_are_made_once_though_the_bridge_is_killed_at_every_transition() {
    common::http_crash_scenario::killed_at_every_transition(48_899, 49_900, None).await;
}
