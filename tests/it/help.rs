//! What a person reads in `--help` and gets from shell completion: global flags under their
//! own heading, no flags that mean nothing, examples that work as printed, and completion
//! driven through bash itself.

use std::process::Command as StdCommand;

use crate::harness::{TestEnv, stdout_of};
use crate::snapshot::{Filters, assert_filtered};

/// `cer COMMAND --help`, run in-process: only its text is the point.
fn help(env: &TestEnv, command: &[&str]) -> String {
    let mut args = command.to_vec();
    args.push("--help");
    let run = env.run(&args, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
}

/// `cer COMMAND --help` as a spawned process prints it: to a pipe, so at clap's width of 100
/// columns whatever terminal the tests run in (in-process, clap would measure the test's own).
fn help_text(env: &TestEnv, command: &[&str]) -> String {
    let output = env.cer().args(command).arg("--help").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    stdout_of(&output)
}

/// The lines of one `Heading:` section of a help text.
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|line| *line != heading)
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect()
}

#[test]
fn global_flags_have_their_own_heading() {
    let env = TestEnv::new();
    let text = help_text(&env, &["fetch"]);
    let global = section(&text, "Global options:").join("\n");
    for flag in ["--sandbox", "--env-file", "--color", "--rate"] {
        assert!(
            global.contains(flag),
            "{flag} not under Global options:\n{text}"
        );
    }
    assert_filtered!(Filters::of(&env), text);
}

