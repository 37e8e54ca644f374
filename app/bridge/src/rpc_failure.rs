//! A failed JSON-RPC call, named by its method (the `allot_bridge_rpc_errors_total` label).

use solana_rpc_client_api::client_error::Error as ClientError;

/// A JSON-RPC call that failed.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{method} failed: {message}")]
pub struct RpcFailure {
    /// The JSON-RPC method.
    pub method: &'static str,
    /// What went wrong.
    pub message: String,
}

impl RpcFailure {
    /// A failure of `method` with `message`.
    pub fn new(method: &'static str, message: impl ToString) -> Self {
        Self {
            method,
            message: message.to_string(),
        }
    }
}

/// Names the method of a client call's error.
pub trait RpcResultExt<T> {
    /// The result, its error named `method`.
    fn method(self, method: &'static str) -> Result<T, RpcFailure>;
}

impl<T> RpcResultExt<T> for Result<T, ClientError> {
    fn method(self, method: &'static str) -> Result<T, RpcFailure> {
        self.map_err(|error| RpcFailure::new(method, error))
    }
}
