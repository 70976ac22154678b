//! `cer show`: simulator calls of every outcome as a person sees them (snapshots at 80 and
//! 120 columns), the ID rules (whole IDs from the store or GoTo, prefixes of 8 or more
//! characters of stored calls, ambiguous exit 2, unknown exit 3) on SQLite and PostgreSQL,
//! hostile names, and the same lines to a pipe as to a terminal, without colour.

use std::collections::BTreeMap;
use std::time::Duration;

use cer::outcome::Outcome;
use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation};
use cer_sandbox::SandboxConfig;
use serde_json::{Value, json};

use crate::harness::{TestEnv, json_lines, stderr_of, stdout_of};
use crate::snapshot::{self, Filters, assert_filtered};

/// A past UTC day: the simulator's history of it is fixed.
const DAY: &str = "2026-01-05";

fn day_env() -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(60)),
        ..SandboxConfig::default()
    })
}

/// The first call of the day of each outcome, by cer's word.
fn one_call_per_outcome(env: &TestEnv) -> BTreeMap<&'static str, String> {
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
    let mut found = BTreeMap::new();
    for item in json_lines(&lines).iter().rev() {
        let word = Outcome::of_summary(item).as_str();
        let id = item["conversationSpaceId"].as_str().unwrap().to_string();
        found.entry(word).or_insert(id);
    }
    found
}

