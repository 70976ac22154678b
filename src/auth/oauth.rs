//! GoTo's OAuth endpoints through the `oauth2` crate: the authorize URL with PKCE, the code
//! exchange and the refresh grant, all with HTTP Basic client authentication on cer's one shared
//! reqwest client (oauth2 5 is built for reqwest 0.12, so a small adapter bridges the two).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::credentials::Credentials;
use super::local_error::OAuthClientError;
use crate::net::ApiError;
use crate::net::AuthError;
use crate::net::body::{BodyError, MAX_TOKEN_BODY, read_capped};
use crate::net::describe_transport;
use crate::net::retry::RetryPolicy;
use crate::secret::Secret;

/// The scopes cer needs: reading reports, and managing notification subscriptions.
pub const SCOPES: [&str; 2] = ["cr.v1.read", "call-events.v1.notifications.manage"];

/// The scopes `cer login --recordings` adds, for `--archive`: downloading recordings and
/// transcripts, and subscribing to recording notifications (API.md section 10 "Scopes").
pub const RECORDING_SCOPES: [&str; 2] = ["recording.v1.read", "recording.v1.notifications.manage"];

/// Fields GoTo adds to the standard token answer. `account_key` appears only on legacy hosts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct GotoTokenFields {
    /// Who logged in (an email address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The account the user belongs to (legacy hosts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<String>,
}

impl ExtraTokenFields for GotoTokenFields {}

type GotoTokenResponse = StandardTokenResponse<GotoTokenFields, BasicTokenType>;
type GotoOAuthClient = oauth2::Client<
    BasicErrorResponse,
    GotoTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;
type TokenFailure = RequestTokenError<AdapterError, BasicErrorResponse>;

/// The client id and secret, with GoTo's two OAuth endpoints.
#[derive(Clone)]
pub struct OAuthClient {
    client: GotoOAuthClient,
    secret: Secret,
    http: reqwest::Client,
    retry: RetryPolicy,
}

/// What `login` needs to remember between opening the browser and the redirect.
pub struct AuthorizeRequest {
    /// The URL to open in the browser.
    pub url: Url,
    /// The `state` the redirect must carry back, or it is not this login's.
    pub state: Secret,
    /// The PKCE verifier the code exchange proves the login with.
    pub verifier: Secret,
}

impl OAuthClient {
    /// The client for `client_id` and `client_secret` at `auth_base` (`/oauth/authorize`
    /// and `/oauth/token` under it), sending through `http` and retrying refreshes by `retry`.
    pub fn new(
        http: reqwest::Client,
        auth_base: &Url,
        client_id: &str,
        client_secret: &Secret,
        retry: RetryPolicy,
    ) -> Result<Self, url::ParseError> {
        let base = auth_base.as_str().trim_end_matches('/');
        let client = oauth2::Client::new(ClientId::new(client_id.to_string()))
            .set_client_secret(ClientSecret::new(client_secret.expose().to_string()))
            .set_auth_uri(AuthUrl::new(format!("{base}/oauth/authorize"))?)
            .set_token_uri(TokenUrl::new(format!("{base}/oauth/token"))?);
        Ok(Self {
            client,
            secret: client_secret.clone(),
            http,
            retry,
        })
    }

    fn adapter(&self, status: &StatusProbe) -> Result<Adapter, ApiError> {
        let basic = basic_header(self.client.client_id().as_str(), &self.secret)
            .ok_or(OAuthClientError::NotAHeader)?;
        Ok(Adapter {
            http: self.http.clone(),
            status: status.clone(),
            basic,
        })
    }

