//! The channel WebSocket, served on the REST port without axum's `ws` feature: a hand-checked
//! RFC 6455 upgrade, then one task per socket that answers pings, ignores client data (the socket
//! is receive-only) and obeys commands from notifications and faults.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::channels::purge_expired;
use super::errors::ApiError;
use super::socket_cmd::SocketCmd;
use super::state::Shared;
use super::time::now_ms;

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// `now + d`, saturating at a far-future instant instead of panicking on huge durations.
fn later(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The `Sec-WebSocket-Key` of a valid RFC 6455 upgrade request.
fn upgrade_key(headers: &HeaderMap) -> Result<Vec<u8>, ApiError> {
    if !header_has(headers, header::UPGRADE, "websocket")
        || !header_has(headers, header::CONNECTION, "upgrade")
    {
        let e = ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "UPGRADE_REQUIRED",
            "This URL only serves WebSocket upgrades",
        );
        return Err(e.with_header(header::UPGRADE, "websocket"));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        return Err(ApiError::bad_request("Sec-WebSocket-Version must be 13"));
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec())
        .ok_or_else(|| ApiError::bad_request("Sec-WebSocket-Key is required"))
}

/// `GET /notification-channel-ws/v1/channels/{nickname}/{channelId}/ws`
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path((nickname, channel_id)): Path<(String, String)>,
    mut req: Request,
) -> Response {
    let key = match upgrade_key(req.headers()) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let socket_id = {
        let mut inner = shared.lock();
        purge_expired(&mut inner, now_ms());
        inner.next_socket_id += 1;
        let id = inner.next_socket_id;
        match inner
            .channel_mut(&channel_id)
            .filter(|c| c.nickname == nickname)
        {
            Some(channel) => channel.sockets.insert(id, tx),
            None => return ApiError::channel_not_found(&channel_id).into_response(),
        };
        id
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let task_shared = Arc::clone(&shared);
    shared.spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            run(ws, rx).await;
        }
        if let Some(c) = task_shared.lock().channel_mut(&channel_id) {
            c.sockets.remove(&socket_id);
        }
    });
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(&key)) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    resp
}

/// One socket's life: until the peer leaves, a command ends it, or the sandbox stops.
async fn run(mut ws: Socket, mut rx: mpsc::UnboundedReceiver<SocketCmd>) {
    let mut close_at: Option<Instant> = None;
    loop {
        let deadline = close_at.unwrap_or_else(|| later(Duration::from_secs(86_400)));
        tokio::select! {
            frame = ws.next() => match frame {
                // tungstenite queues the pong (echoing the payload); flushing sends it now.
                Some(Ok(Message::Ping(_))) => {
                    if ws.flush().await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            cmd = rx.recv() => match cmd {
                Some(SocketCmd::Text(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                Some(SocketCmd::Close(reason)) => return close(ws, reason).await,
                Some(SocketCmd::Abort) => return,
                Some(SocketCmd::Stall(d)) => {
                    if !stall(&mut rx, d).await {
                        return;
                    }
                }
                Some(SocketCmd::CloseAfter(grace)) => close_at = Some(later(grace)),
                None => return close(ws, "Notification channel closed").await,
            },
            _ = sleep_until(deadline), if close_at.is_some() => {
                return close(ws, "WEBSOCKET_TO_BE_CLOSED").await;
            }
        }
    }
}

/// A dead link: nothing read (so pings go unanswered), nothing sent, notifications lost.
/// Returns false when the socket must end meanwhile.
async fn stall(rx: &mut mpsc::UnboundedReceiver<SocketCmd>, d: Duration) -> bool {
    let mut until = later(d);
    loop {
        tokio::select! {
            _ = sleep_until(until) => return true,
            cmd = rx.recv() => match cmd {
                None | Some(SocketCmd::Abort) | Some(SocketCmd::Close(_)) => return false,
                Some(SocketCmd::Stall(more)) => until = until.max(later(more)),
                Some(SocketCmd::Text(_)) | Some(SocketCmd::CloseAfter(_)) => {}
            },
        }
    }
}

/// The closing handshake, bounded so a silent peer cannot keep the task alive.
async fn close(mut ws: Socket, reason: &'static str) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: reason.into(),
    };
    if ws.close(Some(frame)).await.is_err() {
        return;
    }
    let _ = timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}
