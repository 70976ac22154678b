//! `cer sync --check`: proves the store complete, or says what it lacks, without fetching a
//! single report: GoTo's summaries of the range against the store, then what the store still
//! owes for those calls (re-fetches planned, deliveries pending, failed or orphaned).

use anyhow::Context as _;
use serde_json::json;
use tracing::level_filters::LevelFilter;

use super::Context;
use super::sync_archive_check::{ArchiveCheck, check};
use crate::archive::Archive;
use crate::settings::persistence::SyncSettings;
use crate::store::Store;

/// Prints the comparison on stdout; fails (exit 1) when a call of the range is not stored,
/// or when a summary names no call: the store cannot be shown to hold that one, so the range
/// is not proven complete (`unusable`, GoTo's data: syncing again does not help).
pub async fn run(
    store: &Store,
    (ids, unusable): (Vec<String>, u64),
    settings: &SyncSettings,
    archive: Option<&Archive>,
    context: &Context,
) -> anyhow::Result<()> {
    let calls = ids.len();
    let (stored, missing) = split_stored(store, ids).await?;
    let archived = check(store, archive, &stored, settings.verify).await?;
    let (start, end) = (settings.start, settings.end);
    let (refetches, later) = store
        .refetches_between(start, end, jiff::Timestamp::now())
        .await?;
    let (pending, failed) = store.deliveries_between(start, end).await?;
    let orphaned = store.orphaned_between(start, end).await?;
    let mut text = if settings.json {
        let mut check = json!({
            "from": start.to_string(),
            "to": end.to_string(),
            "calls": calls,
            "stored": calls - missing.len(),
            "missing": missing,
            "unusable": unusable,
            "refetchesDue": refetches,
            "refetchesLater": later,
            "deliveriesPending": pending,
            "deliveriesFailed": failed,
            "deliveriesOrphaned": orphaned,
            "complete": missing.is_empty() && unusable == 0,
        });
        if let Some(archived) = &archived {
            check["archive"] = archived.json();
        }
        serde_json::to_string(&check).context("cannot print the check")?
    } else {
        let mut lines = vec![
            format!(
                "{calls} calls from {start} to {end}: {} stored, {} missing",
                calls - missing.len(),
                missing.len()
            ),
            format!(
                "{refetches} re-fetches due ({later} planned later); \
                 {pending} deliveries pending, {failed} failed, {orphaned} orphaned"
            ),
        ];
        if unusable > 0 {
            lines.insert(
                1,
                format!("{unusable} summaries name no conversationSpaceId: unusable, not stored"),
            );
        }
        let each = context.settings.log_level >= LevelFilter::DEBUG;
        if each {
            lines.extend(missing.iter().map(|id| format!("missing {id}")));
        }
        lines.extend(archived.iter().flat_map(|archived| archived.lines(each)));
        lines.join("\n")
    };
    text.push('\n');
    context.output.data(text.as_bytes())?;
    anyhow::ensure!(
        missing.is_empty(),
        "the store lacks {} call(s) of the range; `cer sync` with the same range stores them",
        missing.len()
    );
    anyhow::ensure!(
        unusable == 0,
        "{unusable} of GoTo's summaries of the range name no conversationSpaceId: the store \
         cannot hold their calls, so the range is not complete (GoTo's data, not the store)"
    );
    anyhow::ensure!(
        archived.as_ref().is_none_or(ArchiveCheck::complete),
        "the archive lacks objects of the range, or holds altered ones; `cer sync --archive` \
         with the same range archives what is missing"
    );
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
