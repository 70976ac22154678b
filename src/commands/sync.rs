//! `cer sync`: stores every report of a day or a range that the store lacks. It lists the
//! range's summaries, skips the calls already stored, and fetches the others a few at a time
//! within the client's rate limit. Each report is committed as it arrives, so an interrupted
//! sync resumes where it stopped when run again: the store is the bookmark.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;

use super::Context;
use crate::api::ApiClient;
use crate::api::pager::Pager;
use crate::api::reports::{SummaryQuery, fetch_report, split_range};
use crate::settings::persistence::SyncSettings;
use crate::store::outbox::Queue;
use crate::store::{Store, Stored};
use crate::summary_view::SummaryView;

/// Reports fetched at once; the API client's rate limit paces them.
const CONCURRENCY: usize = 8;

/// What a sync came to.
#[derive(Debug, Default)]
struct Tally {
    stored: u64,
    already: u64,
    failed: Vec<(String, String)>,
}

pub async fn run(settings: SyncSettings, context: &Context) -> anyhow::Result<()> {
    let store = Store::open(&settings.store).await?;
    let archive = super::sync_archive::prepare(&settings, &store, context).await?;
    let api = context.api();
    let (start, end) = (settings.start, settings.end);
    let ids = list_ids(&api, &settings.account_key, start, end).await?;
    if settings.check {
        return super::sync_check::run(&store, ids, &settings, archive.as_ref(), context).await;
    }
    let range = archive.as_ref().map(|_| ids.clone()).unwrap_or_default();
    let mut tally = Tally::default();
    let mut missing = Vec::with_capacity(ids.len());
    for id in ids {
        if store.has_report(&id).await? {
            tally.already += 1;
        } else {
            missing.push(id);
        }
    }
    let bar = progress_bar(context, missing.len() as u64);
    let mut fetched = futures_util::stream::iter(missing)
        .map(|id| {
            let api = api.clone();
            async move {
                let report = fetch_report(&api, &id).await;
                (id, report)
            }
        })
        .buffer_unordered(CONCURRENCY);
    // sync delivers nothing (a later `listen --forward-to` does), but plans the re-fetches
    // still ahead, which a running or later `listen` carries out.
    let queue = Queue {
        refetch_after: &settings.refetch_after,
        ..Queue::NONE
    };
    while let Some((id, report)) = fetched.next().await {
        match report {
            Ok(report) => match store
                .store_report(&report, None, &queue, Timestamp::now())
                .await?
            {
                Stored::New => tally.stored += 1,
                Stored::AlreadyThere => tally.already += 1,
            },
            Err(err) => tally.failed.push((id, err.to_string())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let archived = super::sync_archive::run(&store, &api, archive.as_ref(), &range, context).await;
    finish(context, &tally, start, end)?;
    archived
}

/// Every conversationSpaceId of the range, each once, in GoTo's order.
async fn list_ids(
    api: &ApiClient,
    account_key: &str,
    start: Timestamp,
    end: Timestamp,
) -> anyhow::Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (start, end) in split_range(start, end) {
        let query = SummaryQuery::every_call_of(account_key, start, end);
        // The one pager: it stops on a page marker seen before instead of looping.
        let mut pager = Pager::new(api, &query);
        while let Some(page) = pager
            .next_page()
            .await
            .context("cannot list the range's report summaries")?
        {
            for item in page.items() {
                let id = SummaryView::of_text(item).conversation_space_id;
                if let Some(id) = id.filter(|id| seen.insert(id.clone())) {
                    ids.push(id);
                }
            }
        }
    }
    Ok(ids)
}

/// done/total, rate and ETA on a terminal's stderr; hidden otherwise.
fn progress_bar(context: &Context, total: u64) -> ProgressBar {
    let output = &context.output;
    if !output.stderr_is_terminal() || !output.shows_status() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = "{bar:30} {pos}/{len} reports  {per_sec}  ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn finish(
    context: &Context,
    tally: &Tally,
    start: Timestamp,
    end: Timestamp,
) -> anyhow::Result<()> {
    let output = &context.output;
    for (id, why) in &tally.failed {
        output.warn(format!("could not fetch the report of {id}: {why}"));
    }
    output.status(format!(
        "Stored {} new reports ({} already stored), {start} to {end}",
        tally.stored, tally.already
    ));
    if tally.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} report(s) could not be fetched; run the same `cer sync` again to retry them",
            tally.failed.len()
        )
    }
}
