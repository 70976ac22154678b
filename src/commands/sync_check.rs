//! `cer sync --check`: proves the store complete, or says what it lacks, without fetching a
//! single report: GoTo's summaries of the range against the store, then what the store still
//! owes for those calls (re-fetches planned, deliveries pending, failed or orphaned).

use anyhow::Context as _;
use serde_json::json;
use tracing::level_filters::LevelFilter;

use super::Context;
use crate::settings::persistence::SyncSettings;
use crate::store::Store;

/// Prints the comparison on stdout; fails (exit 1) when a call of the range is not stored.
pub async fn run(
    store: &Store,
    ids: Vec<String>,
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
    let refetches = store.refetches_planned_between(start, end).await?;
    let (pending, failed) = store.deliveries_between(start, end).await?;
    let orphaned = store.orphaned_between(start, end).await?;
    let mut text = if settings.json {
        let check = json!({
            "from": start.to_string(),
            "to": end.to_string(),
            "calls": calls,
            "stored": calls - missing.len(),
            "missing": missing,
            "refetchesDue": refetches,
            "deliveriesPending": pending,
            "deliveriesFailed": failed,
            "deliveriesOrphaned": orphaned,
            "complete": missing.is_empty(),
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
                "{refetches} re-fetches still due; {pending} deliveries pending, {failed} failed, \
                 {orphaned} orphaned"
            ),
        ];
        if context.settings.log_level >= LevelFilter::DEBUG {
            lines.extend(missing.iter().map(|id| format!("missing {id}")));
        }
        lines.join("\n")
    };
    text.push('\n');
    context.output.data(text.as_bytes())?;
    if missing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the store lacks {} call(s) of the range; `cer sync` with the same range stores them",
            missing.len()
        )
    }
}
