//! The Call Events Report API: one report by `conversationSpaceId`, and pages of report
//! summaries over a time window.

use std::ops::Range;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::client::{ApiClient, ApiRequest};
use crate::net::ApiError;
use crate::report::{ConversationId, Report};

const SUMMARIES: &str = "/call-events-report/v1/report-summaries";

/// GoTo answers 400 to a summaries window longer than 31 days; cer stays a day under.
pub const MAX_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// How many times an answer about another call is asked again before it is an error.
const WRONG_ID_RETRIES: u32 = 2;

/// Bodies above this are read on a blocking thread, so the listener's other work (pings,
/// live calls) goes on while a big report is read.
const READ_INLINE_UP_TO: usize = 256 * 1024;

/// Fetches the full report of a call, exactly as GoTo sent it. An answer that is not about
/// `id` is never taken for its report: it is asked again, then an error.
pub async fn fetch_report(client: &ApiClient, id: &str) -> Result<Report, ApiError> {
    let Some(id) = ConversationId::parse(id) else {
        return Err(ApiError::InvalidBody(format!(
            "{:?} is not a conversation ID",
            crate::escape::terminal_safe(id)
        )));
    };
    let request = ApiRequest::get(id.report_path());
    let mut retry = 0;
    loop {
        let report = read_report(client.send(&request).await?.body).await?;
        let err = match check_report(&id, report) {
            Ok(report) => return Ok(report),
            Err(err) => err,
        };
        if retry >= WRONG_ID_RETRIES {
            return Err(err);
        }
        let wait = client.retry_policy().backoff(retry);
        tracing::debug!("{err}; asking again in {wait:.1?}");
        tokio::time::sleep(wait).await;
        retry += 1;
    }
}

/// Reads a report's body once: its text kept as it is, the few values cer needs beside it.
async fn read_report(body: bytes::Bytes) -> Result<Report, ApiError> {
    let unreadable =
        |why: String| ApiError::InvalidBody(format!("GoTo's answer is not a report: {why}"));
    // No copy: the body's buffer becomes the report's text once it proves to be UTF-8.
    let text = String::from_utf8(Vec::from(body)).map_err(|_| unreadable("not UTF-8".into()))?;
    let read = if text.len() <= READ_INLINE_UP_TO {
        Report::parse(text)
    } else {
        tokio::task::spawn_blocking(move || Report::parse(text))
            .await
            .map_err(|err| unreadable(err.to_string()))?
    };
    read.map_err(|err| unreadable(err.to_string()))
}

/// The report if it is about `id` (UUIDs compare without regard to case).
fn check_report(id: &ConversationId, report: Report) -> Result<Report, ApiError> {
    if id.names(report.id()) {
        return Ok(report);
    }
    let got = if report.id().is_empty() {
        "no call"
    } else {
        report.id()
    };
    Err(ApiError::InvalidBody(format!(
        "asked for the report of {id}, got one about {}",
        crate::escape::terminal_safe(got)
    )))
}

/// Fetches a report, retrying a 404 (a report that is not ready yet) for up to `patience`,
/// with pauses that start at a hundred-twentieth of it and grow to a twelfth. Patience too
/// long to add to the clock means "as long as it takes".
pub async fn fetch_report_when_ready(
    client: &ApiClient,
    id: &str,
    patience: Duration,
) -> Result<Report, ApiError> {
    let deadline = Instant::now().checked_add(patience);
    let mut pause = (patience / 120).clamp(Duration::from_millis(10), Duration::from_millis(500));
    let longest_pause = (patience / 12).clamp(pause, Duration::from_secs(5));
    loop {
        match fetch_report(client, id).await {
            Err(ApiError::NotFound { message }) => {
                let wake = Instant::now() + pause;
                if deadline.is_some_and(|deadline| wake >= deadline) {
                    return Err(ApiError::NotFound { message });
                }
                tracing::debug!("report {id} not ready; trying again in {pause:?}");
                tokio::time::sleep_until(wake).await;
                pause = (pause * 3 / 2).min(longest_pause);
            }
            other => return other,
        }
    }
}

/// Which calls a summaries query selects: GoTo takes exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    AccountKey(String),
    UserKey(String),
    LineId(String),
    PhoneNumberId(String),
}

impl Selector {
    fn query_pair(&self) -> (&'static str, &str) {
        match self {
            Self::AccountKey(v) => ("accountKey", v),
            Self::UserKey(v) => ("userKey", v),
            Self::LineId(v) => ("lineId", v),
            Self::PhoneNumberId(v) => ("phoneNumberId", v),
        }
    }
}

