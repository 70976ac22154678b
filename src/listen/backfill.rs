//! Finding calls the WebSocket did not announce: report summaries of a window wide enough for
//! the longest call (GoTo may select summaries by `callCreated`), kept if they ended after
//! the cursor, oldest first.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::api::ApiClient;
use crate::api::pager::Pager;
use crate::api::reports::{SummaryQuery, split_range};
use crate::net::ApiError;
use crate::store::Store;
use crate::summary_view::SummaryView;

/// A call to fetch and emit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missed {
    pub call_ended: Timestamp,
    pub id: String,
}

/// Every call of `account_keys` that ended in `[since, until)`, sorted by `callEnded`.
pub async fn find_missed(
    api: &ApiClient,
    account_keys: &[String],
    since: Timestamp,
    until: Timestamp,
    max_call_duration: Duration,
) -> Result<Vec<Missed>, ApiError> {
    let reach_back = SignedDuration::try_from(max_call_duration).unwrap_or(SignedDuration::ZERO);
    let created_from = since.saturating_sub(reach_back).unwrap_or(since);
    let mut found = Vec::new();
    let mut ids = HashSet::new();
    for key in account_keys {
        for (start, end) in split_range(created_from, until) {
            let query = SummaryQuery::every_call_of(key, start, end);
            collect_window(api, &query, since, &mut ids, &mut found).await?;
        }
    }
    found.sort();
    Ok(found)
}

/// The calls of `missed` (which ended at or after `since`) that the store does not have yet.
/// The ledger remembers a bounded number of recent IDs; the store knows every report, so a
/// backfill after a burst fetches none of the burst again. A store that cannot answer leaves
/// the list as it is: storing a report it has is refused anyway, so nothing prints twice.
/// The stored ones are queued for each registered target that never had them (stored before
/// the target was registered).
pub async fn not_stored(
    store: &Store,
    since: Timestamp,
    mut missed: Vec<Missed>,
    now: Timestamp,
) -> Vec<Missed> {
    if missed.is_empty() {
        return missed;
    }
    match store.ended_since(since).await {
        Ok(stored) => {
            let stored: HashSet<String> = stored.into_iter().map(|(id, _)| id).collect();
            let (known, new): (Vec<Missed>, Vec<Missed>) =
                missed.into_iter().partition(|m| stored.contains(&m.id));
            let known: Vec<&str> = known.iter().map(|m| m.id.as_str()).collect();
            if let Err(err) = store.queue_stored(&known, now).await {
                tracing::debug!("cannot queue stored reports for delivery ({err})");
            }
            missed = new;
        }
        Err(err) => tracing::debug!("cannot ask the store which calls it has ({err})"),
    }
    missed
}

async fn collect_window(
    api: &ApiClient,
    query: &SummaryQuery,
    since: Timestamp,
    ids: &mut HashSet<String>,
    found: &mut Vec<Missed>,
) -> Result<(), ApiError> {
    let mut pager = Pager::new(api, query);
    while let Some(page) = pager.next_page().await? {
        for item in page.items() {
            let view = SummaryView::of_text(item);
            let (Some(id), Some(call_ended)) = (view.conversation_space_id, view.call_ended) else {
                continue;
            };
            if !crate::report::ConversationId::is_valid(&id) {
                tracing::debug!("skipping a summary whose conversationSpaceId is not an ID");
                continue;
            }
            if call_ended >= since && ids.insert(id.clone()) {
                found.push(Missed { call_ended, id });
            }
        }
    }
    Ok(())
}
