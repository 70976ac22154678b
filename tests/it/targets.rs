//! Issue 26: a target URL is a secret, and targets belong to the store. Against the built
//! `cer` and real local receivers: no part of a target but its scheme, host and port reaches
//! any output, log, metric or store column; a revision that a process without `--forward-to`
//! stores (a re-fetch, `sync`) is queued for every target a listener ever named, shown as
//! orphaned while no listener names it, counted by `sync --check`, and dropped by `--forget`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, Uri};
use cer_sandbox::SandboxConfig;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

use crate::delivery::{Fault, Receiver};
use crate::harness::{TestEnv, free_port, json_lines};
use crate::snapshot::{self, Filters, assert_filtered};

/// How long anything asynchronous may take before a test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// Webhook URLs whose secrets sit in the path, as providers make them, each with the parts
/// that must never show.
const PATHS: [(&str, &[&str]); 4] = [
    (
        "/bot8642097531:AAHtelegramSECRET0token/sendMessage",
        &["8642097531", "AAHtelegram", "sendMessage"],
    ),
    (
        "/hooks/catch/7349215/zapSECRETx9k/",
        &["7349215", "zapSECRET", "catch"],
    ),
    (
        "/x;jsessionid=JSESSIONSECRET42",
        &["JSESSIONSECRET42", "jsessionid"],
    ),
    ("/hook/s3cr3tShrt", &["s3cr3tShrt"]),
];

/// The form cer must show a target in, computed here from SPEC section 8's words.
pub(crate) fn shown(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    let digest = Sha256::digest(parsed.as_str().as_bytes());
    let tag: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    format!(
        "http://{}:{}/… [{tag}]",
        parsed.host_str().unwrap(),
        parsed.port().unwrap()
    )
}

/// A receiver that answers 500 on every path: each target fails until `--forward-for` runs
/// out, so its URL would show in retry lines, the "gave up" error and the outbox.
fn failing_receiver(env: &TestEnv) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(uri.to_string());
            StatusCode::INTERNAL_SERVER_ERROR
        }
    });
    let listener = env
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    env.spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

/// `cer ARGS` to its end: (exit code, stdout, stderr).
fn cer(env: &TestEnv, args: &[&str], tty: bool) -> (i32, String, String) {
    cer_on(env, None, args, tty)
}

/// [`cer`] on the store `store` (`CER_STORE`), else the default SQLite one.
fn cer_on(env: &TestEnv, store: Option<&str>, args: &[&str], tty: bool) -> (i32, String, String) {
    let mut command = env.cer_with_token();
    if let Some(store) = store {
        command.env("CER_STORE", store);
    }
    if tty {
        command.env("CER_FORCE_TTY", "stdout");
    }
    let output = command.args(args).timeout(LIMIT).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// `cer deliveries --json`, parsed.
fn outbox(env: &TestEnv) -> Vec<serde_json::Value> {
    outbox_on(env, None)
}

/// [`outbox`] of the store `store`.
fn outbox_on(env: &TestEnv, store: Option<&str>) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = cer_on(env, store, &["deliveries", "--json"], false);
    assert_eq!(code, 0, "{stderr}");
    json_lines(&stdout.lines().map(str::to_string).collect::<Vec<_>>())
}

/// Every value of every column of every table of the SQLite store, as text (lossy: a
/// checksum is bytes).
fn every_stored_value(env: &TestEnv) -> String {
    let path = env.state_dir().join("cer.db");
    env.block_on(async {
        let url = format!("sqlite:{}?mode=ro", path.display());
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let tables: Vec<String> =
            sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&mut db)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
        let mut all = String::new();
        for table in tables {
            let columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info({table})"))
                .fetch_all(&mut db)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(1))
                .collect();
            for column in columns {
                let sql = format!("SELECT CAST({column} AS BLOB) FROM {table}");
                for row in sqlx::query(&sql).fetch_all(&mut db).await.unwrap() {
                    let value: Option<Vec<u8>> = row.get(0);
                    let value = String::from_utf8_lossy(&value.unwrap_or_default()).to_string();
                    all.push_str(&format!("{table}.{column}={value}\n"));
                }
            }
        }
        all
    })
}