    /// The authorize URL with a fresh 128-bit-plus `state` and a PKCE S256 challenge, asking
    /// for [`SCOPES`], and for [`RECORDING_SCOPES`] too with `recordings`.
    pub fn authorize(
        &self,
        redirect_uri: &str,
        recordings: bool,
    ) -> Result<AuthorizeRequest, url::ParseError> {
        let extra: &[&str] = if recordings { &RECORDING_SCOPES } else { &[] };
        let scopes = SCOPES.iter().chain(extra);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .set_redirect_uri(std::borrow::Cow::Owned(RedirectUrl::new(
                redirect_uri.to_string(),
            )?))
            .add_scopes(scopes.map(|s| Scope::new(s.to_string())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(AuthorizeRequest {
            url,
            state: Secret::new(state.secret().clone()),
            verifier: Secret::new(verifier.secret().clone()),
        })
    }

    /// Trades an authorization code for tokens. Never retried: a code works only once.
    /// Like GoTo's demo, cer sends `client_id` in the body as well as in the Basic header.
    pub async fn exchange_code(
        &self,
        code: &Secret,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<Credentials, ApiError> {
        let redirect =
            RedirectUrl::new(redirect_uri.to_string()).map_err(|e| ApiError::Rejected {
                status: 0,
                message: e.to_string(),
            })?;
        let status = StatusProbe::default();
        let http = self.adapter(&status)?;
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code.expose().to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_string()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect))
            .add_extra_param("client_id", self.client.client_id().as_str())
            .request_async(&http)
            .await;
        answer
            .map(|token| credentials_from(&token, None))
            .map_err(|err| token_error(err, status.get(), false))
    }

    /// Uses a refresh token, retrying 5xx and transport failures with backoff. GoTo may leave
    /// `refresh_token` out of the answer; the old one stays valid then.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Credentials, ApiError> {
        let mut retry = 0;
        loop {
            match self.refresh_once(refresh_token).await {
                Err(err) if err.is_transient() && retry < self.retry.max_retries => {
                    let wait = match &err {
                        ApiError::RateLimited { retry_after } => {
                            self.retry.rate_limited_wait(*retry_after, retry)
                        }
                        _ => self.retry.backoff(retry),
                    };
                    tracing::debug!("token refresh failed ({err}); retrying in {wait:.1?}");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }

    async fn refresh_once(&self, refresh_token: &Secret) -> Result<Credentials, ApiError> {
        let status = StatusProbe::default();
        let http = self.adapter(&status)?;
        let old = RefreshToken::new(refresh_token.expose().to_string());
        let answer = self
            .client
            .exchange_refresh_token(&old)
            .add_extra_param("client_id", self.client.client_id().as_str())
            .request_async(&http)
            .await;
        answer
            .map(|token| credentials_from(&token, Some(refresh_token)))
            .map_err(|err| token_error(err, status.get(), true))
    }
}

fn credentials_from(token: &GotoTokenResponse, old_refresh: Option<&Secret>) -> Credentials {
    let lifetime = token.expires_in().unwrap_or(Duration::from_secs(3600));
    let refresh_token = token
        .refresh_token()
        .map(|t| Secret::new(t.secret().clone()))
        .or_else(|| old_refresh.cloned());
    let scope = token.scopes().map(|scopes| {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    Credentials::issued_now(
        Secret::new(token.access_token().secret().clone()),
        refresh_token,
        lifetime,
        scope,
        token.extra_fields().principal.clone(),
        token.extra_fields().account_key.clone(),
    )
}

/// Turns oauth2's error into cer's, using the HTTP status the adapter saw.
fn token_error(err: TokenFailure, status: Option<u16>, refreshing: bool) -> ApiError {
    let status = status.unwrap_or(0);
    match err {
        RequestTokenError::Request(adapter) => ApiError::Transport(adapter.0),
        RequestTokenError::ServerResponse(answer) => {
            let description = answer.error_description().cloned().unwrap_or_default();
            let code = answer.error().to_string();
            if refreshing && *answer.error() == BasicErrorResponseType::InvalidGrant {
                return AuthError::RefreshRejected(description).into();
            }
            let message = if description.is_empty() {
                code
            } else {
                format!("{code}: {description}")
            };
            token_endpoint_error(status, message)
        }
        // Never quote the body of a 200: it may hold a token.
        RequestTokenError::Parse(err, _) if status == 200 => ApiError::InvalidBody(format!(
            "the token endpoint's answer is not a token (at `{}`)",
            err.path()
        )),
        RequestTokenError::Parse(_, body) => {
            token_endpoint_error(status, crate::net::error_message(&body))
        }
        RequestTokenError::Other(message) => token_endpoint_error(status, message),
    }
}

/// At the token endpoint a 401 means the client id or secret was refused, which a new login
/// cannot fix, so it is not reported as an expired token.
fn token_endpoint_error(status: u16, message: String) -> ApiError {
    match status {
        401 => ApiError::Rejected {
            status,
            message: format!("the OAuth client was refused: {message}"),
        },
        _ => ApiError::from_status_message(status, None, message),
    }
}

/// The status of the last answer, which oauth2's error type does not keep.
#[derive(Default, Clone)]
struct StatusProbe(Arc<Mutex<Option<u16>>>);

impl StatusProbe {
    fn set(&self, status: u16) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(status);
        }
    }

    fn get(&self) -> Option<u16> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

/// A transport failure on the way to the token endpoint, already described for a person.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdapterError(String);

type AdapterFuture<'a> =
    Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, AdapterError>> + Send + 'a>>;

/// oauth2's HTTP hook, served by cer's reqwest 0.13 client. A named type rather than a
/// closure: with a closure the token futures stop being `Send` (a higher-ranked lifetime).
struct Adapter {
    http: reqwest::Client,
    status: StatusProbe,
    basic: http::HeaderValue,
}

impl<'c> oauth2::AsyncHttpClient<'c> for Adapter {
    type Error = AdapterError;
    type Future = AdapterFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self, request))
    }
}

/// `Basic base64(id:secret)` of the raw id and secret, as GoTo's demo sends it. oauth2
/// URL-encodes both first (RFC 6749 2.3.1), which GoTo would refuse for a secret with `+` or `/`.
fn basic_header(client_id: &str, secret: &Secret) -> Option<http::HeaderValue> {
    use base64::Engine as _;
    let raw = format!("{client_id}:{}", secret.expose());
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

async fn send(
    adapter: &Adapter,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, AdapterError> {
    let mut request = reqwest::Request::try_from(request)
        .map_err(|e| AdapterError(format!("cannot build the token request: {e}")))?;
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, adapter.basic.clone());
    let response = adapter
        .http
        .execute(request)
        .await
        .map_err(|e| AdapterError(describe_transport(&e)))?;
    let status = response.status();
    adapter.status.set(status.as_u16());
    let mut builder = http::Response::builder().status(status);
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = read_capped(response, MAX_TOKEN_BODY)
        .await
        .map_err(|e| match e {
            BodyError::Transport(e) => AdapterError(describe_transport(&e)),
            too_large => AdapterError(format!("the token answer: {too_large}")),
        })?;
    let body = if status.is_success() {
        with_token_type(&body)
    } else {
        body.to_vec()
    };
    builder
        .body(body)
        .map_err(|e| AdapterError(format!("cannot read the token answer: {e}")))
}

/// GoTo's token answers are documented with `token_type` only sometimes; oauth2 requires it.
/// Only bearer tokens exist here, so a missing one is filled in.
fn with_token_type(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut answer)) if !answer.contains_key("token_type") => {
            answer.insert("token_type".into(), "Bearer".into());
            serde_json::to_vec(&answer).unwrap_or_else(|_| body.to_vec())
        }
        _ => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_not_url_encoded() {
        use base64::Engine as _;
        let header = basic_header("client", &Secret::new("a+b/c=d!")).unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode("client:a+b/c=d!");
        assert_eq!(header.to_str().unwrap(), format!("Basic {expected}"));
        assert!(header.is_sensitive());
    }

