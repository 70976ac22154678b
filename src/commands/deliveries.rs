//! `cer deliveries`: lists the forwarding outbox (pending and failed deliveries) from the
//! store; `--retry` queues the failed ones again for the running or the next `cer listen`;
//! `--forget TARGET` unregisters a target and drops its queue.

use anyhow::Context as _;
use jiff::tz::TimeZone;

use super::Context;
use crate::errors::UsageError;
use crate::escape::terminal_safe;
use crate::exit_status::ExitStatus;
use crate::settings::deliveries::DeliveriesSettings;
use crate::settings::persistence::DEFAULT_FORWARD_FOR;
use crate::store::Store;
use crate::store::outbox::{DeliveryState, Listed};
use crate::store::targets::Registered;
use crate::target::ForwardTarget;

pub async fn run(args: DeliveriesSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store).await?;
    let output = &context.output;
    if let Some(given) = &args.forget {
        forget(&store, given, context).await?;
        return Ok(ExitStatus::Success);
    }
    if args.retry {
        let now = jiff::Timestamp::now();
        let queued = store.retry_failed(now, DEFAULT_FORWARD_FOR).await?;
        output.status(format!(
            "Queued {queued} failed deliver{} again; `cer listen --forward-to` sends them \
             (the running one within a second).",
            if queued == 1 { "y" } else { "ies" }
        ));
        return Ok(ExitStatus::Success);
    }
    let now = jiff::Timestamp::now();
    // Orphaned deliveries past their --forward-for are failed, as a listener would find them;
    // a store this user may only read is listed as it is.
    if let Err(err) = store.expire_orphans(now).await {
        tracing::debug!("cannot fail the orphaned deliveries that ran out of time: {err}");
    }
    let rows = store.list_deliveries(args.failed, now).await?;
    if rows.is_empty() {
        output.status(if args.failed {
            "No failed deliveries."
        } else {
            "Nothing waits in the outbox: every report was delivered."
        });
        return Ok(ExitStatus::Success);
    }
    let json = args.json || !output.stdout_is_terminal();
    let mut text = String::new();
    for row in &rows {
        if args.json {
            text.push_str(&serde_json::to_string(row).context("cannot print a delivery")?);
        } else if json {
            text.push_str(&tab_separated(row));
        } else {
            text.push_str(&human(row, &args.zone));
        }
        text.push('\n');
    }
    output.data(text.as_bytes())?;
    output.status(counted(&rows));
    Ok(ExitStatus::Success)
}

/// `--forget TARGET`: unregisters the target and drops its queue.
async fn forget(store: &Store, given: &str, context: &Context) -> anyhow::Result<()> {
    let known = store.registered_targets().await?;
    let target = named(given, &known)?;
    let dropped = store.forget_target(&target.key).await?;
    context.output.status(format!(
        "Forgot {}: {dropped} deliver{} dropped; no report is queued for it any more.",
        terminal_safe(&target.target),
        if dropped == 1 { "y" } else { "ies" }
    ));
    Ok(())
}

/// The registered target `given` names: its tag (brackets allowed) or its whole URL. An
/// error never quotes a URL (it is a secret), only a tag.
fn named<'a>(given: &str, known: &'a [Registered]) -> Result<&'a Registered, UsageError> {
    let given = given.trim();
    let key = url::Url::parse(given)
        .ok()
        .filter(|url| url.host_str().is_some())
        .map(|url| ForwardTarget::new(url).key().to_string());
    let tag = given
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let found: Vec<&Registered> = known
        .iter()
        .filter(|t| key.as_ref().map_or(t.tag == tag, |key| &t.key == key))
        .collect();
    let shown = if key.is_some() {
        "the URL given".to_string()
    } else if tag.len() == 6 && tag.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("tag {tag}")
    } else {
        "the text given".to_string()
    };
    match found.as_slice() {
        [one] => Ok(one),
        [] => {
            let hint = if known.is_empty() {
                "no target is registered in this store".to_string()
            } else {
                let list: Vec<String> = known
                    .iter()
                    .map(|t| terminal_safe(&t.target).into_owned())
                    .collect();
                format!("the registered targets: {}", list.join(", "))
            };
            Err(
                UsageError::new(format!("--forget: {shown} names no registered target"))
                    .with_hint(hint),
            )
        }
        _ => Err(UsageError::new(format!(
            "--forget: {shown} names {} registered targets",
            found.len()
        ))
        .with_hint("give the target's whole URL instead of its tag")),
    }
}

/// `3 pending, 1 failed, 2 orphaned (orphaned: no running listener forwards to …)`.
fn counted(rows: &[Listed]) -> String {
    let mut parts = Vec::new();
    for state in [
        DeliveryState::Pending,
        DeliveryState::Failed,
        DeliveryState::Superseded,
        DeliveryState::Orphaned,
    ] {
        let n = rows.iter().filter(|row| row.state == state).count();
        if n > 0 {
            parts.push(format!("{n} {state}"));
        }
    }
    let mut line = parts.join(", ");
    if rows.iter().any(|row| row.state == DeliveryState::Orphaned) {
        line.push_str(
            " (orphaned: no running listener forwards to their target; they wait for one until \
             --forward-for runs out, or `cer deliveries --forget TAG` drops them)",
        );
    }
    line
}

/// A pipe without `--json`: tab-separated, UTC times, no header (the `gh` convention).
fn tab_separated(row: &Listed) -> String {
    [
        row.target.clone(),
        row.conversation_space_id.clone(),
        row.revision.to_string(),
        row.state.to_string(),
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
        row.state.as_str(),
        terminal_safe(&row.target),
        row.attempts
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(url: &str) -> Registered {
        let target = ForwardTarget::new(url::Url::parse(url).unwrap());
        Registered {
            key: target.key().to_string(),
            target: target.shown().to_string(),
            tag: target.tag().to_string(),
        }
    }

    #[test]
    fn a_target_is_named_by_its_tag_or_its_url_and_an_error_never_quotes_a_url() {
        let known = [
            registered("https://hooks.example/catch/1/s3cret"),
            registered("https://other.example/in"),
        ];
        let tag = known[0].tag.clone();
        for given in [tag.clone(), format!("[{tag}]"), tag.to_uppercase()] {
            assert_eq!(named(&given, &known).unwrap().key, known[0].key, "{given}");
        }
        let by_url = named("https://hooks.example/catch/1/s3cret", &known).unwrap();
        assert_eq!(by_url.key, known[0].key);
        let err = named("https://hooks.example/catch/1/wr0ng", &known).unwrap_err();
        let text = format!("{err:?}");
        assert!(
            !text.contains("wr0ng") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(
            text.contains(&known[1].target),
            "lists the registered targets: {text}"
        );
        let twins = [known[0].clone(), known[0].clone()];
        assert!(
            named(&tag, &twins)
                .unwrap_err()
                .to_string()
                .contains("2 registered")
        );
    }
}