/// The `target` labels of the `cer_deliveries*` series of a scrape.
fn target_labels(scraped: &str) -> BTreeSet<String> {
    let lines = scraped.lines().map(|line| Ok(line.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric.starts_with("cer_deliveries"))
        .filter_map(|s| s.labels.get("target").map(str::to_string))
        .collect()
}

/// `cer deliveries` on a terminal, as JSON, failed only and with trace logs (text and JSON):
/// each lists `call` and shows every target of `urls` as cer must. Returns all they printed.
fn every_listing(env: &TestEnv, urls: &[String], call: &str) -> String {
    let mut seen = String::new();
    for args in [
        &["deliveries"][..],
        &["deliveries", "--json"],
        &["-vv", "deliveries", "--failed"],
        &["-vv", "--log-format", "json", "deliveries", "--json"],
    ] {
        let (code, stdout, stderr) = cer(env, args, args.len() == 1);
        assert_eq!(code, 0, "{stderr}");
        for url in urls {
            let shown = shown(url);
            assert!(stdout.contains(&shown), "{args:?} shows {shown}: {stdout}");
        }
        assert!(stdout.contains(call));
        seen.push_str(&format!("{stdout}\n{stderr}\n"));
    }
    seen
}

/// Regression (issue 26, finding 1): only path segments that looked like tokens were hidden,
/// so a Telegram bot token, a Zapier hook, a session ID and a short secret showed in clear in
/// logs, the delivery line, `cer deliveries`, metrics labels and the store.
#[test]
fn no_part_of_a_target_but_scheme_host_and_port_shows_anywhere() {
    let env = TestEnv::new();
    let (base, tried) = failing_receiver(&env);
    let urls: Vec<String> = PATHS
        .iter()
        .map(|(path, _)| format!("{base}{path}"))
        .collect();
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["-vv", "--log-format", "json", "--forward-for", "2s"];
    args.extend(["--metrics", &metrics]);
    for url in &urls {
        args.extend(["--forward-to", url.as_str()]);
    }
    let running = env.listen_with(&args, |command| {
        command.env("CER_FORCE_TTY", "stdout");
    });
    let calls = env.place_calls(1);
    let deadline = Instant::now() + LIMIT;
    while outbox(&env)
        .iter()
        .filter(|d| d["state"] == "failed")
        .count()
        < urls.len()
    {
        assert!(Instant::now() < deadline, "not failed: {:?}", outbox(&env));
        std::thread::sleep(Duration::from_millis(200));
    }
    let scraped = env.block_on(async {
        let answer = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .unwrap();
        answer.text().await.unwrap()
    });
    let (stdout, stderr) = running.stop();
    let expected: BTreeSet<String> = urls.iter().map(|u| shown(u)).collect();
    assert_eq!(
        target_labels(&scraped),
        expected,
        "metrics label each target as shown"
    );

    let terminal = stdout.join("\n");
    let mut seen = format!("{terminal}\n{}\n{scraped}\n", stderr.join("\n"));
    for url in &urls {
        assert!(
            terminal.contains(&shown(url)),
            "the delivery line: {terminal}"
        );
    }
    seen.push_str(&every_listing(&env, &urls, &calls[0]));
    let stored = every_stored_value(&env);
    assert!(stored.contains(&shown(&urls[0])), "{stored}");
    seen.push_str(&stored);
    for file in ["cer.db", "cer.db-wal"] {
        let bytes = std::fs::read(env.state_dir().join(file)).unwrap_or_default();
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    for (_, secrets) in PATHS {
        for secret in secrets {
            assert!(!seen.contains(secret), "{secret} shown:\n{seen}");
        }
    }
    let tried = tried.lock().unwrap();
    for (path, _) in PATHS {
        assert!(
            tried.iter().any(|p| p == path),
            "{path} was tried with its real URL"
        );
    }
}

/// Regression (issue 26, finding 2): a listener with `--forward-to T` stored call Z and
/// delivered revision 1; a listener without `--forward-to` on the same store re-fetched Z and
/// stored revision 2, which was queued for no one: T never got it.
#[test]
fn a_revision_a_listener_without_targets_stores_reaches_a_target_another_one_named() {
    a_revision_stored_without_targets_reaches_the_target(None);
}

/// The same on a PostgreSQL store shared by the listeners.
#[test]
fn on_postgres_a_revision_stored_without_targets_reaches_the_target() {
    let Some(url) = crate::postgres::fresh_database() else {
        eprintln!("skipped: no PostgreSQL");
        return;
    };
    a_revision_stored_without_targets_reaches_the_target(Some(&url));
}

fn a_revision_stored_without_targets_reaches_the_target(store: Option<&str>) {
    let env = TestEnv::with(SandboxConfig {
        call_every: None,
        analysis_delay: None,
        ..SandboxConfig::default()
    });
    let listen = |args: &[&str]| {
        env.listen_with(args, |command| {
            if let Some(store) = store {
                command.env("CER_STORE", store);
            }
        })
    };
    let receiver = Receiver::start(&env, 0, Fault::None);
    let point = Duration::from_secs(6);
    let with_target = [
        "--json",
        "--refetch",
        "6s",
        "--forward-to",
        receiver.url.as_str(),
    ];
    let mut first = listen(&with_target);
    let ended = Instant::now();
    let id = env.place_calls(1).remove(0);
    first.stdout_lines(1, LIMIT);
    receiver.wait_for(std::slice::from_ref(&id), LIMIT);
    first.stop();
    assert!(
        ended.elapsed() < point,
        "stopped after the re-fetch point: nothing tested"
    );
    env.sandbox.add_analysis(&id, None).expect("a known call");

    let without = listen(&["--json", "--refetch", "6s"]);
    let deadline = Instant::now() + LIMIT;
    let second = loop {
        let queued: Vec<serde_json::Value> = outbox_on(&env, store)
            .into_iter()
            .filter(|d| d["revision"] == 2)
            .collect();
        if !queued.is_empty() {
            break queued;
        }
        let outbox = outbox_on(&env, store);
        assert!(
            Instant::now() < deadline,
            "revision 2 never queued: {outbox:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0]["conversationSpaceId"], id.as_str());
    assert_eq!(
        second[0]["state"], "orphaned",
        "no running listener names the target"
    );
    assert_eq!(second[0]["target"], shown(&receiver.url).as_str());
    without.stop();

    let again = listen(&with_target);
    receiver.wait_for(&[format!("{id}:2")], LIMIT);
    again.stop();
    assert_eq!(receiver.accepted_ids(), [id.clone(), format!("{id}:2")]);
    let sqlite = env.state_dir().join("cer.db");
    assert_eq!(sqlite.exists(), store.is_none(), "the store the test meant");
}

/// `sync` storing a call queues it for a target a listener once named; `cer deliveries`
/// shows it orphaned, `sync --check` counts it, and `--forget TAG` drops the target and its
/// queue (an unknown tag is a usage error that lists the registered targets).
#[test]
fn sync_queues_for_registered_targets_and_forget_drops_them() {
    let env = TestEnv::new();
    let receiver = Receiver::start(&env, 0, Fault::None);
    env.listen(&["--forward-to", &receiver.url]).stop();
    let calls = env.place_calls(1);
    let (code, _, stderr) = cer(&env, &["sync", "--since", "1h"], false);
    assert_eq!(code, 0, "{stderr}");
    let target = shown(&receiver.url);
    let queued = outbox(&env);
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["conversationSpaceId"], calls[0].as_str());
    assert_eq!(queued[0]["state"], "orphaned");
    assert_eq!(queued[0]["target"], target.as_str());
    let (_, plain, counted) = cer(&env, &["deliveries"], true);
    assert!(plain.starts_with("orphaned "), "{plain}");
    assert!(counted.contains("1 orphaned"), "{counted}");

    let check = ["sync", "--check", "--since", "1h", "--json"];
    let (code, stdout, stderr) = cer(&env, &check, false);
    assert_eq!(code, 0, "{stderr}");
    let checked: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(checked["deliveriesOrphaned"], 1, "{checked}");
    assert_eq!(checked["deliveriesPending"], 0, "{checked}");

    let tag = &target[target.len() - 7..target.len() - 1];
    let unknown = if tag == "000000" { "ffffff" } else { "000000" };
    // An unknown tag lists the registered targets; a known one drops their deliveries.
    let mut seen = String::new();
    for forget in [unknown, tag] {
        let args = ["deliveries", "--forget", forget];
        let (code, stdout, stderr) = cer(&env, &args, false);
        seen.push_str(&snapshot::transcript(&args, code.into(), &stdout, &stderr));
    }
    // The receiver's port, in its address and in the tag drawn from it, changes every run.
    let filters = Filters::default()
        .literal(&target, "[TARGET]")
        .literal(unknown, "[UNKNOWN]")
        .literal(tag, "[TAG]")
        .world(&env);
    assert_filtered!(filters, seen);
    assert!(outbox(&env).is_empty());
    let (_, stdout, _) = cer(&env, &check, false);
    let checked: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(checked["deliveriesOrphaned"], 0, "{checked}");
    // Forgotten: what is stored from now on is queued for no one.
    env.place_calls(1);
    let (code, _, stderr) = cer(&env, &["sync", "--since", "1h"], false);
    assert_eq!(code, 0, "{stderr}");
    assert!(outbox(&env).is_empty());
}

/// The store key an earlier version gave a target URL: `sha256:` and 32 hex characters.
fn key_of(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A store as the version before issue 26 left it (migrations 1 and 2): targets kept in their
/// old form, which showed these path secrets in clear, a last error quoting a URL, and a
/// row of the oldest outbox that named its target in clear.
async fn store_of_the_previous_version(url: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let dialect = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let sql = |n: i64| match (dialect, n) {
        ("sqlite", 1) => include_str!("../../src/store/migrations/sqlite/0001_store.sql"),
        ("sqlite", _) => include_str!("../../src/store/migrations/sqlite/0002_revisions.sql"),
        (_, 1) => include_str!("../../src/store/migrations/postgres/0001_store.sql"),
        _ => include_str!("../../src/store/migrations/postgres/0002_revisions.sql"),
    };
    let migrations = [(1, "store"), (2, "revisions")].map(|(n, name)| {
        sqlx::migrate::Migration::new(
            n,
            name.into(),
            sqlx::migrate::MigrationType::Simple,
            sql(n).into(),
            false,
        )
    });
    let migrator = sqlx::migrate::Migrator {
        migrations: migrations.to_vec().into(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    migrator.run(&pool).await.unwrap();
    let telegram = "https://api.telegram.org/bot8642097531:AAHtelegramSECRET0token/sendMessage";
    let zapier = "https://***@hooks.zapier.com/hooks/catch/7349215/zapSECRETx9k/?token=***";
    let rows = [
        (
            "c1",
            key_of(telegram),
            telegram,
            "pending",
            format!("request to {telegram} failed"),
        ),
        (
            "c2",
            key_of("zapier"),
            zapier,
            "orphaned",
            "answered 500".to_string(),
        ),
        (
            "c3",
            "legacy:http://u:pw@127.0.0.1:9/hook/s3cr3tShrt".to_string(),
            "http://u:pw@127.0.0.1:9/hook/s3cr3tShrt",
            "pending",
            "answered 503".to_string(),
        ),
    ];
    for (id, key, target, state, error) in &rows {
        sqlx::query(
            "INSERT INTO cer_outbox (conversation_space_id, revision, target_key, target, state, \
             attempts, last_error, created_ms, next_ms, lease_ms, holder, deadline_ms) \
             VALUES ($1, 1, $2, $3, $4, 1, $5, 1, 1, 0, NULL, 4102444800000)",
        )
        .bind(*id)
        .bind(key)
        .bind(*target)
        .bind(*state)
        .bind(error)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO cer_targets (target_key, target, seen_ms) VALUES ($1, $2, 1)")
        .bind(key_of("zapier"))
        .bind(zapier)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Migration 3 scrubs what earlier versions stored: every target is registered with only its
/// scheme, host, port and tag, the outbox keeps no target column, an error that quoted a URL
/// goes, orphaned deliveries are pending again (orphaned is now seen, not stored), and the
/// SQLite file keeps no deleted URL in its free pages.
#[test]
fn the_migration_scrubs_targets_an_earlier_version_stored_in_clear() {
    let env = TestEnv::new();
    let db = env.state_dir().join("cer.db");
    std::fs::create_dir_all(env.state_dir()).unwrap();
    let mut stores = vec![(
        format!("sqlite://{}?mode=rwc", db.display()),
        format!("sqlite:{}", db.display()),
    )];
    stores.extend(crate::postgres::fresh_database().map(|url| (url.clone(), url)));
    for (connect, location) in stores {
        env.block_on(store_of_the_previous_version(&connect));
        let location = cer::store::StoreLocation::parse(&location).unwrap();
        let store = env.block_on(cer::store::Store::open(&location)).unwrap();
        let now = jiff::Timestamp::now();
        let listed = env.block_on(store.list_deliveries(false, now)).unwrap();
        let rows: Vec<(&str, &str, &str)> = listed
            .iter()
            .map(|d| {
                (
                    d.conversation_space_id.as_str(),
                    d.target.as_str(),
                    d.state.as_str(),
                )
            })
            .collect();
        let telegram =
            key_of("https://api.telegram.org/bot8642097531:AAHtelegramSECRET0token/sendMessage");
        let legacy = shown("http://u:pw@127.0.0.1:9/hook/s3cr3tShrt");
        assert_eq!(
            rows,
            [
                (
                    "c1",
                    &format!("https://api.telegram.org/… [{}]", &telegram[7..13])[..],
                    "orphaned"
                ),
                (
                    "c2",
                    &format!("https://hooks.zapier.com/… [{}]", &key_of("zapier")[7..13])[..],
                    "orphaned"
                ),
                ("c3", &legacy[..], "orphaned"),
            ]
        );
        assert_eq!(
            listed[0].last_error.as_deref(),
            Some("(not shown: it named the target)")
        );
        let tags: Vec<String> = env
            .block_on(store.registered_targets())
            .unwrap()
            .into_iter()
            .map(|t| t.target)
            .collect();
        assert_eq!(tags.len(), 3, "{tags:?}");
    }
    let mut stored = every_stored_value(&env);
    // Nor in the file's free pages or its write-ahead log: the upgraded file is compacted.
    for file in ["cer.db", "cer.db-wal"] {
        let bytes = std::fs::read(env.state_dir().join(file)).unwrap_or_default();
        stored.push_str(&String::from_utf8_lossy(&bytes));
    }
    for (_, secrets) in PATHS {
        for secret in secrets {
            assert!(!stored.contains(secret), "{secret} still stored:\n{stored}");
        }
    }
    assert!(!stored.contains("u:pw"), "{stored}");
}