/// A report-summaries query over one window (at most [`MAX_WINDOW`] long).
#[derive(Debug, Clone)]
pub struct SummaryQuery {
    pub selector: Selector,
    pub start: Timestamp,
    pub end: Timestamp,
    pub virtual_participant_id: Option<String>,
    pub scope: Option<String>,
    pub outcome: Option<String>,
    pub page_size: Option<u32>,
}

impl SummaryQuery {
    /// Every call of one account in `[start, end)`, with no filter and GoTo's page size:
    /// what the backfill and `sync` ask for.
    pub fn every_call_of(account_key: &str, start: Timestamp, end: Timestamp) -> Self {
        Self {
            selector: Selector::AccountKey(account_key.to_string()),
            start,
            end,
            virtual_participant_id: None,
            scope: None,
            outcome: None,
            page_size: None,
        }
    }
}

/// One page of summaries: the body as GoTo sent it and where each item's text lies in it.
/// `--json` passes an item's text through as it is, and readers take a typed view of the few
/// fields they need: parsing every item into a `Value` was over half of `summaries --json`'s
/// instructions, and a parsed page of 1,000 held about 9 MB where its text is 0.7 MB.
#[derive(Debug)]
pub struct SummaryPage {
    body: String,
    items: Vec<Range<usize>>,
    pub next_page_marker: Option<String>,
}

impl SummaryPage {
    /// Each item's JSON text, in GoTo's order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = &str> {
        self.items.iter().map(|span| &self.body[span.clone()])
    }
}

/// Fetches one page: the first when `marker` is `None`, else the page `marker` points at.
pub async fn summaries_page(
    client: &ApiClient,
    query: &SummaryQuery,
    marker: Option<&str>,
) -> Result<SummaryPage, ApiError> {
    let (name, value) = query.selector.query_pair();
    let mut request = ApiRequest::get(SUMMARIES)
        .query(name, value)
        .query("startTime", goto_time(query.start))
        .query("endTime", goto_time(query.end));
    let optional = [
        ("virtualParticipantId", query.virtual_participant_id.clone()),
        ("conversationScope", query.scope.clone()),
        ("conversationCallerOutcome", query.outcome.clone()),
        ("pageSize", query.page_size.map(|n| n.to_string())),
        ("pageMarker", marker.map(str::to_string)),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            request = request.query(name, value);
        }
    }
    parse_page(client.send(&request).await?.body)
}

/// The two fields of a page cer reads, borrowed from its text; any others (`pageSize`…) are
/// skipped unread.
#[derive(Deserialize)]
struct PageShape<'a> {
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow, rename = "nextPageMarker")]
    next_page_marker: Option<&'a RawValue>,
}

fn parse_page(body: bytes::Bytes) -> Result<SummaryPage, ApiError> {
    let unreadable = |why: String| {
        ApiError::InvalidBody(format!(
            "a summaries page is not what GoTo documents: {}",
            crate::escape::terminal_safe(&why)
        ))
    };
    // No copy: the body's buffer becomes the page's text once it proves to be UTF-8.
    let body = String::from_utf8(Vec::from(body)).map_err(|_| unreadable("not UTF-8".into()))?;
    // serde would also take a JSON array for the struct, field by field.
    if !body.trim_start().starts_with('{') {
        return Err(unreadable("not a JSON object".into()));
    }
    let (items, next_page_marker) = {
        let page: PageShape<'_> =
            serde_json::from_str(&body).map_err(|err| unreadable(err.to_string()))?;
        let start_of = |text: &str| (text.as_ptr() as usize) - (body.as_ptr() as usize);
        let items = page.items.unwrap_or_default().into_iter().map(|raw| {
            let start = start_of(raw.get());
            start..start + raw.get().len()
        });
        // A marker that is not a non-empty string is no way to the next page: the last page.
        let marker = page
            .next_page_marker
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .filter(|marker| !marker.is_empty());
        (items.collect(), marker)
    };
    Ok(SummaryPage {
        body,
        items,
        next_page_marker,
    })
}

