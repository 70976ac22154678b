//! `cer summaries`: report summaries over a day or range, window by window (oldest first),
//! page by page, each page printed as it arrives so memory stays flat at any size.

use anyhow::Context as _;
use jiff::Timestamp;

use super::Context;
use crate::api::pager::Pager;
use crate::api::reports::{SummaryQuery, split_range};
use crate::output::progress::Progress;
use crate::output::summaries::{SummaryFormat, SummaryRenderer};
use crate::settings::commands::SummariesSettings;

pub async fn run(settings: SummariesSettings, context: &Context) -> anyhow::Result<()> {
    let api = context.api();
    let output = &context.output;
    let format = match (settings.json, output.stdout_is_terminal()) {
        (true, _) => SummaryFormat::Json,
        (false, true) => SummaryFormat::Table,
        (false, false) => SummaryFormat::Tsv,
    };
    let renderer = SummaryRenderer::new(format, settings.zone.clone(), output.stdout_palette());
    let progress = Progress::start(output, "Fetching report summaries…");
    let limit = settings.limit.unwrap_or(u64::MAX);
    let mut printed: u64 = 0;
    let mut pages = 0;
    'windows: for (start, end) in split_range(settings.start, settings.end) {
        let query = query_for(&settings, start, end);
        let mut pager = Pager::new(&api, &query);
        while let Some(page) = pager
            .next_page()
            .await
            .with_context(|| format!("cannot list the calls from {start} to {end}"))?
        {
            pages += 1;
            let mut text = String::new();
            if printed == 0 && !page.items.is_empty() {
                text.extend(renderer.header());
            }
            for item in page
                .items
                .iter()
                .take(usize::try_from(limit - printed).unwrap_or(usize::MAX))
            {
                renderer.render(item, &mut text);
                printed += 1;
            }
            progress.suspend(|| output.data(text.as_bytes()))?;
            progress.set_message(format!("{printed} summaries, {pages} pages…"));
            if printed >= limit {
                break 'windows;
            }
        }
    }
    progress.finish();
    if printed == 0 {
        output.status(format!(
            "No calls from {} to {}.",
            local(settings.start, &settings),
            local(settings.end, &settings)
        ));
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
