//! `cer summaries` for people: the glance first, at most 50 rows fitted to the terminal and a
//! footer; `--stats --json` against a hand count over a simulator day; one outcome word per
//! call whether it comes from the summary or the report; newest first across split windows.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use cer::outcome::Outcome;
use cer::output::text::width;
use cer_sandbox::SandboxConfig;
use jiff::Timestamp;
use serde_json::Value;

use crate::harness::{TestEnv, json_lines, stderr_of, stdout_of};
use crate::snapshot::{self, Filters, assert_filtered};

/// A past UTC day: the simulator's history of it is fixed.
const DAY: &str = "2026-01-05";

fn every(seconds: u64) -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(seconds)),
        ..SandboxConfig::default()
    })
}

fn day_items(env: &TestEnv) -> Vec<Value> {
    let output = env
        .cer_with_token()
        .args([
            "summaries",
            "--day",
            DAY,
            "--utc",
            "--json",
            "--page-size",
            "1000",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let lines: Vec<String> = stdout_of(&output).lines().map(str::to_string).collect();
    json_lines(&lines)
}

#[test]
fn a_terminal_day_shows_the_glance_fifty_fitted_rows_and_a_footer() {
    let env = every(60);
    for columns in ["80", "160"] {
        let output = env
            .cer_with_token()
            .env("CER_FORCE_TTY", "stdout")
            .env("NO_COLOR", "1")
            .env("COLUMNS", columns)
            .args(["summaries", "--day", DAY, "--utc"])
            .output()
            .unwrap();
        let text = stdout_of(&output);
        let max: usize = columns.parse().unwrap();
        assert!(text.lines().all(|l| width(l) <= max), "{text}");
        let args = ["summaries", "--day", DAY, "--utc"];
        let shown = format!("COLUMNS={columns}\n{}", snapshot::of_output(&args, &output));
        assert_filtered!(Filters::of(&env), shown);
    }
}

#[test]
fn all_and_limit_choose_how_many_rows_a_terminal_shows() {
    let env = TestEnv::new();
    for _ in 0..3 {
        env.sandbox.place_call();
    }
    let run = |args: &[&str]| {
        env.cer_with_token()
            .env("CER_FORCE_TTY", "stdout")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .args(["summaries", "--since", "1h"])
            .args(args)
            .output()
            .unwrap()
    };
    let all = run(&["--all"]);
    let text = stdout_of(&all);
    let header = text.lines().position(|l| l.starts_with("STARTED")).unwrap();
    assert_eq!(header, 0, "--all streams the table first: {text}");
    assert!(text.contains("3 calls from"), "then the glance: {text}");
    assert!(!stderr_of(&all).contains("Showing"));
    let two = run(&["--limit", "2"]);
    assert!(stderr_of(&two).contains("Showing 2 of 3 calls"));
}

#[test]
fn stats_json_matches_a_hand_count_over_a_simulator_day() {
    let env = every(60);
    let items = day_items(&env);
    assert_eq!(items.len(), 1440);
    let output = env
        .cer_with_token()
        .args(["summaries", "--day", DAY, "--utc", "--stats", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert_eq!(text.lines().count(), 1, "one JSON object");
    let stats: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(stats["calls"], 1440);
    let count = |test: &dyn Fn(&Value) -> bool| items.iter().filter(|i| test(i)).count() as u64;
    assert_eq!(
        stats["directions"]["inbound"],
        count(&|i| i["direction"] == "INBOUND")
    );
    assert_eq!(
        stats["directions"]["outbound"],
        count(&|i| i["direction"] == "OUTBOUND")
    );
    for outcome in Outcome::ALL {
        let n = count(&|i| Outcome::of_summary(i) == outcome);
        assert_eq!(stats["outcomes"][outcome.as_str()]["calls"], n, "{outcome}");
    }
    let hours: Vec<u64> = (0..24)
        .map(|h| count(&|i| created(i).to_zoned_datetime(jiff::tz::TimeZone::UTC).hour() == h))
        .collect();
    assert_eq!(stats["callsPerHour"], serde_json::json!(hours));
    check_times(&items, &stats);
    check_busiest(&items, &stats);
    check_not_called_back(&items, &stats);
}

fn created(item: &Value) -> Timestamp {
    item["callCreated"].as_str().unwrap().parse().unwrap()
}

fn at(item: &Value, field: &str) -> Option<Timestamp> {
    item.get(field)?.as_str()?.parse().ok()
}

/// Nearest-rank quantile of whole seconds.
fn quantile(mut values: Vec<u64>, q: f64) -> u64 {
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).max(1);
    values[rank - 1]
}

fn check_times(items: &[Value], stats: &Value) {
    let answered: Vec<&Value> = items
        .iter()
        .filter(|i| Outcome::of_summary(i) == Outcome::Answered)
        .collect();
    let seconds = |a: Timestamp, b: Timestamp| b.duration_since(a).as_secs() as u64;
    let answer: Vec<u64> = answered
        .iter()
        .filter_map(|i| Some(seconds(created(i), at(i, "callAnswered")?)))
        .collect();
    let talk: Vec<u64> = answered
        .iter()
        .filter_map(|i| Some(seconds(at(i, "callAnswered")?, at(i, "callEnded")?)))
        .collect();
    assert_eq!(
        stats["answerSeconds"]["median"],
        quantile(answer.clone(), 0.5)
    );
    assert_eq!(stats["answerSeconds"]["p90"], quantile(answer, 0.9));
    let median = quantile(talk.clone(), 0.5);
    assert!(median < 600, "below ten minutes the histogram is exact");
    assert_eq!(stats["talkSeconds"]["median"], median);
    assert_eq!(stats["talkSeconds"]["longest"], *talk.iter().max().unwrap());
}

fn check_busiest(items: &[Value], stats: &Value) {
    let mut lines: HashMap<(String, String), u64> = HashMap::new();
    for item in items {
        let parties =
            std::iter::once(&item["caller"]).chain(item["participants"].as_array().unwrap());
        let mut seen = HashSet::new();
        for party in parties.filter(|p| p["type"]["value"] == "LINE") {
            let key = (
                party["name"].as_str().unwrap().to_string(),
                party["number"].as_str().unwrap().to_string(),
            );
            if seen.insert(key.clone()) {
                *lines.entry(key).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<((String, String), u64)> = lines.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let expected: Vec<Value> = ranked
        .iter()
        .take(5)
        .map(|((name, number), n)| serde_json::json!({"name": name, "number": number, "calls": n}))
        .collect();
    assert_eq!(stats["busiestLines"], Value::Array(expected));
}

/// Brute force: a caller is unreturned when their newest unanswered inbound call has no
/// answered call with their number started after it.
fn check_not_called_back(items: &[Value], stats: &Value) {
    let digits = |v: &Value| -> String {
        v.as_str()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect()
    };
    let answered_with = |number: &str, after: Timestamp| {
        items.iter().any(|i| {
            created(i) > after
                && Outcome::of_summary(i) == Outcome::Answered
                && if i["direction"] == "INBOUND" {
                    digits(&i["caller"]["number"]) == number
                } else {
                    i["participants"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| digits(&p["number"]) == number)
                }
        })
    };
    let mut judged = HashSet::new();
    let mut unreturned = Vec::new();
    for item in items {
        let unanswered = matches!(
            Outcome::of_summary(item),
            Outcome::Missed | Outcome::Voicemail | Outcome::Abandoned
        );
        let number = digits(&item["caller"]["number"]);
        if item["direction"] != "INBOUND"
            || !unanswered
            || number.len() < 3
            || !judged.insert(number.clone())
        {
            continue;
        }
        if !answered_with(&number, created(item)) {
            unreturned.push(item["caller"]["number"].as_str().unwrap().to_string());
        }
    }
    assert!(!unreturned.is_empty(), "the day should have some");
    assert_eq!(stats["notCalledBack"]["callers"], unreturned.len() as u64);
    let newest: Vec<&str> = stats["notCalledBack"]["newest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["number"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = unreturned.iter().take(5).map(String::as_str).collect();
    assert_eq!(newest, expected);
}

#[test]
fn summary_and_report_give_every_call_of_a_day_the_same_outcome() {
    let env = every(120);
    let items = day_items(&env);
    assert_eq!(items.len(), 720);
    let token = env.sandbox.issue_token(None);
    let base = env.sandbox.base_url();
    let reports: Vec<Value> = env.block_on(async {
        let client = reqwest::Client::new();
        let mut reports = Vec::new();
        for item in &items {
            let id = item["conversationSpaceId"].as_str().unwrap();
            let url = format!("{base}/call-events-report/v1/reports/{id}");
            let response = client.get(url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            reports.push(response.json::<Value>().await.unwrap());
        }
        reports
    });
    let mut words = HashSet::new();
    for (summary, report) in items.iter().zip(&reports) {
        let outcome = Outcome::of_summary(summary);
        assert_eq!(
            outcome,
            Outcome::of_report(report),
            "{} ({}) disagrees",
            summary["conversationSpaceId"],
            summary["callerOutcome"]
        );
        words.insert(outcome);
    }
    // The simulator makes no TRUNCATED/UNKNOWN calls, so `other` cannot be compared here.
    let expected: HashSet<Outcome> = Outcome::ALL[..4].iter().copied().collect();
    assert_eq!(words, expected);
}

#[test]
fn ranges_longer_than_one_window_come_newest_first_from_first_row_to_last() {
    let env = every(3600);
    let output = env
        .cer_with_token()
        .args([
            "summaries",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-15",
            "--utc",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    let started: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(started.len(), 73 * 24 + 24);
    assert!(
        started
            .iter()
            .all(|t| t.len() == "2026-01-01T00:00:00.000Z".len()),
        "fixed precision"
    );
    assert!(
        started.windows(2).all(|w| w[0] >= w[1]),
        "one order as text too"
    );
    assert!(started[0].starts_with("2026-03-15T23:"), "{}", started[0]);
    assert!(started.last().unwrap().starts_with("2026-01-01T00:"));
    let windows = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/report-summaries"))
        .count();
    assert_eq!(windows, 3);
}

#[test]
fn stats_alone_prints_the_glance_and_no_rows() {
    let env = every(600);
    let args = ["summaries", "--day", DAY, "--utc", "--stats"];
    let output = env
        .cer_with_token()
        .env("COLUMNS", "60")
        .args(args)
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(text.lines().all(|l| width(l) <= 60), "{text}");
    assert_filtered!(Filters::of(&env), snapshot::of_output(&args, &output));
}