fn show(env: &TestEnv, columns: &str, args: &[&str]) -> std::process::Output {
    env.cer_with_token()
        .env("CER_FORCE_TTY", "stdout")
        .env("NO_COLOR", "1")
        .env("COLUMNS", columns)
        .arg("show")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn simulator_calls_of_every_outcome_at_80_and_120_columns() {
    let env = day_env();
    let calls = one_call_per_outcome(&env);
    let words: Vec<&str> = calls.keys().copied().collect();
    assert_eq!(words, ["abandoned", "answered", "missed", "voicemail"]);
    for (word, id) in &calls {
        for columns in ["80", "120"] {
            let output = show(&env, columns, &["--utc", id]);
            assert!(output.status.success(), "{}", stderr_of(&output));
            let page = stdout_of(&output);
            let max: usize = columns.parse().unwrap();
            assert!(
                page.lines().all(|l| cer::output::text::width(l) <= max),
                "{page}"
            );
            let outcome = page
                .lines()
                .any(|l| l.split_whitespace().eq(["outcome", *word]));
            assert!(outcome, "{page}");
            insta::assert_snapshot!(format!("show_{word}_{columns}"), page);
        }
    }
}

#[test]
fn a_pipe_gets_the_same_lines_without_colour() {
    let env = day_env();
    let id = "29a1c77a-e52a-3764-8606-8b02b1277be8";
    let terminal = env
        .cer_with_token()
        .env("CER_FORCE_TTY", "stdout")
        .env("COLUMNS", "80")
        .args(["show", "--utc", id])
        .output()
        .unwrap();
    let pipe = env
        .cer_with_token()
        .env("COLUMNS", "80")
        .args(["show", "--utc", id])
        .output()
        .unwrap();
    assert!(terminal.status.success() && pipe.status.success());
    let coloured = stdout_of(&terminal);
    assert!(coloured.contains('\u{1b}'), "a terminal gets colour");
    assert!(!stdout_of(&pipe).contains('\u{1b}'), "a pipe gets none");
    assert_eq!(cer::output::text::strip_styles(&coloured), stdout_of(&pipe));
}

/// A store holding `reports`, at a fresh SQLite file; its `--store` value.
fn store_with(env: &TestEnv, url: &str, reports: &[Value]) -> String {
    let location = StoreLocation::parse(url).unwrap();
    env.block_on(async {
        let store = Store::open(&location).await.unwrap();
        for report in reports {
            let now = jiff::Timestamp::now();
            store
                .store_report(
                    &cer::report::Report::of_value(report).unwrap(),
                    None,
                    &Queue::NONE,
                    now,
                )
                .await
                .unwrap();
        }
    });
    url.to_string()
}

fn sqlite_url(env: &TestEnv) -> String {
    format!("sqlite:{}", env.dir.path().join("show.db").display())
}

fn report(id: &str, caller: &str) -> Value {
    json!({
        "conversationSpaceId": id,
        "callCreated": "2026-11-25T09:00:00Z",
        "callEnded": "2026-11-25T09:01:00Z",
        "direction": "INBOUND",
        "participants": [{"id": "c", "originator": "c", "type": {"value": "PHONE_NUMBER",
            "number": "+18005550199", "caller": {"name": caller, "number": "+12015550123"}}}],
        "hangupOriginatorId": "c",
        "callStates": [
            {"type": "STARTING", "sequenceNumber": 1, "timestamp": "2026-11-25T09:00:00Z",
             "participants": [{"id": "c", "originator": "c", "status": {"value": "RINGING"},
                "type": {"value": "PHONE_NUMBER", "number": "+18005550199",
                         "caller": {"name": caller, "number": "+12015550123"}}}]}
        ]
    })
}

const TWINS: [&str; 2] = [
    "abcdef01-1111-4111-8111-111111111111",
    "abcdef01-2222-4222-8222-222222222222",
];
const SINGLE: &str = "12345678-3333-4333-8333-333333333333";

fn prefix_rules(url: &str) {
    let env = TestEnv::new();
    let reports = [
        report(TWINS[0], "One"),
        report(TWINS[1], "Two"),
        report(SINGLE, "Solo"),
    ];
    let store = store_with(&env, url, &reports);
    let mut seen = String::new();
    // A unique prefix of 8 characters, in any case: the stored call; a shorter one, exit 2.
    // Ambiguous: exit 2 and both candidates named. Unknown: exit 3, and a LIKE wildcard is no
    // wildcard.
    for id in [
        "12345678",
        "12345678-33",
        "1234567",
        "ABCDEF01-2",
        "abcdef01",
        "ffffffff",
        "abcdef0-",
    ] {
        let args = ["--store", store.as_str(), id];
        let output = show(&env, "80", &args);
        seen.push_str(&snapshot::of_output(
            &[&["show"], &args[..]].concat(),
            &output,
        ));
    }
    assert_eq!(
        env.report_requests(),
        0,
        "a stored call is read from the store"
    );
    // One snapshot for SQLite and PostgreSQL alike: the store is named, not shown.
    let filters = Filters::default()
        .literal(&store, "[STORE]")
        .world(&env)
        .fetched();
    assert_filtered!(filters, name = "prefixes_of_stored_calls", seen);
}

fn run_many(env: &TestEnv, store: &str, ids: &[&str]) -> std::process::Output {
    let mut args = vec!["--store", store];
    args.extend_from_slice(ids);
    show(env, "80", &args)
}

#[test]
fn whole_ids_come_from_the_store_else_from_goto() {
    let env = TestEnv::new();
    let url = sqlite_url(&env);
    let store = store_with(&env, &url, &[report(SINGLE, "Solo")]);
    let run = |id: &str| show(&env, "80", &["--store", &store, id]);
    assert!(run(SINGLE).status.success());
    assert_eq!(
        env.report_requests(),
        0,
        "a stored call is read from the store"
    );
    // A whole ID the store lacks comes from GoTo; one GoTo lacks too is exit 3.
    let placed = env.sandbox.place_call().conversation_space_id;
    let output = run(&placed);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains(&placed));
    let output = run("00000000-0000-3000-8000-000000000000");
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    // Several IDs: what is found is printed, the exit code says what was not.
    let output = run_many(&env, &store, &[SINGLE, "ffffffff"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(stdout_of(&output).contains("Solo"));
}

#[test]
fn a_server_error_on_one_call_still_shows_the_others_and_exits_with_the_worst() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..3)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    let broken = format!("/call-events-report/v1/reports/{}", ids[1]);
    env.sandbox.faults().fail_next_on(&broken, 100, 500);
    let unknown = "00000000-0000-3000-8000-000000000000";
    let output = show(&env, "80", &["--utc", &ids[0], &ids[1], &ids[2], unknown]);
    let (out, err) = (stdout_of(&output), stderr_of(&output));
    assert!(
        out.contains(&ids[0]) && out.contains(&ids[2]),
        "{out}\n{err}"
    );
    assert!(!out.contains(&ids[1]), "{out}");
    assert!(err.contains(&ids[1]) && err.contains("500"), "{err}");
    assert!(err.contains(unknown), "{err}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a server error is worse than a missing call"
    );
}

/// Fields GoTo may add are listed as GoTo sent them, whichever store kept the report.
fn analysis_in_goto_order(url: &str) {
    let env = TestEnv::new();
    let mut stored = report(SINGLE, "Ordered");
    // jsonb would sort these by length, then bytes: `al` before `zeta`.
    stored["aiAnalysis"] = json!({"zeta": "first", "al": "second"});
    let store = store_with(&env, url, &[stored]);
    let output = show(&env, "80", &["--store", &store, SINGLE]);
    let page = stdout_of(&output);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let (zeta, al) = (
        page.find("zeta: first").unwrap(),
        page.find("al: second").unwrap(),
    );
    assert!(zeta < al, "{page}");
}

#[test]
fn analysis_fields_in_goto_order_on_sqlite() {
    let env = TestEnv::new();
    analysis_in_goto_order(&sqlite_url(&env));
}

