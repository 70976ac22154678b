//! What a socket task is told to do, apart from the task itself, so the shared state can keep
//! each socket's sender without depending on the WebSocket server (which works on that state).

use std::time::Duration;

/// What a socket task is told to do.
#[derive(Debug, Clone)]
pub(crate) enum SocketCmd {
    /// Send a text frame.
    Text(String),
    /// Close cleanly (close frame with this reason), then end.
    Close(&'static str),
    /// End at once without a close frame: the TCP connection just drops.
    Abort,
    /// Neither read nor write for this long: a dead link.
    Stall(Duration),
    /// Close cleanly after this grace period.
    CloseAfter(Duration),
}
