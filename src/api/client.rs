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

use crate::auth::Tokens;
use crate::net::ApiError;
use crate::net::body::{BodyError, MAX_API_BODY, read_capped};
/// Kept here too: callers written before `net` existed name it by this path.
pub use crate::net::describe_transport;
use crate::net::retry::{RetryPolicy, parse_retry_after};
use crate::secret::Secret;

/// GoTo counts its rate limit per API, so cer keeps one limiter for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GotoApi {
    /// Reports and report summaries, and the Call Events subscriptions.
    CallEventsReport,
    /// Notification channels (`/notification-channel/...`).
    NotificationChannel,
    /// Recordings and transcripts (`/recording/...`).
    Recording,
}

impl GotoApi {
    /// The API's name as a metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::CallEventsReport => "call-events-report",
            Self::NotificationChannel => "notification-channel",
            Self::Recording => "recording",
        }
    }

    fn of_path(path: &str) -> Self {
        if path.starts_with("/notification-channel") {
            Self::NotificationChannel
        } else if path.starts_with("/recording/") {
            Self::Recording
        } else {
            Self::CallEventsReport
        }
    }
}

/// Told of every answer GoTo gives (`None`: no answer came), for example to count requests.
pub trait RequestObserver: Send + Sync {
    /// One attempt at a request to `api` ended: with this HTTP status, or `None` when no
    /// answer came (a transport failure).
    fn answered(&self, api: GotoApi, status: Option<u16>);
}

/// A request as cer describes it: method, path under the API base, query and JSON body.
#[derive(Clone)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path under the API base, starting with `/`.
    pub path: String,
    /// Query pairs, in order, encoded when sent.
    pub query: Vec<(String, String)>,
    /// A JSON body, if any.
    pub body: Option<Value>,
    /// Whether a 3xx answer with a `Location` is the answer (the Recording API's downloads),
    /// rather than an error.
    pub redirect: bool,
    /// What logs show instead of `path` when the path holds a secret (a download token).
    pub shown: Option<String>,
}

/// Shows the path as logs may (a download token stays hidden).
impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.shown_path())
            .field("query", &self.query)
            .field("body", &self.body)
            .field("redirect", &self.redirect)
            .finish()
    }
}

