//! `cer fetch ID...`: each report, fetched concurrently within the rate limit and printed in
//! the order the IDs were given; one line per report that is missing, and a spinner on a
//! terminal while `--wait` keeps trying.

use std::borrow::Cow;
use std::time::Duration;

use futures_util::{StreamExt, stream};

use super::Context;
use super::fetch_wait::WaitSpinner;
use crate::api::ApiClient;
use crate::api::reports::fetch_report_when_ready;
use crate::exit_status::ExitStatus;
use crate::net::ApiError;
use crate::output::{Palette, json};
use crate::report::Report;
use crate::settings::fetch::{FetchSettings, JsonLayout};

/// How many reports may be in flight at once; the rate limiter sets the actual pace.
const CONCURRENCY: usize = 8;

pub async fn run(settings: FetchSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let api = context.api();
    let output = &context.output;
    let pretty = match settings.layout {
        JsonLayout::Pretty => true,
        JsonLayout::Compact => false,
        JsonLayout::Auto => output.stdout_is_terminal(),
    };
    let wait = settings.wait.unwrap_or(Duration::ZERO);
    let spinner = WaitSpinner::new(output, settings.wait.is_some());
    let mut results = stream::iter(settings.ids.iter())
        .map(|id| {
            let (api, spinner) = (api.clone(), spinner.clone());
            async move { (id, fetch_one(&api, id, wait, &spinner).await) }
        })
        .buffered(CONCURRENCY);
    let (mut missing, mut failed) = (Vec::new(), None);
    while let Some((id, result)) = results.next().await {
        match result {
            Ok(report) => {
                let text = render(&report, pretty, output.stdout_palette());
                spinner.suspend(|| output.data_line(&text))?;
            }
            Err(ApiError::NotFound { .. }) => missing.push(id.as_str()),
            Err(err) => {
                let err =
                    anyhow::Error::new(err).context(format!("cannot fetch the report of {id}"));
                if settings.ids.len() > 1 {
                    spinner.suspend(|| output.warn(format!("{err:#}")));
                }
                failed.get_or_insert(err);
            }
        }
    }
    spinner.finish();
    report_missing(&missing, settings.wait, context);
    match (failed, missing.is_empty()) {
        (Some(err), _) => Err(err),
        // Each missing report has had its line: exit 3 without another message.
        (None, false) => Ok(ExitStatus::NotFound),
        (None, true) => Ok(ExitStatus::Success),
    }
}

/// One attempt; when the report is not there and `--wait` was given, keeps trying with the
/// spinner showing.
async fn fetch_one(
    api: &ApiClient,
    id: &str,
    wait: Duration,
    spinner: &WaitSpinner,
) -> Result<Report, ApiError> {
    match fetch_report_when_ready(api, id, Duration::ZERO).await {
        Err(ApiError::NotFound { .. }) if !wait.is_zero() => {
            let _waiting = spinner.waiting_for(id);
            fetch_report_when_ready(api, id, wait).await
        }
        other => other,
    }
}

/// One line per missing report; the hint only when waiting could still help.
fn report_missing(missing: &[&str], wait: Option<Duration>, context: &Context) {
    let output = &context.output;
    for id in missing {
        output.error(match wait {
            Some(wait) => format!(
                "no report for {id}: still none after waiting {} s",
                wait.as_secs()
            ),
            None => format!("no report for {id}: GoTo has no such call, or it has not ended yet"),
        });
    }
    if !missing.is_empty() && wait.is_none() {
        output
            .hint("a report is ready a few seconds after its call ends; `--wait 60` keeps trying");
    }
}

/// GoTo's text, re-indented for a person or on one line for a pipe (without a copy when
/// GoTo sent it compact): never reshaped.
fn render(report: &Report, pretty: bool, palette: Palette) -> Cow<'_, str> {
    if pretty {
        let mut text = String::with_capacity(report.text().len() * 2);
        json::push_pretty(report.text(), palette, &mut text);
        Cow::Owned(text)
    } else {
        json::compact(report.text())
    }
}
