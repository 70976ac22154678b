//! `cer status`: who is logged in, where the tokens are, and how long the access token lasts.
//! It reads the store only, unless `--check` asks for one authenticated request to GoTo.

use anyhow::Context as _;
use jiff::Timestamp;

use super::Context;
use crate::api::reports::fetch_report;
use crate::auth::Credentials;
use crate::auth::recordings::RecordingAccess;
use crate::exit_status::ExitStatus;
use crate::net::ApiError;
use crate::net::AuthError;
use crate::settings::status::StatusSettings;

/// A conversationSpaceId no call has: asking for its report costs one request, and GoTo
/// answers 404 to an accepted token, 401 or 403 to a refused one.
const NO_CALL: &str = "00000000-0000-3000-8000-000000000000";

pub async fn run(settings: StatusSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    if settings.fixed_token {
        context.output.data(
            b"Using the access token in CER_TOKEN as is (no store, no refresh).\n\
              Its scopes are not known to cer: --archive tries, and GoTo refuses (403) what it \
              does not allow.\n",
        )?;
        return match settings.check {
            true => check_with_goto(context).await,
            false => Ok(ExitStatus::Success),
        };
    }
    let found = context.tokens().stored_credentials().await?;
    let Some((store, credentials)) = found else {
        return Err(AuthError::NotLoggedIn.into());
    };
    let report = describe(
        &credentials,
        &store.describe(),
        settings.account_key.as_deref(),
        Timestamp::now(),
    );
    context.output.data(report.as_bytes())?;
    match settings.check {
        true => check_with_goto(context).await,
        false => Ok(ExitStatus::Success),
    }
}

/// `--check`: one authenticated request (refreshing the token first if it expired).
async fn check_with_goto(context: &Context) -> anyhow::Result<ExitStatus> {
    let api = context.api();
    match fetch_report(&api, NO_CALL).await {
        Ok(_) | Err(ApiError::NotFound { .. }) => {
            context
                .output
                .data(b"Checked:       GoTo accepts the access token\n")?;
            Ok(ExitStatus::Success)
        }
        Err(err) => Err(err).context("checked with GoTo: the access token does not work"),
    }
}

fn describe(
    credentials: &Credentials,
    store: &str,
    configured_account: Option<&str>,
    now: Timestamp,
) -> String {
    let who = credentials
        .principal
        .as_deref()
        .unwrap_or("(GoTo did not name the user)");
    let account = match (&credentials.account_key, configured_account) {
        (Some(key), _) => format!("{key} (from GoTo)"),
        (None, Some(key)) => format!("{key} (ACCOUNT_KEY)"),
        (None, None) => "not set (set ACCOUNT_KEY for listen and summaries)".to_string(),
    };
    let scopes = credentials.scope.as_deref().unwrap_or("(not reported)");
    let refresh = if credentials.refresh_token.is_some() {
        "stored"
    } else {
        "none"
    };
    format!(
        "Logged in to GoTo as {who}\n\
         Store:         {store}\n\
         Account key:   {account}\n\
         Scopes:        {scopes}\n\
         Recordings:    {}\n\
         Access token:  {}\n\
         Refresh token: {refresh}\n",
        recordings(credentials.scope.as_deref()),
        expiry(credentials.expires_at, now),
    )
}

/// Whether `--archive` can keep recordings with this login, and what to do when not.
fn recordings(scope: Option<&str>) -> &'static str {
    if scope.is_none() {
        return "not known (GoTo reported no scopes); --archive tries";
    }
    match RecordingAccess::of_scope(scope) {
        RecordingAccess {
            read: true,
            notifications: true,
        } => "can be archived (--archive)",
        RecordingAccess { read: true, .. } => {
            "can be archived from the reports only (no recording.v1.notifications.manage)"
        }
        RecordingAccess { read: false, .. } => {
            "cannot be archived: `cer login --recordings` asks for the scopes"
        }
    }
}

fn expiry(expires_at: Timestamp, now: Timestamp) -> String {
    let left = expires_at.duration_since(now).as_secs();
    let when = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ");
    if left > 0 {
        format!(
            "expires {when} (in {})",
            crate::output::time::human_duration(left)
        )
    } else {
        format!(
            "expired {when} ({} ago; refreshed on next use)",
            crate::output::time::human_duration(-left)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn names_the_user_store_scopes_and_expiry_without_secrets() {
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let credentials = Credentials {
            access_token: Secret::new("AT-secret"),
            refresh_token: Some(Secret::new("RT-secret")),
            issued_at: now,
            expires_at: "2026-11-24T11:00:00Z".parse().unwrap(),
            scope: Some("cr.v1.read call-events.v1.notifications.manage".into()),
            principal: Some("owner@example.test".into()),
            account_key: None,
        };
        let text = describe(&credentials, "file /x/credentials.json", Some("123"), now);
        assert!(text.contains("owner@example.test"));
        assert!(text.contains("file /x/credentials.json"));
        assert!(text.contains("123 (ACCOUNT_KEY)"));
        assert!(text.contains("expires 2026-11-24T11:00:00Z (in 1h 00m)"));
        assert!(!text.contains("secret"));
        assert!(text.contains("Recordings:    cannot be archived: `cer login --recordings`"));
    }

    #[test]
    fn says_whether_recordings_can_be_archived() {
        let all = "cr.v1.read recording.v1.read recording.v1.notifications.manage";
        assert_eq!(recordings(Some(all)), "can be archived (--archive)");
        assert!(recordings(Some("recording.v1.read")).contains("from the reports only"));
        assert!(recordings(None).starts_with("not known"));
    }
}
