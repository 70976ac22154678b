//! The deterministic history: paging through thousands of summaries, filters, and two sandboxes
//! with one seed agreeing on every summary and report.

use std::collections::HashSet;
use std::time::Duration;

use cer_sandbox::{Sandbox, SandboxConfig};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::rest::{assert_report_matches, assert_summary_shape};
use super::support::{get, start};

fn every_second() -> SandboxConfig {
    SandboxConfig {
        seed: 7,
        call_every: Some(Duration::from_secs(1)),
        ..SandboxConfig::default()
    }
}

/// A window that ended more than two hours ago, so every call in it has ended.
fn past_window(sb: &Sandbox, hours_ago: i64, minutes: i64, extra: &str) -> String {
    let end = Timestamp::now()
        .round(jiff::Unit::Minute)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        - SignedDuration::from_hours(hours_ago);
    let start = end - SignedDuration::from_mins(minutes);
    format!(
        "/call-events-report/v1/report-summaries?accountKey={}&startTime={start}&endTime={end}{extra}",
        sb.account_key()
    )
}

/// Follows nextPageMarker to the end; returns every item and the number of pages.
async fn all_pages(sb: &Sandbox, token: &str, first: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut path = first.to_string();
    for pages in 1.. {
        let (status, page) = get(sb, token, &path).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page.get("nextPageMarker").and_then(Value::as_str) {
            Some(marker) => path = format!("{first}&pageMarker={marker}"),
            None => return (items, pages),
        }
    }
    unreachable!()
}

#[tokio::test]
async fn pages_through_thousands_of_summaries_once_each_newest_first() {
    let sb = start(every_second()).await;
    let token = sb.issue_token(None);
    let first = past_window(&sb, 3, 45, "&pageSize=1000");
    let (items, pages) = all_pages(&sb, &token, &first).await;
    assert!(
        (2_690..=2_701).contains(&items.len()),
        "{} summaries",
        items.len()
    );
    assert_eq!(pages, items.len().div_ceil(1000));
    let ids: HashSet<&str> = items
        .iter()
        .filter_map(|i| i["conversationSpaceId"].as_str())
        .collect();
    assert_eq!(ids.len(), items.len(), "each summary exactly once");
    let created: Vec<&str> = items
        .iter()
        .filter_map(|i| i["callCreated"].as_str())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "callCreated descending"
    );
    for item in items.iter().step_by(97) {
        assert_summary_shape(item);
    }
    let outcomes: HashSet<&str> = items
        .iter()
        .filter_map(|i| i["callerOutcome"].as_str())
        .collect();
    for o in [
        "NORMAL",
        "MISSED",
        "LEFT_DIAL_PLAN",
        "VOICEMAIL",
        "LEFT_QUEUE",
    ] {
        assert!(outcomes.contains(o), "{o} never drawn");
    }
}

#[tokio::test]
async fn filters_select_by_scope_outcome_and_user() {
    let sb = start(every_second()).await;
    let token = sb.issue_token(None);
    let (missed, _) = all_pages(
        &sb,
        &token,
        &past_window(
            &sb,
            3,
            20,
            "&conversationCallerOutcome=MISSED&pageSize=1000",
        ),
    )
    .await;
    assert!(!missed.is_empty());
    assert!(
        missed
            .iter()
            .all(|i| i["callerOutcome"] == "MISSED" && i.get("callAnswered").is_none())
    );

    let (internal, _) = all_pages(
        &sb,
        &token,
        &past_window(&sb, 3, 20, "&conversationScope=INTERNAL&pageSize=1000"),
    )
    .await;
    assert!(!internal.is_empty());
    assert!(internal.iter().all(|i| {
        i["caller"]["type"]["value"] == "LINE"
            && i["participants"]
                .as_array()
                .is_some_and(|ps| ps.iter().all(|p| p["type"]["value"] == "LINE"))
    }));

    let user = internal[0]["caller"]["type"]["userKey"]
        .as_str()
        .expect("userKey")
        .to_string();
    let by_user = past_window(&sb, 3, 20, "&pageSize=1000").replace(
        &format!("accountKey={}", sb.account_key()),
        &format!("userKey={user}"),
    );
    let (mine, _) = all_pages(&sb, &token, &by_user).await;
    assert!(
        mine.iter()
            .any(|i| i["conversationSpaceId"] == internal[0]["conversationSpaceId"])
    );
    let (everyone, _) = all_pages(&sb, &token, &past_window(&sb, 3, 20, "&pageSize=1000")).await;
    assert!(mine.len() < everyone.len());
}

#[tokio::test]
async fn same_seed_same_history_whatever_the_start_time() {
    let a = start(every_second()).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let b = start(every_second()).await;
    assert_eq!(a.account_key(), b.account_key());
    let (ta, tb) = (a.issue_token(None), b.issue_token(None));
    let path = past_window(&a, 4, 10, "&pageSize=250");
    let (pa, _) = all_pages(&a, &ta, &path).await;
    let (pb, _) = all_pages(&b, &tb, &path).await;
    assert!(pa.len() > 500);
    assert_eq!(pa, pb);
    for item in pa.iter().step_by(61) {
        let id = item["conversationSpaceId"].as_str().expect("id");
        let (sa, ra) = get(&a, &ta, &format!("/call-events-report/v1/reports/{id}")).await;
        let (sb_, rb) = get(&b, &tb, &format!("/call-events-report/v1/reports/{id}")).await;
        assert_eq!((sa, sb_), (200, 200));
        assert_eq!(ra, rb);
        assert_report_matches(&ra, item);
    }
    let other = start(SandboxConfig {
        seed: 8,
        ..every_second()
    })
    .await;
    assert_ne!(other.account_key(), a.account_key());
    let id = pa[0]["conversationSpaceId"].as_str().expect("id");
    let (status, _) = get(
        &other,
        &other.issue_token(None),
        &format!("/call-events-report/v1/reports/{id}"),
    )
    .await;
    assert_eq!(status, 404, "another seed does not know this call");
}

#[tokio::test]
async fn placed_calls_merge_into_the_scheduled_history() {
    let sb = start(every_second()).await;
    let token = sb.issue_token(None);
    let placed: Vec<String> = (0..5)
        .map(|k| {
            sb.place_call_lasting(Duration::from_secs(20 * k + 5))
                .conversation_space_id
        })
        .collect();
    let first = format!("{}&pageSize=7", super::support::recent_window(&sb, 3));
    let (items, pages) = all_pages(&sb, &token, &first).await;
    assert!(pages > 3, "{pages} pages");
    let created: Vec<&str> = items
        .iter()
        .filter_map(|i| i["callCreated"].as_str())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "callCreated descending"
    );
    for id in &placed {
        let n = items
            .iter()
            .filter(|i| i["conversationSpaceId"] == id.as_str())
            .count();
        assert_eq!(n, 1, "placed call {id} listed once");
    }
    let ids: HashSet<&str> = items
        .iter()
        .filter_map(|i| i["conversationSpaceId"].as_str())
        .collect();
    assert_eq!(ids.len(), items.len());
}
