//! What the bridge's tests run against: a real HTTP payment provider, a real PostgreSQL server,
//! and a JSON-RPC proxy that records what the bridge asks the node (feature `test-support`;
//! never in the service binary).

pub mod ports;
pub mod postgres;
pub mod provider;
pub mod rpc_counter;