    #[test]
    fn a_token_answer_without_token_type_is_read_as_bearer() {
        let body = br#"{"access_token":"at","expires_in":3600,"scope":"cr.v1.read"}"#;
        let fixed: serde_json::Value = serde_json::from_slice(&with_token_type(body)).unwrap();
        assert_eq!(fixed["token_type"], "Bearer");
        assert_eq!(fixed["access_token"], "at");
        let given = br#"{"access_token":"at","token_type":"bearer"}"#;
        assert_eq!(with_token_type(given), given.to_vec());
        assert_eq!(with_token_type(b"not json"), b"not json".to_vec());
    }

    // Regression: an unreadable 200 answer was quoted in the error, token included.
    #[test]
    fn an_unreadable_token_answer_is_not_quoted() {
        let body = br#"{"access_token":"SECRET-TOKEN","token_type":"Bearer","expires_in":"soon"}"#;
        let parsed = serde_path_to_error::deserialize::<_, GotoTokenResponse>(
            &mut serde_json::Deserializer::from_slice(body),
        );
        let Err(err) = parsed else { panic!("parsed") };
        let failure: TokenFailure = RequestTokenError::Parse(err, body.to_vec());
        let message = token_error(failure, Some(200), false).to_string();
        assert!(!message.contains("SECRET-TOKEN"), "{message}");
        assert!(message.contains("expires_in"), "{message}");
    }
}
