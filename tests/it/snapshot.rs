//! What a person reads, pinned whole instead of by fragments: a command's transcript (the
//! command line, its exit code, stdout and stderr) with what changes between runs named by
//! filters, then compared by insta. The idea of uv's `uv_snapshot!` and its context's filters:
//! every test gets the same filters for the test's world, and adds the ones its output needs.

use std::path::Path;

use regex::Regex;

use crate::harness::TestEnv;

/// Replacements applied in order: a pattern and the name that stands for what it matched.
#[derive(Default)]
pub struct Filters(Vec<(Regex, String)>);

impl Filters {
    /// The test world's filters ([`Filters::world`]) alone.
    pub fn of(env: &TestEnv) -> Self {
        Self::default().world(env)
    }

    /// What differs in every test's world: its folder, the simulator's address, an ephemeral
    /// port on 127.0.0.1 (five digits, as Linux gives `:0` binds; a fixed 3000 or 9 stays) and
    /// cer's version. A test's own filters come first (`Filters::default().literal(…)
    /// .world(env)`) where what they name holds what the world's name (a store's URL, a port).
    pub fn world(self, env: &TestEnv) -> Self {
        let folder = env.dir.path();
        let mut filters = self;
        // The canonical path first: it is the longer one where the temporary folder is a link.
        if let Ok(real) = folder.canonicalize() {
            filters = filters.path(&real, "[TMP]");
        }
        filters
            .path(folder, "[TMP]")
            .literal(&env.sandbox.base_url(), "[GOTO]")
            .pattern(r"127\.0\.0\.1:\d{5}\b", "127.0.0.1:[PORT]")
            .pattern(r"127\.0\.0\.1%3A\d{5}\b", "127.0.0.1%3A[PORT]")
            .literal(
                &format!("cer {}", env!("CARGO_PKG_VERSION")),
                "cer [VERSION]",
            )
    }

    /// `text`, wherever it appears, named `name`.
    pub fn literal(mut self, text: &str, name: &str) -> Self {
        let pattern = Regex::new(&regex::escape(text)).expect("an escaped literal");
        self.0.push((pattern, name.to_string()));
        self
    }

    /// A path, wherever it appears, named `name`.
    pub fn path(self, path: &Path, name: &str) -> Self {
        self.literal(&path.display().to_string(), name)
    }

    /// What `pattern` (a regular expression) matches, named `name` (`$1` and the like allowed).
    pub fn pattern(mut self, pattern: &str, name: &str) -> Self {
        let pattern = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        self.0.push((pattern, name.to_string()));
        self
    }

    /// Instants in RFC 3339 (`2026-12-06T07:25:07.123Z`) named `[TIME]`: for the ones read from
    /// the clock (a range that ends now).
    pub fn instants(self) -> Self {
        self.pattern(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[TIME]",
        )
    }

    /// The minute a stored report was fetched (`show`'s revisions), taken from the clock.
    pub fn fetched(self) -> Self {
        self.pattern(r"fetched \d{4}-\d\d-\d\d \d\d:\d\d", "fetched [WHEN]")
    }

    /// `text` with every filter applied, in order.
    pub fn apply(&self, text: &str) -> String {
        self.0
            .iter()
            .fold(text.to_string(), |text, (pattern, name)| {
                pattern.replace_all(&text, name.as_str()).into_owned()
            })
    }
}

/// `$ cer ARGS`, the exit code, then stdout and stderr as a person sees them (each left out
/// when empty), unfiltered; a blank line ends it, so transcripts read apart when joined.
pub fn transcript(args: &[&str], code: i64, stdout: &str, stderr: &str) -> String {
    let mut text = format!("$ cer {}\nexit {code}\n", args.join(" "));
    for (name, said) in [("stdout", stdout), ("stderr", stderr)] {
        if !said.is_empty() {
            text.push_str(&format!("--- {name}\n{said}"));
            if !said.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    text.push('\n');
    text
}

/// The transcript of a run inside the test's process.
pub fn of_run(args: &[&str], run: &cer::Captured) -> String {
    transcript(args, run.code.into(), &run.stdout, &run.stderr)
}

/// The transcript of a run of the built binary (exit `-1` when a signal ended it).
pub fn of_output(args: &[&str], output: &std::process::Output) -> String {
    let code = output.status.code().unwrap_or(-1).into();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    transcript(args, code, &stdout, &stderr)
}

/// `text` through `filters`, compared with the snapshot named after the calling test (or
/// `name`, for a helper that several tests share).
macro_rules! assert_filtered {
    ($filters:expr, $text:expr) => {{
        let snapshot = $filters.apply(&$text);
        insta::assert_snapshot!(snapshot);
    }};
    ($filters:expr, name = $name:expr, $text:expr) => {{
        let snapshot = $filters.apply(&$text);
        insta::assert_snapshot!($name, snapshot);
    }};
}
pub(crate) use assert_filtered;

/// Runs `cer ARGS` inside the test's process with `extra` variables (as [`TestEnv::run`]),
/// pins its transcript through the test world's filters (and any more given), and returns the
/// run for the checks a snapshot does not make.
macro_rules! cer_snapshot {
    ($env:expr, $args:expr) => {
        $crate::snapshot::cer_snapshot!($env, $args, &[])
    };
    ($env:expr, $args:expr, $extra:expr) => {
        $crate::snapshot::cer_snapshot!($env, $args, $extra, $crate::snapshot::Filters::of(&$env))
    };
    ($env:expr, $args:expr, $extra:expr, $filters:expr) => {{
        let args: &[&str] = $args;
        let run = $env.run(args, $extra);
        $crate::snapshot::assert_filtered!($filters, $crate::snapshot::of_run(args, &run));
        run
    }};
}
pub(crate) use cer_snapshot;
