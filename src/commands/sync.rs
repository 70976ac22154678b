//! `cer sync`: stores every report of a day or a range that the store lacks. It lists the
//! range's summaries, skips the calls already stored, and fetches the others a few at a time
//! within the client's rate limit. Each report is committed as it arrives, so an interrupted
//! sync resumes where it stopped when run again: the store is the bookmark. Then it carries
//! out the re-fetches due for the calls of its range, as a running listener would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;

use super::Context;
use crate::api::ApiClient;
use crate::api::pager::Pager;
use crate::api::reports::{SummaryQuery, fetch_report, split_range};
use crate::events::RefetchResult;
use crate::exit_status::ExitStatus;
use crate::listen::{Handoff, SystemClock};
use crate::settings::sync::SyncSettings;
use crate::store::outbox::Queue;
use crate::store::{Store, Stored};
use crate::summary_view::SummaryView;
use crate::workers::refetch::{RefetchTiming, Refetcher};

/// Reports fetched at once; the API client's rate limit paces them.
const CONCURRENCY: usize = 8;

/// What a sync came to.
#[derive(Debug, Default)]
struct Tally {
    stored: u64,
    already: u64,
    failed: Vec<(String, String)>,
    /// Due re-fetches done, and the new revisions they stored.
    refetched: u64,
    revisions: u64,
    /// Due re-fetches GoTo did not answer usefully: tried again later.
    refetch_failed: u64,
    /// Summaries that name no call.
    unusable: u64,
}

/// Re-fetch points claimed at once; each batch is done before its lease could run out.
const REFETCH_BATCH: i64 = 8;

pub async fn run(settings: SyncSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    // Before the store is opened (and made, the first time): exit 2 or 4 leaves nothing behind.
    super::sync_archive::check_before_start(&settings, context).await?;
    let store = Store::open(&settings.store).await?;
    let archive = super::sync_archive::prepare(&settings, &store, context)?;
    let api = context.api();
    let (start, end) = (settings.start, settings.end);
    let ListedIds { ids, unusable } = list_ids(&api, &settings.account_key, start, end).await?;
    if settings.check {
        return super::sync_check::run(
            &store,
            (ids, unusable),
            &settings,
            archive.as_ref(),
            context,
        )
        .await;
    }
    let range = archive.as_ref().map(|_| ids.clone()).unwrap_or_default();
    let mut tally = Tally {
        unusable,
        ..Tally::default()
    };
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
    // The store queues each report for every registered target (a listener naming it sends
    // it); sync plans the re-fetches still ahead, which a running `listen` or a later `sync`
    // of the range carries out.
    let queue = Queue {
        refetch_after: &settings.refetch_after,
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
    if !settings.refetch_after.is_empty() {
        refetch_due(&store, &api, &settings, &mut tally).await?;
    }
    let archived = super::sync_archive::run(&store, &api, archive.as_ref(), &range, context).await;
    finish(context, &tally, start, end)?;
    archived
}

/// Does the re-fetches due for the calls of the range with the listener's own re-fetcher:
/// the same claims and leases (a running listener never does one of them too), revisions and
/// their deliveries queued the same way. A failed one is tried again later, as a listener's.
async fn refetch_due(
    store: &Store,
    api: &ApiClient,
    settings: &SyncSettings,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let range = (settings.start, settings.end);
    // No renderer: nothing is printed of a revision (sync prints no report), so the only
    // sender is dropped at once and the re-fetcher tells no one.
    let events = tokio::sync::mpsc::channel(1).0.downgrade();
    let refetcher = Refetcher {
        api: api.clone(),
        store: store.clone(),
        handoff: Handoff::default(),
        timing: RefetchTiming::scaled(settings.time_scale, settings.rate),
        events,
        clock: Arc::new(SystemClock),
        describe_changes: false,
    };
    loop {
        let now = Timestamp::now();
        let due = store
            .claim_refetches_between(range, now, refetcher.timing.lease, REFETCH_BATCH)
            .await?;
        if due.is_empty() {
            return Ok(());
        }
        let mut done = futures_util::stream::iter(due)
            .map(|point| refetcher.refetch(point))
            .buffer_unordered(CONCURRENCY);
        while let Some(result) = done.next().await {
            match result {
                Some(RefetchResult::Changed) => {
                    tally.refetched += 1;
                    tally.revisions += 1;
                }
                Some(RefetchResult::Unchanged) => tally.refetched += 1,
                Some(RefetchResult::Error) => tally.refetch_failed += 1,
                // The store failed: the point's lease runs out, and it is done later.
                None => anyhow::bail!("cannot store re-fetched reports in {}", store.shown()),
            }
        }
    }
}

/// The calls of a range as GoTo's summaries list them.
#[derive(Debug, Default)]
struct ListedIds {
    /// Every conversationSpaceId, each once, in GoTo's order.
    ids: Vec<String>,
    /// Summaries that name no conversationSpaceId: calls no report can be fetched for.
    unusable: u64,
}

/// Every conversationSpaceId of the range, each once, in GoTo's order, and how many
/// summaries named none.
async fn list_ids(
    api: &ApiClient,
    account_key: &str,
    start: Timestamp,
    end: Timestamp,
) -> anyhow::Result<ListedIds> {
    let mut seen = HashSet::new();
    let mut listed = ListedIds::default();
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
                match SummaryView::of_text(item).conversation_space_id {
                    Some(id) if !id.trim().is_empty() => {
                        if seen.insert(id.clone()) {
                            listed.ids.push(id);
                        }
                    }
                    _ => listed.unusable += 1,
                }
            }
        }
    }
    Ok(listed)
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
    if tally.refetch_failed > 0 {
        output.warn(format!(
            "{} due re-fetch(es) got no usable answer from GoTo; the stored reports stay, and \
             they are tried again later",
            tally.refetch_failed
        ));
    }
    let mut line = format!(
        "Stored {} new reports ({} already stored), {start} to {end}",
        tally.stored, tally.already
    );
    if tally.refetched > 0 {
        line.push_str(&format!(
            "; {} due re-fetch(es), {} new revision(s)",
            tally.refetched, tally.revisions
        ));
    }
    output.status(line);
    if !tally.failed.is_empty() {
        anyhow::bail!(
            "{} report(s) could not be fetched; run the same `cer sync` again to retry them",
            tally.failed.len()
        )
    }
    if tally.unusable > 0 {
        anyhow::bail!(
            "{} of GoTo's summaries of the range name no conversationSpaceId, so their reports \
             cannot be fetched (GoTo's data, not the store: syncing again will not help)",
            tally.unusable
        )
    }
    Ok(())
}