/// A time as GoTo's examples write it: UTC, `Z`, milliseconds only when there are some.
pub fn goto_time(at: Timestamp) -> String {
    let rounded = at.round(jiff::Unit::Millisecond).unwrap_or(at);
    if rounded.subsec_millisecond() == 0 {
        rounded.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        rounded.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// Splits `[start, end)` into consecutive windows GoTo accepts, oldest first.
pub fn split_range(start: Timestamp, end: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut windows = Vec::new();
    let mut from = start;
    while from < end {
        let to = from.saturating_add(MAX_WINDOW).unwrap_or(end).min(end);
        windows.push((from, to));
        from = to;
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn report(text: &str) -> Report {
        Report::parse(text).unwrap()
    }

    // Regression: a report about another call was printed by `fetch` as the one asked for.
    #[test]
    fn a_report_about_another_call_is_a_bad_answer() {
        let id = ConversationId::parse("29a1c77a-e52a-3764-8606-8b02b1277be8").unwrap();
        let other = report(r#"{"conversationSpaceId": "00000000-0000-3000-8000-000000000000"}"#);
        assert!(matches!(
            check_report(&id, other),
            Err(ApiError::InvalidBody(_))
        ));
        assert!(check_report(&id, report(r#"{"x": 1}"#)).is_err());
        let upper = format!(
            r#"{{"conversationSpaceId": "{}"}}"#,
            id.as_str().to_uppercase()
        );
        assert!(check_report(&id, report(&upper)).is_ok());
    }

    #[tokio::test]
    async fn a_body_is_a_report_only_as_one_json_object_in_utf_8() {
        let body = |text: &'static [u8]| bytes::Bytes::from_static(text);
        for bad in [&b"[1]"[..], b"{", b"{\"a\": \"\xff\"}", b"<html>"] {
            assert!(read_report(body(bad)).await.is_err(), "{bad:?}");
        }
        let big = format!(r#"{{"z": "{}"}}"#, "x".repeat(READ_INLINE_UP_TO));
        let read = read_report(bytes::Bytes::from(big.clone())).await.unwrap();
        assert_eq!(
            read.text(),
            big,
            "a big body is read off the async workers, whole"
        );
    }

    // Issue 26 finding 4: a listener parsing a 30 MB report stopped answering pings and
    // fetching live calls meanwhile. Its other tasks run while a big body is read.
    #[tokio::test(flavor = "current_thread")]
    async fn other_work_goes_on_while_a_big_body_is_read() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut text = String::from(r#"{"conversationSpaceId": "x", "z": ["#);
        text.push_str(&"0,".repeat(4_000_000));
        text.push_str("0]}");
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                loop {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        let read = read_report(bytes::Bytes::from(text)).await.unwrap();
        let during = ticks.load(Ordering::Relaxed);
        ticker.abort();
        assert_eq!(read.id(), "x");
        assert!(
            during > 0,
            "the runtime's only thread was held by the parse"
        );
    }

    #[test]
    fn writes_times_like_goto() {
        assert_eq!(
            goto_time(ts("2024-07-01T00:00:00Z")),
            "2024-07-01T00:00:00Z"
        );
        assert_eq!(
            goto_time(ts("2024-07-01T00:00:00.25Z")),
            "2024-07-01T00:00:00.250Z"
        );
    }

    #[test]
    fn splits_long_ranges_oldest_first_without_gaps() {
        let windows = split_range(ts("2026-01-01T00:00:00Z"), ts("2026-03-15T00:00:00Z"));
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0].0, ts("2026-01-01T00:00:00Z"));
        assert_eq!(windows[2].1, ts("2026-03-15T00:00:00Z"));
        for pair in windows.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        assert!(
            windows
                .iter()
                .all(|(a, b)| b.duration_since(*a) <= MAX_WINDOW)
        );
        assert!(split_range(ts("2026-01-02T00:00:00Z"), ts("2026-01-01T00:00:00Z")).is_empty());
    }

    fn page(text: &str) -> Result<SummaryPage, ApiError> {
        parse_page(bytes::Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn parses_pages_and_treats_an_empty_marker_as_the_end() {
        let first = page(r#"{"pageSize": 2, "nextPageMarker": "", "items": [{"a": 1}, [2 ]]}"#);
        let first = first.unwrap();
        let items: Vec<&str> = first.items().collect();
        assert_eq!(items, [r#"{"a": 1}"#, "[2 ]"], "each item as GoTo wrote it");
        assert_eq!(first.next_page_marker, None);
        let next = page(r#"{"nextPageMarker": "p2", "items": []}"#).unwrap();
        assert_eq!(next.next_page_marker.as_deref(), Some("p2"));
        let odd = page(r#"{"nextPageMarker": 7, "items": null}"#).unwrap();
        assert_eq!(odd.items().len(), 0);
        assert_eq!(odd.next_page_marker, None);
        for bad in ["[1]", "[]", r#"{"items": 3}"#, r#"{"items": [1,"#, "<html>"] {
            assert!(page(bad).is_err(), "{bad}");
        }
        assert!(parse_page(bytes::Bytes::from_static(b"{\"items\": [\"\xff\"]}")).is_err());
    }

    #[test]
    fn an_unreadable_page_is_described_without_control_codes() {
        // serde quotes the decoded string in its message: an ESC GoTo escaped as \u001b.
        let err = page(r#"{"items": "\u001b[2J"}"#).unwrap_err().to_string();
        assert!(err.contains("[2J"), "{err}");
        assert!(!err.contains('\x1b'), "{err}");
    }
}
