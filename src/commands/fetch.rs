//! `cer fetch ID...`: each report, fetched concurrently within the rate limit and printed in
//! the order the IDs were given.

use std::time::Duration;

use anyhow::Context as _;
use futures_util::{StreamExt, stream};
use serde_json::Value;

use super::Context;
use crate::api::ApiError;
use crate::api::reports::fetch_report_when_ready;
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
            let patience = wait.unwrap_or(Duration::ZERO);
            async move { (id, fetch_report_when_ready(&api, id, patience).await) }
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
