//! `--sandbox` for every command that ends by itself, in an empty HOME, an empty working folder
//! and an empty environment: each works against the simulator, and nothing is written outside
//! cer's own scratch folder, which is gone when the command ends.

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

/// The guide's example call, which the simulator always has.
const EXAMPLE_ID: &str = "29a1c77a-e52a-3764-8606-8b02b1277be8";

/// An empty HOME, working folder and TMPDIR, and nothing else but PATH.
struct Empty {
    home: TempDir,
    cwd: TempDir,
    tmp: TempDir,
}

impl Empty {
    fn new() -> Self {
        Self {
            home: TempDir::new().unwrap(),
            cwd: TempDir::new().unwrap(),
            tmp: TempDir::new().unwrap(),
        }
    }

    fn cer(&self, args: &[&str], extra: &[(&str, String)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cer"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("TMPDIR", self.tmp.path())
            .current_dir(self.cwd.path())
            .arg("--sandbox")
            .args(args);
        for (name, value) in extra {
            command.env(name, value);
        }
        command.output().unwrap()
    }

    /// HOME, the working folder and TMPDIR are as empty as before the command.
    fn assert_untouched(&self, what: &str) {
        for (name, dir) in [
            ("HOME", self.home.path()),
            ("the working folder", self.cwd.path()),
            ("TMPDIR", self.tmp.path()),
        ] {
            let left = entries(dir);
            assert!(
                left.is_empty(),
                "`cer --sandbox {what}` left in {name}: {left:?}"
            );
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Each finite command, and what its stdout or stderr must say.
const COMMANDS: [(&[&str], &str); 10] = [
    (&["status"], "sandbox-admin@cer.invalid"),
    (&["token"], "sbx_at_"),
    (&["fetch", EXAMPLE_ID], EXAMPLE_ID),
    (&["summaries", "--day", "today", "--stats"], "calls from"),
    (&["sync", "--since", "5m"], "Stored "),
    (&["deliveries"], "Nothing waits in the outbox"),
    (&["show", EXAMPLE_ID], "PROBE CALLER"),
    (&["completions", "bash"], "complete -F"),
    // The sandbox logs in by itself and keeps its tokens in memory: both say so and succeed.
    (&["login"], "nothing to do"),
    (&["logout"], "nothing to delete"),
];

// Regression: fetch, login, sync and deliveries resolved their settings before the sandbox was
// started, so `sync` failed with "no account key" in an empty HOME, and `deliveries` opened
// (and created) the real store under ~/.local/state/cer.
#[test]
fn every_finite_command_works_in_the_sandbox_and_writes_nothing_outside_a_scratch_folder() {
    let empty = Empty::new();
    for (args, says) in COMMANDS {
        let output = empty.cer(args, &[]);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        let what = args.join(" ");
        assert!(
            output.status.success(),
            "`cer --sandbox {what}` failed: {stderr}"
        );
        assert!(
            stdout.contains(says) || stderr.contains(says),
            "`cer --sandbox {what}` did not say {says:?}:\n{stdout}\n{stderr}"
        );
        empty.assert_untouched(&what);
    }
}

// `--check` compares the range with a store that starts empty in every sandbox session, so it
// fails in its documented way (exit 1, the calls missing) unless the range had no call.
#[test]
fn sync_check_in_the_sandbox_compares_with_the_sessions_own_empty_store() {
    let empty = Empty::new();
    let output = empty.cer(&["sync", "--check", "--since", "5m"], &[]);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("0 stored"),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    match output.status.code() {
        Some(0) => assert!(stdout.contains("0 missing"), "{stdout}"),
        Some(1) => assert!(
            text(&output.stderr).contains("the store lacks"),
            "{output:?}"
        ),
        other => panic!("exit {other:?}: {output:?}"),
    }
    empty.assert_untouched("sync --check");
}

// Regression: with ACCOUNT_KEY set, `--sandbox sync` asked the simulator for the real account
// and stored into ~/.local/state/cer/cer.db; CER_STORE, CER_STATE_DIR and CER_TOKEN must not
// count either.
#[test]
fn the_real_account_store_folders_and_token_are_ignored_by_the_sandbox() {
    let empty = Empty::new();
    let home = empty.home.path().display().to_string();
    let real = [
        ("ACCOUNT_KEY", "1234567890".to_string()),
        ("CER_TOKEN", "real-token".to_string()),
        ("CER_STORE", format!("sqlite:{home}/real.db")),
        ("CER_STATE_DIR", format!("{home}/state")),
        ("CER_CONFIG_DIR", format!("{home}/config")),
    ];
    let output = empty.cer(&["sync", "--since", "5m"], &real);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = empty.cer(&["status"], &real);
    let stdout = text(&output.stdout);
    assert!(!stdout.contains("1234567890"), "{stdout}");
    let output = empty.cer(&["token"], &real);
    assert!(text(&output.stdout).starts_with("sbx_at_"), "{output:?}");
    let output = empty.cer(&["deliveries"], &real);
    assert!(output.status.success(), "{}", text(&output.stderr));
    empty.assert_untouched("sync, status, token and deliveries with real settings");
}
