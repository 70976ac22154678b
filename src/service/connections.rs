//! The metrics server's connections, bounded in time and in number: a client must send its
//! request head within a few seconds (an idle keep-alive connection too), and at most
//! [`MAX_CONNECTIONS`] are open at once, the oldest closed when one more arrives. So slow or
//! idle clients can neither keep `/healthz` from answering nor use up the file descriptors
//! the store needs (`axum::serve` sets no timer and no limit).

use crate::time_scale::TimeScale;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Open connections at most. A scraper and a health probe need one each; the rest is margin,
/// small beside any file-descriptor limit a listener runs under (1024 by default).
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// How long a client has to send a request head, once connected or after an answer.
const HEADER_READ: Duration = Duration::from_secs(5);

/// How long to wait after a failed accept (out of file descriptors, typically) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The metrics server's timers, scaled by `CER_TIME_SCALE` for tests.
#[derive(Debug, Clone, Copy)]
pub struct ServerTiming {
    /// The time allowed for a request head; an idle keep-alive connection is closed after it.
    pub header_read: Duration,
}

impl ServerTiming {
    /// The defaults, multiplied by `scale`.
    pub fn scaled(scale: TimeScale) -> Self {
        Self {
            header_read: scale.scale(HEADER_READ),
        }
    }
}

/// Accepts connections until the process ends, each served on a task of its own.
pub(super) async fn accept_all(listener: TcpListener, router: Router, timing: ServerTiming) {
    let open = Arc::new(Open::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::debug!("the metrics server cannot accept a connection: {err}");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let (id, evicted) = open.admit();
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timing.header_read)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let open = Arc::clone(&open);
        tokio::spawn(async move {
            // Dropping the connection closes its socket.
            tokio::select! {
                _ = connection => {}
                _ = evicted => {}
            }
            open.forget(id);
        });
        // Let the connection this one evicted close before the next accept: accepts that are
        // ready at once would otherwise run a whole scheduler budget (128) in a row, holding
        // that many sockets past the cap, and the store and GoTo's requests met EMFILE.
        tokio::task::yield_now().await;
    }
}

/// The open connections, oldest first; dropping one's sender closes it.
struct Open {
    cap: usize,
    state: Mutex<(u64, BTreeMap<u64, oneshot::Sender<()>>)>,
}

impl Open {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            state: Mutex::new((0, BTreeMap::new())),
        }
    }

    /// Makes room for one more connection (closing the oldest when full) and returns its ID
    /// and what tells it to close.
    fn admit(&self) -> (u64, oneshot::Receiver<()>) {
        let (close, closed) = oneshot::channel();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (next, open) = &mut *state;
        *next += 1;
        while open.len() >= self.cap {
            open.pop_first();
        }
        open.insert(*next, close);
        (*next, closed)
    }

    fn forget(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_connection_makes_room_and_the_count_never_passes_the_cap() {
        let open = Open::new(2);
        let (first, mut first_closed) = open.admit();
        let (_, mut second_closed) = open.admit();
        assert_eq!(first, 1);
        let (third, mut third_closed) = open.admit();
        assert!(
            first_closed
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Closed)
        );
        assert_eq!(
            second_closed.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        );
        assert_eq!(open.state.lock().unwrap().1.len(), 2);
        open.forget(third);
        assert_eq!(
            third_closed.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
        assert_eq!(open.state.lock().unwrap().1.len(), 1);
    }
}