#[test]
fn sandbox_help_has_one_default_and_no_flags_that_mean_nothing_there() {
    let env = TestEnv::new();
    let text = help_text(&env, &["sandbox"]);
    assert_filtered!(Filters::of(&env), text);
    assert!(!text.contains("--sandbox"), "{text}");
    assert!(!text.contains("--rate"), "{text}");
    // Hidden from help, still accepted.
    let run = env.run(
        &["--sandbox", "--rate", "3", "sandbox", "--list-faults"],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

/// `cer ...` commands from the Examples of a help text, without comments, descriptions,
/// pipes and redirections.
fn examples(help: &str) -> Vec<Vec<String>> {
    help.lines()
        .skip_while(|line| !line.starts_with("Example"))
        .filter_map(|line| line.trim().strip_prefix("cer "))
        .map(|line| {
            let line = line.split(" #").next().unwrap_or(line);
            let line = line.split("  ").next().unwrap_or(line);
            let line = line.split(['|', '>']).next().unwrap_or(line);
            line.split_whitespace()
                .map(|word| word.trim_matches('\'').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_help_example_parses_and_the_finite_ones_work_in_the_sandbox() {
    let env = TestEnv::new();
    let mut texts = vec![help(&env, &[])];
    texts.extend(
        crate::harness::subcommands()
            .iter()
            .map(|command| help(&env, &[command.as_str()])),
    );
    let all: Vec<Vec<String>> = texts.iter().flat_map(|text| examples(text)).collect();
    assert!(all.len() >= 12, "{all:?}");
    for example in &all {
        let words = std::iter::once("cer".to_string()).chain(example.iter().cloned());
        if let Err(err) = cer::cli::command().try_get_matches_from(words) {
            panic!("`cer {}` does not parse: {err}", example.join(" "));
        }
        // listen and sandbox run until Ctrl-C: those are only parsed.
        let runs_forever = example
            .iter()
            .any(|word| ["listen", "sandbox"].contains(&word.as_str()));
        if runs_forever {
            continue;
        }
        // sync copies whole days (a simulated day is thousands of reports at 10 requests a
        // second) into stores such as a PostgreSQL server on the user's side: it runs over the
        // last 5 minutes, into a SQLite file of the test's own, with its other flags as printed.
        let example = match example.iter().any(|word| word == "sync") {
            true => sync_in_the_sandbox(example, &env.dir.path().join("help.db")),
            false => example.clone(),
        };
        // A file an example writes (`recording -o call.wav`) goes to the test's own folder.
        let example = written_in(&example, env.dir.path());
        let mut args: Vec<&str> = std::iter::once("--sandbox")
            .chain(example.iter().map(String::as_str))
            .collect();
        if example.iter().any(|word| word == "summaries") {
            args.extend(["--limit", "5"]);
        }
        // In-process: the examples' output is not the point, that they work is. A check may
        // find a call that ended after the sync before it: that is its exit 1, and no other.
        let run = env.run(&args, &[]);
        let checks = example.iter().any(|word| word == "--check");
        let lacks_a_new_call = checks && run.code == 1 && run.stderr.contains("the store lacks");
        assert!(
            run.code == 0 || lacks_a_new_call,
            "`cer --sandbox {}` failed: {}",
            example.join(" "),
            run.stderr
        );
    }
}

/// An example with the file of `-o PATH` moved into `dir`.
pub(crate) fn written_in(example: &[String], dir: &std::path::Path) -> Vec<String> {
    let mut words = example.to_vec();
    if let Some(at) = words.iter().position(|w| w == "-o" || w == "--output")
        && let Some(path) = words.get_mut(at + 1)
    {
        let name = std::path::Path::new(path.as_str())
            .file_name()
            .unwrap_or_default();
        *path = dir.join(name).display().to_string();
    }
    words
}

/// A `sync` example with its range replaced by `--since 5m`, its store by `db` (also when it
/// names none, so a check finds what a sync before it stored) and its archive by a folder.
pub(crate) fn sync_in_the_sandbox(example: &[String], db: &std::path::Path) -> Vec<String> {
    let mut words = Vec::new();
    let mut given = example.iter();
    while let Some(word) = given.next() {
        match word.as_str() {
            "--day" | "--from" | "--to" | "--since" => {
                given.next();
            }
            "--store" => {
                given.next();
                words.extend(["--store".to_string(), format!("sqlite:{}", db.display())]);
            }
            // An archive folder beside the store, not the user's.
            "--archive" => {
                given.next();
                let folder = db.with_extension("archive");
                words.extend(["--archive".to_string(), folder.display().to_string()]);
            }
            _ => words.push(word.clone()),
        }
    }
    if !words.iter().any(|word| word == "--store") {
        words.extend(["--store".to_string(), format!("sqlite:{}", db.display())]);
    }
    words.extend(["--since".to_string(), "5m".to_string()]);
    words
}

/// What bash offers after `line` (ending with the word being completed), through the
/// function the generated script registers for `cer`.
fn bash_completes(script: &std::path::Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let current = words.len() - 1;
    let previous = words[current.saturating_sub(1)].to_string();
    let word = words[current].to_string();
    let program = format!(
        r#"source {script}
function_name=$(complete -p cer | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$function_name" ] || {{ echo "no completion registered for cer" >&2; exit 1; }}
COMP_WORDS=({words})
COMP_CWORD={current}
COMP_LINE={line:?}
COMP_POINT=${{#COMP_LINE}}
"$function_name" cer {word:?} {previous:?}
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("{w:?}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let output = StdCommand::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    stdout_of(&output)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_completes_values_and_keeps_hidden_flags_out() {
    let env = TestEnv::new();
    let output = env.cer().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = env.dir.path().join("cer.bash");
    std::fs::write(&script, &output.stdout).unwrap();

    let flags = bash_completes(&script, "cer fetch --");
    assert!(flags.contains(&"--wait".to_string()), "{flags:?}");
    assert!(flags.contains(&"--sandbox".to_string()), "{flags:?}");
    for hidden in ["--api-base", "--auth-base"] {
        assert!(!flags.contains(&hidden.to_string()), "{flags:?}");
    }
    assert!(bash_completes(&script, "cer --a").is_empty());
    assert_eq!(
        bash_completes(&script, "cer summaries --day "),
        ["today", "yesterday"]
    );
    assert_eq!(
        bash_completes(&script, "cer summaries --day y"),
        ["yesterday"]
    );
    // `--outcome` is GoTo's filter, so it completes GoTo's values, not cer's words.
    assert_eq!(
        bash_completes(&script, "cer summaries --outcome "),
        cer::outcome::GOTO_CALLER_OUTCOMES
    );
    assert_eq!(
        bash_completes(&script, "cer summaries --outcome LEFT_"),
        [
            "LEFT_QUEUE",
            "LEFT_PARKING_SPOT",
            "LEFT_ON_HOLD",
            "LEFT_DIAL_PLAN"
        ]
    );
    assert_eq!(
        bash_completes(&script, "cer summaries --scope "),
        ["INTERNAL", "EXTERNAL"]
    );
    assert_eq!(
        bash_completes(&script, "cer --color "),
        ["auto", "always", "never"]
    );
}
