//! The OAuth endpoints: authorize (auto-approved) → token with PKCE, refresh rotation,
//! revocation, and the error answers a client must handle.

use base64::Engine as _;
use cer_sandbox::Sandbox;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::support::{get, http, keys, quiet, start};

const REDIRECT: &str = "http://127.0.0.1:12021/app/redirect";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0kfUkw2UNgh8eCWdXXs0z3pRDhK1yHxk_WQe";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// GET /oauth/authorize with these query pairs; returns the status and the Location's query.
async fn authorize(sb: &Sandbox, pairs: &[(&str, &str)]) -> (u16, Vec<(String, String)>) {
    let resp = http()
        .get(format!("{}/oauth/authorize", sb.base_url()))
        .query(pairs)
        .send()
        .await
        .expect("authorize sent");
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("");
    let query = url::Url::parse(location)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    (status, query)
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A code for the given scopes, with the standard PKCE challenge.
async fn code(sb: &Sandbox, scope: &str) -> String {
    let challenge = challenge(VERIFIER);
    let pairs = [
        ("response_type", "code"),
        ("client_id", sb.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let (status, q) = authorize(sb, &pairs).await;
    assert_eq!(status, 302);
    assert_eq!(param(&q, "state"), Some("s1"));
    param(&q, "code").expect("code in redirect").to_string()
}

/// POST /oauth/token with Basic auth (`secret` lets tests send a wrong one).
async fn token(sb: &Sandbox, secret: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut req = http()
        .post(format!("{}/oauth/token", sb.base_url()))
        .form(form);
    if let Some(secret) = secret {
        req = req.basic_auth(sb.client_id(), Some(secret));
    }
    let resp = req.send().await.expect("token sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn exchange(sb: &Sandbox, code: &str, verifier: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", sb.client_id()),
    ];
    token(sb, Some(sb.client_secret()), &form).await
}

#[tokio::test]
async fn authorize_then_token_with_pkce() {
    let sb = start(quiet()).await;
    let code = code(&sb, "cr.v1.read call-events.v1.notifications.manage").await;
    let (status, body) = exchange(&sb, &code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "token_type",
            "refresh_token",
            "expires_in",
            "scope",
            "principal",
            "loa"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["scope"],
        "cr.v1.read call-events.v1.notifications.manage"
    );
    let access = body["access_token"].as_str().expect("access token");
    let (status, _) = get(&sb, access, &super::support::recent_window(&sb, 5)).await;
    assert_eq!(status, 200);

    // A code is single-use.
    let (status, body) = exchange(&sb, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn wrong_verifier_and_wrong_redirect_are_invalid_grant() {
    let sb = start(quiet()).await;
    let c = code(&sb, "").await;
    let (status, body) = exchange(
        &sb,
        &c,
        "another-verifier-that-is-long-enough-to-be-valid-0000",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(keys(&body), ["error", "error_description"]);

    let c = code(&sb, "").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", "http://127.0.0.1:1/x"),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&sb, Some(sb.client_secret()), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn client_authentication_is_basic_and_checked() {
    let sb = start(quiet()).await;
    let c = code(&sb, "").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&sb, Some("wrong-secret"), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = token(&sb, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = token(&sb, Some(sb.client_secret()), &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_revocation_ends_it() {
    let sb = start(quiet()).await;
    let c = code(&sb, "").await;
    let (_, first) = exchange(&sb, &c, VERIFIER).await;
    let r1 = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let (status, second) = token(
        &sb,
        Some(sb.client_secret()),
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"]
        .as_str()
        .expect("rotated refresh token")
        .to_string();
    assert_ne!(r1, r2);
    assert_ne!(first["access_token"], second["access_token"]);
    let (status, body) = token(
        &sb,
        Some(sb.client_secret()),
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "old refresh token is spent"
    );

    sb.faults().revoke_tokens();
    let (status, body) = token(
        &sb,
        Some(sb.client_secret()),
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let access = second["access_token"].as_str().expect("access token");
    let (status, body) = get(&sb, access, &super::support::recent_window(&sb, 5)).await;
    assert_eq!(status, 401);
    super::support::assert_goto_error(&body, "AUTHN_INVALID_TOKEN");
}

#[tokio::test]
async fn authorize_errors_go_back_as_redirect_params() {
    let sb = start(quiet()).await;
    let (id, state) = (("client_id", sb.client_id()), ("state", "xyz"));
    let (code, redirect) = (("response_type", "code"), ("redirect_uri", REDIRECT));
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[code, id, redirect, state, ("scope", "users.v1.read")],
            "invalid_scope",
        ),
        (
            &[("response_type", "token"), id, redirect, state],
            "unsupported_response_type",
        ),
        (&[id, redirect, state], "invalid_request"),
        (
            &[
                code,
                id,
                redirect,
                state,
                ("code_challenge", "abc"),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
    ];
    for (pairs, error) in cases {
        let (status, q) = authorize(&sb, pairs).await;
        assert_eq!(
            (status, param(&q, "error"), param(&q, "state")),
            (302, Some(error), Some("xyz"))
        );
        assert!(param(&q, "error_description").is_some());
    }
    // Without a valid client or redirect URI there is nowhere safe to redirect: a 400 page.
    assert_eq!(
        authorize(&sb, &[code, ("client_id", "nobody"), redirect])
            .await
            .0,
        400
    );
    assert_eq!(
        authorize(
            &sb,
            &[code, id, ("redirect_uri", "https://evil.example/cb")]
        )
        .await
        .0,
        400
    );
    assert_eq!(authorize(&sb, &[code, id]).await.0, 400);
}

#[tokio::test]
async fn deny_next_authorize_is_one_shot() {
    let sb = start(quiet()).await;
    let base = [
        ("response_type", "code"),
        ("client_id", sb.client_id()),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
    ];
    sb.faults().deny_next_authorize();
    let (status, q) = authorize(&sb, &base).await;
    assert_eq!(
        (status, param(&q, "error"), param(&q, "state")),
        (302, Some("access_denied"), Some("xyz"))
    );
    let (status, q) = authorize(&sb, &base).await;
    assert!(
        status == 302 && param(&q, "code").is_some(),
        "denial is one-shot"
    );
}

#[tokio::test]
async fn a_scope_missing_from_the_token_is_403() {
    let sb = start(quiet()).await;
    let c = code(&sb, "cr.v1.read").await;
    let (_, body) = exchange(&sb, &c, VERIFIER).await;
    assert_eq!(body["scope"], "cr.v1.read");
    let read_only = body["access_token"].as_str().expect("token").to_string();
    let (status, body) = super::support::post_json(
        &sb,
        &read_only,
        "/notification-channel/v1/channels/demo",
        &serde_json::json!({ "channelType": "WebSockets" }),
    )
    .await;
    assert_eq!(status, 403);
    super::support::assert_goto_error(&body, "AUTHZ_INSUFFICIENT_SCOPE");

    let c = code(&sb, "call-events.v1.notifications.manage").await;
    let (_, body) = exchange(&sb, &c, VERIFIER).await;
    let manage_only = body["access_token"].as_str().expect("token").to_string();
    let (status, body) = get(&sb, &manage_only, &super::support::recent_window(&sb, 5)).await;
    assert_eq!(status, 403);
    super::support::assert_goto_error(&body, "AUTHZ_INSUFFICIENT_SCOPE");
}