impl ApiRequest {
    /// A request with no query and no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            redirect: false,
            shown: None,
        }
    }

    /// A `GET` of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// Adds a query pair.
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Takes a 3xx with a `Location` as the answer: [`ApiResponse::location`] holds it.
    pub fn redirected(mut self) -> Self {
        self.redirect = true;
        self
    }

    /// Logs show `shown` instead of the path, which holds a secret.
    pub fn shown_as(mut self, shown: impl Into<String>) -> Self {
        self.shown = Some(shown.into());
        self
    }

    /// The path as logs may show it.
    pub fn shown_path(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.path)
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
    /// The (2xx) status.
    pub status: StatusCode,
    /// The body, at most [`MAX_API_BODY`] bytes.
    pub body: bytes::Bytes,
    /// Where a redirect of a [`ApiRequest::redirected`] request points: a secret (it may
    /// carry a signature), never logged.
    pub location: Option<Secret>,
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
    recording_limiter: DefaultDirectRateLimiter,
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
                recording_limiter: limiter(),
                retry,
                observer: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Tells `observer` of every answer from now on (the first observer set stays).
    pub fn observe_requests(&self, observer: Arc<dyn RequestObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    /// The HTTP client underneath (no redirects, no default headers): for requests to hosts
    /// other than GoTo's API host, which must not carry the bearer token.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The base of GoTo's REST APIs, against which redirects resolve.
    pub fn base(&self) -> &Url {
        &self.inner.base
    }

    /// The retry limits this client uses, for callers that retry answers of their own.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Sends a request until it succeeds or fails for good, waiting between attempts no more
    /// than the policy's total, and saying so on stderr when a wait is long enough to notice.
    pub async fn send(&self, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let policy = self.inner.retry;
        let (mut retries, mut rate_limited, mut refreshed) = (0, 0, false);
        let started = tokio::time::Instant::now();
        loop {
            let (wait, err) = match self.attempt(request).await? {
                Attempt::Done(response) => return Ok(response),
                Attempt::Unauthorized(token, err) => {
                    if refreshed {
                        return Err(err);
                    }
                    tracing::debug!(path = %request.shown_path(), "401: refreshing the token once");
                    self.inner.tokens.refresh_rejected(&token).await?;
                    refreshed = true;
                    continue;
                }
                Attempt::RateLimited(_, err) if rate_limited >= policy.max_rate_limited => {
                    return Err(err);
                }
                Attempt::RateLimited(retry_after, err) => {
                    rate_limited += 1;
                    (policy.rate_limited_wait(retry_after, rate_limited - 1), err)
                }
                Attempt::Backoff(err) if retries >= policy.max_retries => return Err(err),
                Attempt::Backoff(err) => {
                    retries += 1;
                    (policy.backoff(retries - 1), err)
                }
                Attempt::Fail(err) => return Err(err),
            };
            // Attempts count too: a server that never answers is as much a wait as a 429.
            let spent = started.elapsed();
            if !policy.may_wait(spent, wait) {
                tracing::debug!("{err}; giving up after {spent:.1?} in all");
                return Err(err);
            }
            announce_wait(request, &err, wait);
            tokio::time::sleep(wait).await;
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
            GotoApi::Recording => &self.inner.recording_limiter,
        };
        limiter.until_ready().await;
        let token = self.inner.tokens.access_token().await?;
        let sent = announce_if_slow(request, self.build(request, &token).send()).await;
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
        let location = redirect_location(request, &response);
        let body = match read_capped(response, MAX_API_BODY).await {
            Ok(body) => body,
            Err(BodyError::Transport(err)) => return Ok(self.transport_failure(request, &err)),
            Err(too_large) => {
                return Ok(Attempt::Fail(ApiError::InvalidBody(too_large.to_string())));
            }
        };
        tracing::debug!(method = %request.method, path = %request.shown_path(), %status, "GoTo answered");
        if status.is_success() || location.is_some() {
            return Ok(Attempt::Done(ApiResponse {
                status,
                body,
                location,
            }));
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

/// The `Location` of a 3xx answer to a request that takes redirects as answers.
fn redirect_location(request: &ApiRequest, response: &reqwest::Response) -> Option<Secret> {
    if !request.redirect || !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    location.to_str().ok().map(Secret::new)
}

/// Waits from this long on are worth a line on stderr: a person should know why cer is quiet.
const NOTICEABLE_WAIT: Duration = Duration::from_secs(2);
/// How late an answer may be before cer says it is waiting for it.
const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// Sends, and says on stderr once the answer is [`NOTICEABLE_WAIT`] late: without it a GoTo
/// that does not answer leaves cer silent until the request times out.
async fn announce_if_slow<T>(request: &ApiRequest, sending: impl Future<Output = T>) -> T {
    tokio::pin!(sending);
    tokio::select! {
        answer = &mut sending => return answer,
        () = tokio::time::sleep(SLOW_ANSWER) => {}
    }
    tracing::warn!(
        "GoTo has not answered {} {} for {}s; waiting up to {}s",
        request.method,
        request.shown_path(),
        SLOW_ANSWER.as_secs(),
        super::http::REQUEST_TIMEOUT.as_secs()
    );
    sending.await
}

fn announce_wait(request: &ApiRequest, err: &ApiError, wait: Duration) {
    if wait >= NOTICEABLE_WAIT {
        tracing::warn!(
            "waiting {wait:.0?} for GoTo before trying {} {} again: {err}",
            request.method,
            request.shown_path()
        );
    } else {
        tracing::debug!(path = %request.shown_path(), "{err}; retrying in {wait:.1?}");
    }
}
