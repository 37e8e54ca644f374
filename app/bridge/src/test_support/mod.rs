//! What the bridge's tests run against: a real HTTP payment provider and a real PostgreSQL
//! server (feature `test-support`; never in the service binary).

pub mod postgres;
pub mod provider;
