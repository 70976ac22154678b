//! Authenticated, rate-limited, retrying requests to GoTo's REST APIs.
//!
//! Every GoTo call goes through [`ApiClient::send`]: it waits for the per-API rate limiter, adds
//! a fresh bearer token, refreshes once on a 401, honours `Retry-After` on a 429 and backs off on
//! 5xx and transport errors, so that callers see either a body or a final, typed [`ApiError`].

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::error::ApiError;
use super::retry::{RetryPolicy, parse_retry_after};
use crate::auth::Tokens;
use crate::secret::Secret;

/// GoTo counts its rate limit per API, so cer keeps one limiter for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GotoApi {
    CallEventsReport,
    NotificationChannel,
}

impl GotoApi {
    /// The API's name as a metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::CallEventsReport => "call-events-report",
            Self::NotificationChannel => "notification-channel",
        }
    }

    fn of_path(path: &str) -> Self {
        if path.starts_with("/notification-channel") {
            Self::NotificationChannel
        } else {
            Self::CallEventsReport
        }
    }
}

/// Told of every answer GoTo gives (`None`: no answer came), for example to count requests.
pub trait RequestObserver: Send + Sync {
    fn answered(&self, api: GotoApi, status: Option<u16>);
}

/// A request as cer describes it: method, path under the API base, query and JSON body.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl ApiRequest {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Whether sending it twice is harmless. A repeated POST could leave a second channel
    /// behind, so POSTs are retried only when GoTo certainly did not act (429, no connection).
    fn is_idempotent(&self) -> bool {
        self.method != Method::POST
    }
}

/// A successful answer: its status and raw body.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub body: bytes::Bytes,
}

impl ApiResponse {
    /// The body as JSON, keeping GoTo's key order and every field.
    pub fn json(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|err| {
            ApiError::InvalidBody(format!(
                "expected JSON ({err}); the answer began with {:?}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(60)])
            ))
        })
    }
}

/// The shared, cheap-to-clone GoTo REST client.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    tokens: Tokens,
    report_limiter: DefaultDirectRateLimiter,
    channel_limiter: DefaultDirectRateLimiter,
    retry: RetryPolicy,
    observer: std::sync::OnceLock<Arc<dyn RequestObserver>>,
}

/// What one attempt came to, and so what the retry loop does next.
enum Attempt {
    Done(ApiResponse),
    Unauthorized(Secret, ApiError),
    RateLimited(Option<Duration>, ApiError),
    Backoff(ApiError),
    Fail(ApiError),
}

impl ApiClient {
    /// `rate` is the limit per API in requests per second; requests are spaced evenly, a slot
    /// apart. A burst of two lets a request that woke late keep to that schedule: with a burst
    /// of one each late wake-up pushed every later slot back, and `sync` and `listen` drained
    /// at 89 to 95 % of `rate` (`cargo bench --bench cer`). A second then holds at most
    /// `rate + 1` requests, which GoTo's per-second limit (a 429 is waited out) tolerates.
    pub fn new(
        http: reqwest::Client,
        base: Url,
        tokens: Tokens,
        rate: u32,
        retry: RetryPolicy,
    ) -> Self {
        let limiter = || {
            let per_second = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(NonZeroU32::MIN.saturating_add(1)),
            )
        };
        Self {
            inner: Arc::new(Inner {
                http,
                base,
                tokens,
                report_limiter: limiter(),
                channel_limiter: limiter(),
                retry,
                observer: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Tells `observer` of every answer from now on (the first observer set stays).
    pub fn observe_requests(&self, observer: Arc<dyn RequestObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    /// Sends a request until it succeeds or fails for good.
    pub async fn send(&self, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let policy = self.inner.retry;
        let (mut retries, mut rate_limited, mut refreshed) = (0, 0, false);
        loop {
            match self.attempt(request).await? {
                Attempt::Done(response) => return Ok(response),
                Attempt::Unauthorized(token, err) => {
                    if refreshed {
                        return Err(err);
                    }
                    tracing::debug!(path = %request.path, "401: refreshing the token once");
                    self.inner.tokens.refresh_rejected(&token).await?;
                    refreshed = true;
                }
                Attempt::RateLimited(retry_after, err) => {
                    if rate_limited >= policy.max_rate_limited {
                        return Err(err);
                    }
                    let wait = policy.rate_limited_wait(retry_after, rate_limited);
                    rate_limited += 1;
                    tracing::debug!(path = %request.path, ?wait, "429: waiting before retrying");
                    tokio::time::sleep(wait).await;
                }
                Attempt::Backoff(err) => {
                    if retries >= policy.max_retries {
                        return Err(err);
                    }
                    let wait = policy.backoff(retries);
                    retries += 1;
                    tracing::debug!(path = %request.path, "{err}; retry {retries} in {wait:.1?}");
                    tokio::time::sleep(wait).await;
                }
                Attempt::Fail(err) => return Err(err),
            }
        }
    }

    /// Sends a request and reads its answer as JSON.
    pub async fn send_json(&self, request: &ApiRequest) -> Result<Value, ApiError> {
        self.send(request).await?.json()
    }

    async fn attempt(&self, request: &ApiRequest) -> Result<Attempt, ApiError> {
        let api = GotoApi::of_path(&request.path);
        let limiter = match api {
            GotoApi::CallEventsReport => &self.inner.report_limiter,
            GotoApi::NotificationChannel => &self.inner.channel_limiter,
        };
        limiter.until_ready().await;
        let token = self.inner.tokens.access_token().await?;
        let sent = self.build(request, &token).send().await;
        if let Some(observer) = self.inner.observer.get() {
            observer.answered(api, sent.as_ref().ok().map(|r| r.status().as_u16()));
        }
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Ok(self.transport_failure(request, &err)),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(err) => return Ok(self.transport_failure(request, &err)),
        };
        tracing::debug!(method = %request.method, path = %request.path, %status, "GoTo answered");
        if status.is_success() {
            return Ok(Attempt::Done(ApiResponse { status, body }));
        }
        let err = ApiError::from_status(status.as_u16(), retry_after, &body);
        Ok(match status.as_u16() {
            401 => Attempt::Unauthorized(token, err),
            429 => Attempt::RateLimited(retry_after, err),
            500..=599 if request.is_idempotent() => Attempt::Backoff(err),
            _ => Attempt::Fail(err),
        })
    }

    fn build(&self, request: &ApiRequest, token: &Secret) -> reqwest::RequestBuilder {
        let url = format!(
            "{}{}",
            self.inner.base.as_str().trim_end_matches('/'),
            request.path
        );
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        builder
    }

    fn transport_failure(&self, request: &ApiRequest, err: &reqwest::Error) -> Attempt {
        let error = ApiError::Transport(describe_transport(err));
        if request.is_idempotent() || err.is_connect() {
            Attempt::Backoff(error)
        } else {
            Attempt::Fail(error)
        }
    }
}

/// A one-line reason for a transport error, without the URL's query (it may name account keys
/// in logs users share) but with the innermost cause, which is the useful part.
pub fn describe_transport(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off"
    } else {
        "request failed"
    };
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let host = err
        .url()
        .map(|u| format!(" ({})", u.host_str().unwrap_or("?")))
        .unwrap_or_default();
    format!("{kind}{host}: {source}")
}
