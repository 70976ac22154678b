//! Talking HTTP to GoTo, below both its users: the REST and WebSocket client (`api`) and the
//! OAuth token client (`auth`) fail the same ways, cap bodies the same way and retry the same
//! way, so the error kinds, body caps, retry policy and transport descriptions live here and
//! `auth` never has to import `api` (which imports `auth` for its tokens).

mod auth_error;
pub mod body;
mod error;
pub mod retry;
mod transport;

pub use auth_error::AuthError;
pub use error::{ApiError, error_message};
pub use transport::describe_transport;
