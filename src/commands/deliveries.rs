//! `cer deliveries`: lists the forwarding outbox (pending and failed deliveries) from the
//! store; `--retry` queues the failed ones again for the running or the next `cer listen`.

use anyhow::Context as _;
use jiff::tz::TimeZone;

use super::Context;
use crate::escape::terminal_safe;
use crate::settings::persistence::{DEFAULT_FORWARD_FOR, DeliveriesSettings};
use crate::store::Store;
use crate::store::outbox::Listed;

pub async fn run(args: DeliveriesSettings, context: &Context) -> anyhow::Result<()> {
    let store = Store::open(&args.store).await?;
    let output = &context.output;
    if args.retry {
        let now = jiff::Timestamp::now();
        let queued = store.retry_failed(now, DEFAULT_FORWARD_FOR).await?;
        output.status(format!(
            "Queued {queued} failed deliver{} again; `cer listen --forward-to` sends them \
             (the running one within a second).",
            if queued == 1 { "y" } else { "ies" }
        ));
        return Ok(());
    }
    let rows = store.list_deliveries(args.failed).await?;
    if rows.is_empty() {
        output.status(if args.failed {
            "No failed deliveries."
        } else {
            "Nothing waits in the outbox: every report was delivered."
        });
        return Ok(());
    }
    let json = args.json || !output.stdout_is_terminal();
    let mut text = String::new();
    for row in &rows {
        if args.json {
            text.push_str(&serde_json::to_string(row).context("cannot print a delivery")?);
        } else if json {
            text.push_str(&tab_separated(row));
        } else {
            text.push_str(&human(row, &context.settings.time_zone));
        }
        text.push('\n');
    }
    output.data(text.as_bytes())?;
    output.status(counted(&rows));
    Ok(())
}

/// `3 pending, 1 failed, 2 orphaned (their target is no longer given to any listener)`.
fn counted(rows: &[Listed]) -> String {
    let mut parts = Vec::new();
    for state in ["pending", "failed", "superseded", "orphaned"] {
        let n = rows.iter().filter(|row| row.state == state).count();
        if n > 0 {
            parts.push(format!("{n} {state}"));
        }
    }
    let mut line = parts.join(", ");
    if rows.iter().any(|row| row.state == "orphaned") {
        line.push_str(" (orphaned: no running listener forwards to their target)");
    }
    line
}

/// A pipe without `--json`: tab-separated, UTC times, no header (the `gh` convention).
fn tab_separated(row: &Listed) -> String {
    [
        row.target.clone(),
        row.conversation_space_id.clone(),
        row.revision.to_string(),
        row.state.clone(),
        row.attempts.to_string(),
        row.last_error.clone().unwrap_or_default(),
        row.next_try.map(|t| t.to_string()).unwrap_or_default(),
    ]
    .join("\t")
}

/// A terminal: one readable line per delivery, local times.
fn human(row: &Listed, zone: &TimeZone) -> String {
    let next = row
        .next_try
        .map(|t| {
            let local = t.to_zoned_datetime(zone.clone());
            format!(", next try {}", local.strftime("%H:%M:%S"))
        })
        .unwrap_or_default();
    let error = row
        .last_error
        .as_deref()
        .map(|e| format!(", last error: {}", terminal_safe(e)))
        .unwrap_or_default();
    // The call and its revision in one column of fixed width, so the targets line up.
    let call = format!(
        "{} rev {}",
        terminal_safe(&row.conversation_space_id),
        row.revision
    );
    format!(
        "{:<10}  {call:<43}  {}  {} attempt(s){error}{next}",
        row.state,
        terminal_safe(&row.target),
        row.attempts
    )
}
