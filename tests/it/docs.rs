//! The README and `docs/` are read by newcomers who copy what they show: every link there
//! leads somewhere, every `cer` command shown parses, and the ones that end by themselves
//! work as printed against the simulator.

use std::path::{Path, PathBuf};

use crate::harness::TestEnv;
use crate::help::{sync_in_the_sandbox, written_in};

/// The pages a newcomer reads, from the repository's root.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md"), root.join("benches/README.md")];
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/ exists");
    let mut docs: Vec<PathBuf> = docs.map(|entry| entry.expect("readable").path()).collect();
    docs.sort();
    pages.extend(
        docs.into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    pages
}

/// The targets of a page's Markdown links that point into the repository.
fn local_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.contains("://") && !target.starts_with('#'))
        .map(|target| target.split('#').next().unwrap_or(target).to_string())
        .collect()
}

#[test]
fn every_link_in_the_readme_and_docs_leads_to_a_file() {
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("readable page");
        let folder = page.parent().expect("a page is in a folder");
        for link in local_links(&text) {
            assert!(
                folder.join(&link).exists(),
                "{}: the link {link:?} leads nowhere",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "only {checked} links found: did the pages lose them?"
    );
}

/// The `cer` commands of a page's shell blocks (also inside `$(…)`), without comments,
/// pipes, redirections and shell quoting.
fn commands(text: &str) -> Vec<Vec<String>> {
    let mut in_shell = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_shell = line == "```sh";
            continue;
        }
        if !in_shell {
            continue;
        }
        let line = line.split(" #").next().unwrap_or(line);
        let command = match line.split_once("$(cer ") {
            Some((_, inner)) => inner.split(')').next().unwrap_or(inner),
            None => match line.trim().strip_prefix("cer ") {
                Some(rest) => rest,
                None => continue,
            },
        };
        let command = command.split(['|', '>']).next().unwrap_or(command);
        found.push(
            command
                .split_whitespace()
                .map(|word| word.trim_matches(['\'', '"']).to_string())
                .collect(),
        );
    }
    found
}

/// Commands that run until Ctrl-C, or wait for a person: parsed only.
fn runs_forever_or_asks(command: &[String]) -> bool {
    let first = command.first().map(String::as_str);
    matches!(first, Some("listen" | "sandbox" | "login"))
}

#[test]
fn every_cer_command_in_the_docs_parses_and_the_finite_ones_work_in_the_sandbox() {
    let env = TestEnv::new();
    let db = env.dir.path().join("docs.db");
    let store = format!("sqlite:{}", db.display());
    let mut ran = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("readable page");
        for command in commands(&text) {
            let shown = format!("{}: `cer {}`", page.display(), command.join(" "));
            let words = std::iter::once("cer".to_string()).chain(command.iter().cloned());
            if let Err(err) = cer::cli::command().try_get_matches_from(words) {
                panic!("{shown} does not parse: {err}");
            }
            if runs_forever_or_asks(&command) {
                continue;
            }
            let command = written_in(&command, env.dir.path());
            let syncs = command.first().is_some_and(|word| word == "sync");
            let command = match syncs {
                true => with_store(sync_in_the_sandbox(&command, &db), &store),
                false => command,
            };
            let mut args: Vec<&str> = std::iter::once("--sandbox")
                .chain(command.iter().map(String::as_str))
                .collect();
            if command.iter().any(|word| word == "summaries") {
                args.extend(["--limit", "5"]);
            }
            let run = env.run(&args, &[]);
            // `sync --check` says 1 when a call ended between the sync before it and itself.
            let checks = command.iter().any(|word| word == "--check");
            let fine = run.code == 0 || (checks && run.code == 1);
            assert!(fine, "{shown} failed ({}): {}", run.code, run.stderr);
            ran += 1;
        }
    }
    assert!(
        ran >= 8,
        "only {ran} commands ran: did the pages lose them?"
    );
}

/// A sync command writing into the test's own store, whatever store it named.
fn with_store(mut words: Vec<String>, store: &str) -> Vec<String> {
    if let Some(at) = words.iter().position(|word| word == "--store") {
        words.drain(at..(at + 2).min(words.len()));
    }
    words.extend(["--store".to_string(), store.to_string()]);
    words
}
