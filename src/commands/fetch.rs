//! `cer fetch ID...`: each report, fetched concurrently within the rate limit and printed in
//! the order the IDs were given.

use std::time::Duration;

use anyhow::Context as _;
use futures_util::{StreamExt, stream};
use serde_json::Value;
use tokio::time::Instant;

use super::Context;
use crate::api::reports::fetch_report;
use crate::api::{ApiClient, ApiError};
use crate::settings::commands::{FetchSettings, JsonLayout};

/// How many reports may be in flight at once; the rate limiter sets the actual pace.
const CONCURRENCY: usize = 8;

pub async fn run(settings: FetchSettings, context: &Context) -> anyhow::Result<()> {
    let api = context.api();
    let pretty = match settings.layout {
        JsonLayout::Pretty => true,
        JsonLayout::Compact => false,
        JsonLayout::Auto => context.output.stdout_is_terminal(),
    };
    let wait = settings.wait;
    let mut results = stream::iter(settings.ids.iter())
        .map(|id| {
            let api = api.clone();
            async move { (id, fetch_with_wait(&api, id, wait).await) }
        })
        .buffered(CONCURRENCY);
    let (mut missing, mut failed) = (Vec::new(), None);
    while let Some((id, result)) = results.next().await {
        match result {
            Ok(report) => context.output.data(render(&report, pretty)?.as_bytes())?,
            Err(ApiError::NotFound { .. }) => {
                context.output.warn(format!("no report for {id}"));
                missing.push(id.as_str());
            }
            Err(err) => {
                let err =
                    anyhow::Error::new(err).context(format!("cannot fetch the report of {id}"));
                if settings.ids.len() > 1 {
                    context.output.warn(format!("{err:#}"));
                }
                failed.get_or_insert(err);
            }
        }
    }
    if let Some(err) = failed {
        return Err(err);
    }
    if !missing.is_empty() {
        let message = format!("no report for {}", missing.join(", "));
        return Err(anyhow::Error::new(ApiError::NotFound {
            message: String::new(),
        })
        .context(message)
        .context("the call may not have ended yet; `--wait SECS` keeps trying"));
    }
    Ok(())
}

fn render(report: &Value, pretty: bool) -> anyhow::Result<String> {
    let mut text = if pretty {
        serde_json::to_string_pretty(report)
    } else {
        serde_json::to_string(report)
    }
    .context("cannot print a report")?;
    text.push('\n');
    Ok(text)
}

/// Fetches a report; with `wait`, a 404 (not ready yet) is retried until the deadline.
async fn fetch_with_wait(
    api: &ApiClient,
    id: &str,
    wait: Option<Duration>,
) -> Result<Value, ApiError> {
    // A wait too long to add to the clock means "as long as it takes".
    let deadline = wait.map(|wait| Instant::now().checked_add(wait));
    let mut pause = Duration::from_millis(250);
    loop {
        match fetch_report(api, id).await {
            Err(ApiError::NotFound { message }) => {
                let wake = Instant::now() + pause;
                match deadline {
                    Some(Some(deadline)) if wake < deadline => {}
                    Some(None) => {}
                    _ => return Err(ApiError::NotFound { message }),
                }
                tracing::debug!("report {id} not ready; trying again in {pause:?}");
                tokio::time::sleep_until(wake).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}
