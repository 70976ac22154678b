//! `cer summaries`: report summaries over a day or range, newest window first and page by
//! page (so the whole output is newest first), each page handed to the printer as it arrives
//! so memory stays flat at any size.

use anyhow::Context as _;
use jiff::Timestamp;

use super::Context;
use crate::api::pager::Pager;
use crate::api::reports::{SummaryQuery, split_range};
use crate::exit_status::ExitStatus;
use crate::output::Output;
use crate::output::progress::Progress;
use crate::output::summaries::{PrintOptions, SummaryFormat, SummaryPrinter};
use crate::output::time::in_seconds;
use crate::output::width::terminal_width;
use crate::settings::summaries::SummariesSettings;

/// Rows a terminal shows unless `--limit` or `--all` says otherwise.
const TERMINAL_LIMIT: u64 = 50;

pub async fn run(settings: SummariesSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let output = &context.output;
    let mut printer = SummaryPrinter::new(print_options(&settings, output));
    let progress = Progress::start(output, "Fetching report summaries…");
    let mut pages = 0;
    let mut text = String::new();
    for_each_page(&settings, context, |items| {
        pages += 1;
        text.clear();
        printer.page(items, &mut text);
        progress.suspend(|| output.data(text.as_bytes()))?;
        progress.set_message(format!("{} summaries, {pages} pages…", printer.seen()));
        Ok(printer.wants_more())
    })
    .await?;
    progress.finish();
    let seen = printer.seen();
    let (text, footer) = printer.finish();
    output.data(text.as_bytes())?;
    if let Some(footer) = footer {
        output.status(footer);
    }
    if seen == 0 {
        output.status(format!(
            "No calls from {} to {}.",
            local(settings.start, &settings),
            local(settings.end, &settings)
        ));
    }
    Ok(ExitStatus::Success)
}

/// Chooses the shape and the limit from the flags and whether stdout is a terminal.
fn print_options(settings: &SummariesSettings, output: &Output) -> PrintOptions {
    let terminal = output.stdout_is_terminal();
    let format = match (settings.stats, settings.json, terminal) {
        (true, true, _) => SummaryFormat::StatsJson,
        (true, false, _) => SummaryFormat::Stats,
        (false, true, _) => SummaryFormat::Json,
        (false, false, true) => SummaryFormat::Table,
        (false, false, false) => SummaryFormat::Tsv,
    };
    let limit = match (settings.limit, settings.all, format) {
        (Some(n), _, _) => Some(n),
        (None, false, SummaryFormat::Table) => Some(TERMINAL_LIMIT),
        _ => None,
    };
    PrintOptions {
        format,
        limit,
        zone: settings.zone.clone(),
        palette: output.stdout_palette(),
        columns: terminal_width(settings.columns),
        from: settings.start,
        to: settings.end,
    }
}

/// Follows every window of the range, newest window first, and every page of each, handing
/// each page's items to `on_page` until it answers `false`.
async fn for_each_page(
    settings: &SummariesSettings,
    context: &Context,
    mut on_page: impl FnMut(&[&str]) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let api = context.api();
    for (start, end) in split_range(settings.start, settings.end).into_iter().rev() {
        let query = query_for(settings, start, end);
        let mut pager = Pager::new(&api, &query);
        while let Some(page) = pager.next_page().await.with_context(|| {
            let (start, end) = (in_seconds(start), in_seconds(end));
            format!("cannot list the calls from {start} to {end}")
        })? {
            let items: Vec<&str> = page.items().collect();
            if !on_page(&items)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn query_for(settings: &SummariesSettings, start: Timestamp, end: Timestamp) -> SummaryQuery {
    SummaryQuery {
        selector: settings.selector.clone(),
        start,
        end,
        virtual_participant_id: settings.virtual_participant_id.clone(),
        scope: settings.scope.clone(),
        outcome: settings.outcome.clone(),
        page_size: settings.page_size,
    }
}

fn local(at: Timestamp, settings: &SummariesSettings) -> String {
    at.to_zoned_datetime(settings.zone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}
