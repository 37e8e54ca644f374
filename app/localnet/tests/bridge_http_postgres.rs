//! The HTTP-payout crash scenario on PostgreSQL (same schema, same test as on SQLite); see
//! `common/http_crash_scenario.rs`.

use allot_bridge::test_support::postgres::TestPostgres;

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_http_payouts_are_made_once_though_the_bridge_is_killed_at_every_transition() {
    let postgres = TestPostgres::start().expect("a PostgreSQL server");
    let database = postgres.database().await.unwrap();
    let market = common::bridge_harness::Market::open(44_899, 44_950, 3, false).await;
    common::http_crash_scenario::killed_at_every_transition(&market, Some(database.url)).await;
}