#[test]
fn analysis_fields_in_goto_order_on_postgres() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    analysis_in_goto_order(&url);
}

#[test]
fn prefixes_of_stored_calls_on_sqlite() {
    let env = TestEnv::new();
    prefix_rules(&sqlite_url(&env));
}

#[test]
fn prefixes_of_stored_calls_on_postgres() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    prefix_rules(&url);
}

#[test]
fn a_missing_store_is_not_created_and_the_sandbox_needs_no_home() {
    let env = TestEnv::new();
    let output = env
        .cer()
        .args(["--sandbox", "show", "29a1c77a-e52a-3764-8606-8b02b1277be8"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("29a1c77a-e52a-3764-8606-8b02b1277be8"));
    let output = env
        .cer_with_token()
        .args(["show", "abcdef01"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    assert!(
        !env.state_dir().join("cer.db").exists(),
        "show created the store"
    );
}

#[test]
fn hostile_names_from_the_store_are_escaped() {
    let env = TestEnv::new();
    let hostile = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\n09:00:00 fake 山田太郎 e\u{301} \u{202e}";
    let store = store_with(&env, &sqlite_url(&env), &[report(SINGLE, hostile)]);
    let output = env
        .cer_with_token()
        .env("CER_FORCE_TTY", "stdout")
        .env("COLUMNS", "60")
        .args(["show", "--store", &store, SINGLE])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let page = cer::output::text::strip_styles(&stdout_of(&output));
    assert!(
        !page.chars().any(|c| c.is_control() && c != '\n'),
        "{page:?}"
    );
    assert!(
        page.lines().all(|l| cer::output::text::width(l) <= 60),
        "{page}"
    );
    assert_filtered!(Filters::of(&env).fetched(), page);
}

/// A call the store holds in two revisions (post-call analysis came after the first fetch):
/// `show` reads both from the store, says which fields the second brought, and every line fits
/// from 60 to 200 columns. Run in-process: only what it prints is the point.
#[test]
fn a_stored_call_shows_what_each_revision_brought_at_every_width() {
    let env = TestEnv::new();
    let url = sqlite_url(&env);
    let first = report(SINGLE, "Revised Rita");
    store_with(&env, &url, std::slice::from_ref(&first));
    let mut second = first.clone();
    second["callReason"] = json!("Asked to move an appointment to next week; agreed on Tuesday.");
    second["aiAnalysis"] = json!({"sentiment": "POSITIVE", "summary": "Appointment moved."});
    env.block_on(async {
        let store = Store::open(&StoreLocation::parse(&url).unwrap())
            .await
            .unwrap();
        let later = jiff::Timestamp::now();
        let revised = store
            .store_revision(
                cer::report::Report::of_value(&second).unwrap().id(),
                &cer::report::Report::of_value(&second).unwrap(),
                &Queue::NONE,
                later,
            )
            .await
            .unwrap();
        assert!(matches!(
            revised,
            cer::store::Revised::New { revision: 2, .. }
        ));
    });
    for columns in (60..=200).step_by(7) {
        let columns = columns.to_string();
        let extra = [("CER_FORCE_TTY", "stdout"), ("COLUMNS", columns.as_str())];
        let run = env.run(&["show", "--store", &url, &SINGLE[..8]], &extra);
        assert_eq!(run.code, 0, "{run:?}");
        let page = cer::output::text::strip_styles(&run.stdout);
        for line in page.lines() {
            assert!(
                cer::output::text::width(line) <= columns.parse().unwrap(),
                "{columns}: {line}"
            );
        }
        if columns == "60" {
            assert_filtered!(Filters::of(&env).fetched(), page);
        }
    }
    assert_eq!(
        env.report_requests(),
        0,
        "a stored call is read from the store"
    );
}

/// The simulator's calls carry what GoTo's real reports carry (a menu choice, a queue, one
/// person on two devices, a transfer with who and where): `show` reads them as it reads GoTo's.
#[test]
fn simulated_calls_read_like_real_ones() {
    let env = day_env();
    let calls = [
        (
            "queue_menu",
            "77cc930c-3957-30b3-84b2-12e3739f3e9d",
            "queue Support (1113)",
        ),
        (
            "transfer",
            "18c810ce-7ea6-3826-b305-331e3d791527",
            "transferred the call to",
        ),
    ];
    for (name, id, expected) in calls {
        let output = show(&env, "80", &["--utc", id]);
        assert!(output.status.success(), "{}", stderr_of(&output));
        let page = stdout_of(&output);
        // What each call is chosen for, besides the snapshot (reviewed once) that shows it.
        assert!(page.contains(expected), "{page}");
        insta::assert_snapshot!(format!("simulated_{name}_80"), page);
    }
}
