//! `cer sync --check`: proves the store complete, or says what it lacks, without fetching a
//! single report: GoTo's summaries of the range against the store, then what the store still
//! owes for those calls (re-fetches planned, deliveries pending, failed or orphaned).

use anyhow::Context as _;
use serde_json::json;

use super::Context;
use super::sync_archive_check::{ArchiveCheck, check};
use crate::archive::Archive;
use crate::exit_status::ExitStatus;
use crate::settings::sync::SyncSettings;
use crate::store::Store;
use crate::store::outbox::DeliveryCounts;
use crate::store::refetch::RefetchCounts;

/// What the check found for a range: the store's side of GoTo's summaries.
struct Findings {
    calls: usize,
    missing: Vec<String>,
    unusable: u64,
    refetches: RefetchCounts,
    deliveries: DeliveryCounts,
    /// Pending deliveries to targets no running listener delivers to.
    orphaned: i64,
    archived: Option<ArchiveCheck>,
}

/// Prints the comparison on stdout; fails (exit 1) when a call of the range is not stored,
/// or when a summary names no call: the store cannot be shown to hold that one, so the range
/// is not proven complete (`unusable`, GoTo's data: syncing again does not help).
pub async fn run(
    store: &Store,
    (ids, unusable): (Vec<String>, u64),
    settings: &SyncSettings,
    archive: Option<&Archive>,
    context: &Context,
) -> anyhow::Result<ExitStatus> {
    let calls = ids.len();
    let (stored, missing) = split_stored(store, ids).await?;
    let archived = check(store, archive, &stored, settings.verify).await?;
    let (start, end) = (settings.start, settings.end);
    let refetches = store
        .refetches_between(start, end, jiff::Timestamp::now())
        .await?;
    let deliveries = store.deliveries_between(start, end).await?;
    let orphaned = store.orphaned_between(start, end).await?;
    let found = Findings {
        calls,
        missing,
        unusable,
        refetches,
        deliveries,
        orphaned,
        archived,
    };
    let mut text = match settings.json {
        true => as_json(&found, settings)?,
        false => as_lines(&found, settings, settings.each_missing),
    };
    text.push('\n');
    context.output.data(text.as_bytes())?;
    verdict(&found)?;
    Ok(ExitStatus::Success)
}

fn as_json(found: &Findings, settings: &SyncSettings) -> anyhow::Result<String> {
    let Findings {
        calls,
        missing,
        unusable,
        refetches: RefetchCounts { due, later },
        deliveries: DeliveryCounts { pending, failed },
        orphaned,
        ..
    } = found;
    let mut check = json!({
        "from": settings.start.to_string(),
        "to": settings.end.to_string(),
        "calls": calls,
        "stored": calls - missing.len(),
        "missing": missing,
        "unusable": unusable,
        "refetchesDue": due,
        "refetchesLater": later,
        "deliveriesPending": pending,
        "deliveriesFailed": failed,
        "deliveriesOrphaned": orphaned,
        "complete": missing.is_empty() && *unusable == 0,
    });
    if let Some(archived) = &found.archived {
        check["archive"] = archived.json();
    }
    serde_json::to_string(&check).context("cannot print the check")
}

/// The check for a person: counts, then with `-v` each missing call and archived object.
fn as_lines(found: &Findings, settings: &SyncSettings, each: bool) -> String {
    let Findings {
        calls,
        missing,
        unusable,
        refetches: RefetchCounts { due, later },
        deliveries: DeliveryCounts { pending, failed },
        orphaned,
        ..
    } = found;
    let (start, end) = (settings.start, settings.end);
    let noun = if *calls == 1 { "call" } else { "calls" };
    let mut lines = vec![format!(
        "{calls} {noun} from {start} to {end}: {} stored, {} missing",
        calls - missing.len(),
        missing.len()
    )];
    if *unusable > 0 {
        let (noun, verb) = if *unusable == 1 {
            ("summary", "names")
        } else {
            ("summaries", "name")
        };
        lines.push(format!(
            "{unusable} {noun} {verb} no conversationSpaceId: unusable, not stored"
        ));
    }
    lines.push(format!(
        "{due} re-fetches due ({later} planned later); \
         {pending} deliveries pending, {failed} failed, {orphaned} orphaned"
    ));
    if each {
        lines.extend(missing.iter().map(|id| format!("missing {id}")));
    }
    lines.extend(
        found
            .archived
            .iter()
            .flat_map(|archived| archived.lines(each)),
    );
    lines.join("\n")
}

/// Exit 1 unless the store holds every call of the range (and the archive every object).
fn verdict(found: &Findings) -> anyhow::Result<()> {
    let (missing, unusable) = (found.missing.len(), found.unusable);
    anyhow::ensure!(
        missing == 0,
        "the store lacks {missing} call(s) of the range; `cer sync` with the same range stores them"
    );
    anyhow::ensure!(
        unusable == 0,
        "{unusable} of GoTo's summaries of the range name no conversationSpaceId: the store \
         cannot hold their calls, so the range is not complete (GoTo's data, not the store)"
    );
    if let Some(archived) = found.archived.as_ref().filter(|a| !a.complete()) {
        anyhow::bail!(
            "the archive lacks objects of the range, or holds altered ones; {}",
            archived.remedy()
        );
    }
    Ok(())
}

/// The IDs the store holds, and those it lacks.
async fn split_stored(
    store: &Store,
    ids: Vec<String>,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut stored, mut missing) = (Vec::new(), Vec::new());
    for id in ids {
        if store.has_report(&id).await? {
            stored.push(id);
        } else {
            missing.push(id);
        }
    }
    Ok((stored, missing))
}
