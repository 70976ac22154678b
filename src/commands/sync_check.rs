//! `cer sync --check`: proves the store complete, or says what it lacks, without fetching a
//! single report: GoTo's summaries of the range against the store, then what the store still
//! owes for those calls (re-fetches planned, deliveries pending, failed or orphaned).

use anyhow::Context as _;
use serde_json::json;
use tracing::level_filters::LevelFilter;

use super::Context;
use crate::settings::persistence::SyncSettings;
use crate::store::Store;

/// Prints the comparison on stdout; fails (exit 1) when a call of the range is not stored,
/// or when a summary names no call: the store cannot be shown to hold that one, so the range
/// is not proven complete (`unusable`, GoTo's data: syncing again does not help).
pub async fn run(
    store: &Store,
    (ids, unusable): (Vec<String>, u64),
    settings: &SyncSettings,
    context: &Context,
) -> anyhow::Result<()> {
    let calls = ids.len();
    let mut missing = Vec::new();
    for id in ids {
        if !store.has_report(&id).await? {
            missing.push(id);
        }
    }
    let (start, end) = (settings.start, settings.end);
    let (refetches, later) = store
        .refetches_between(start, end, jiff::Timestamp::now())
        .await?;
    let (pending, failed) = store.deliveries_between(start, end).await?;
    let orphaned = store.orphaned_between(start, end).await?;
    let mut text = if settings.json {
        let check = json!({
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
        if context.settings.log_level >= LevelFilter::DEBUG {
            lines.extend(missing.iter().map(|id| format!("missing {id}")));
        }
        lines.join("\n")
    };
    text.push('\n');
    context.output.data(text.as_bytes())?;
    if !missing.is_empty() {
        anyhow::bail!(
            "the store lacks {} call(s) of the range; `cer sync` with the same range stores them",
            missing.len()
        )
    }
    if unusable > 0 {
        anyhow::bail!(
            "{unusable} of GoTo's summaries of the range name no conversationSpaceId: the store \
             cannot hold their calls, so the range is not complete (GoTo's data, not the store)"
        )
    }
    Ok(())
}
