//! The `--metrics ADDR` HTTP server: `GET /metrics` and `GET /healthz`, on a task of its own,
//! reading only atomics and a short lock, so a slow or hostile scraper never holds up listening
//! (its connections are bounded in time and number: see [`super::connections`]).

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::connections::{ServerTiming, accept_all};
use super::health::Health;
use super::metrics::{CONTENT_TYPE, Metrics};

#[derive(Clone)]
struct Shared {
    metrics: Metrics,
    health: Health,
}

/// Binds `address` and serves until the process ends; returns the bound address (for port 0).
pub async fn serve(
    address: SocketAddr,
    timing: ServerTiming,
    metrics: Metrics,
    health: Health,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot serve metrics on {address}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the metrics address")?;
    let router = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(health_page))
        .with_state(Shared { metrics, health });
    tokio::spawn(accept_all(listener, router, timing));
    Ok(bound)
}

async fn metrics_page(State(shared): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        shared.metrics.encode(),
    )
        .into_response()
}

/// 200 `ok` when healthy, else 503 with the reasons, as plain text.
async fn health_page(State(shared): State<Shared>) -> Response {
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    match shared.health.check() {
        Ok(()) => (StatusCode::OK, text, "ok\n".to_string()).into_response(),
        Err(unhealthy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            text,
            format!("{unhealthy}\n"),
        )
            .into_response(),
    }
}
