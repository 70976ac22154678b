//! The HTTP server: one router for OAuth, REST, the WebSocket and the control endpoints on a
//! single loopback port, and an accept loop whose connections all die with the sandbox (which
//! `axum::serve` would not guarantee for open keep-alive or upgraded connections).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::errors::ApiError;
use super::state::Shared;
use super::{
    channels, control, middleware, oauth, recording_api, recording_subs, reports, subscriptions,
    summaries, websocket,
};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/token", post(oauth::token))
        .route("/notification-channel/v1/channels", get(channels::list))
        .route(
            "/notification-channel/v1/channels/{nickname}",
            post(channels::create),
        )
        .route(
            "/notification-channel/v1/channels/{nickname}/{channel_id}",
            put(channels::refresh).delete(channels::delete),
        )
        .route(
            "/notification-channel-ws/v1/channels/{nickname}/{channel_id}/ws",
            get(websocket::upgrade),
        )
        .route(
            "/call-events-report/v1/subscriptions",
            post(subscriptions::create)
                .get(subscriptions::read)
                .delete(subscriptions::delete),
        )
        .route(
            "/call-events-report/v1/report-summaries",
            get(summaries::list),
        )
        .route("/call-events-report/v1/reports/{id}", get(reports::get))
        .route(
            "/recording/v1/recordings/{id}/content",
            get(recording_api::content),
        )
        .route(
            "/recording/v1/recordings/{id}/content/{token}",
            get(recording_api::download),
        )
        .route(
            "/recording/v1/transcriptions/{id}",
            get(recording_api::transcription),
        )
        .route(
            "/recording/v1/subscriptions",
            post(recording_subs::create).get(recording_subs::list),
        )
        .route(
            "/recording/v1/subscriptions/{id}",
            delete(recording_subs::delete),
        )
        .route("/_sandbox/calls", post(control::place_call))
        .route("/_sandbox/reports/{id}/analysis", post(control::analysis))
        .route("/_sandbox/token", post(control::token))
        .route("/_sandbox/faults", get(control::list_faults))
        .route("/_sandbox/faults/{name}", post(control::apply_fault))
        .route(
            "/_sandbox/recording-options",
            post(control::recording_options),
        )
        .route("/_sandbox/state", get(control::state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&shared), middleware::observe))
        .with_state(shared)
}

async fn not_found() -> Response {
    ApiError::not_found("NOT_FOUND", "No such resource").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method not allowed",
    )
    .into_response()
}

/// Accepts connections until the task is aborted; each connection is a sandbox task too.
pub(crate) async fn serve(listener: TcpListener, router: Router, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "sandbox accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        shared.spawn(async move {
            let _ = conn.await;
        });
    }
}
