//! The command line itself: help, version, completions, settings precedence, colour, exit codes.

use crate::harness::{TestEnv, stderr_of};
use crate::snapshot::{self, Filters, assert_filtered, cer_snapshot};

#[test]
fn version_and_help_with_examples() {
    let env = TestEnv::new();
    // The binary, to a pipe: clap wraps at 100 columns whatever terminal the tests run in.
    let version = env.cer().arg("--version").output().unwrap();
    let help = env.cer().arg("--help").output().unwrap();
    assert_filtered!(
        Filters::of(&env),
        snapshot::of_output(&["--version"], &version) + &snapshot::of_output(&["--help"], &help)
    );
    let commands = crate::harness::subcommands();
    assert!(commands.len() >= 11, "{commands:?}");
    for command in commands {
        let help = env.run(&[command.as_str(), "--help"], &[]);
        assert_eq!(help.code, 0, "{help:?}");
        assert!(
            help.stdout.contains("Example"),
            "{command}: {}",
            help.stdout
        );
    }
    // The library run prints what the binary printed.
    let in_process = env.run(&["--version"], &[]);
    assert_eq!(in_process.stdout.as_bytes(), version.stdout.as_slice());
}

/// What each shell's script must hold to be that shell's completion of `cer`: the line that
/// registers it, how it offers a subcommand, and how it offers the global `--sandbox`.
fn completion_markers(shell: &str, subcommand: &str) -> [String; 3] {
    match shell {
        "bash" => [
            "complete -F _cer ".into(),
            format!("cer,{subcommand})"),
            " --sandbox ".into(),
        ],
        "zsh" => [
            "#compdef cer\n".into(),
            format!("\n'{subcommand}:"),
            "'--sandbox[".into(),
        ],
        "fish" => [
            "complete -c cer ".into(),
            format!("-n \"__fish_cer_needs_command\" -f -a \"{subcommand}\""),
            "-n \"__fish_cer_needs_command\" -l sandbox ".into(),
        ],
        "powershell" => [
            "Register-ArgumentCompleter -Native -CommandName 'cer'".into(),
            format!("[CompletionResult]::new('{subcommand}', '{subcommand}',"),
            "[CompletionResult]::new('--sandbox', '--sandbox',".into(),
        ],
        "elvish" => [
            "set edit:completion:arg-completer[cer] = ".into(),
            format!("cand {subcommand} '"),
            "cand --sandbox '".into(),
        ],
        other => panic!("no markers for {other}"),
    }
}

#[test]
fn completions_are_printed_for_every_shell() {
    let env = TestEnv::new();
    let subcommands = crate::harness::subcommands();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = env.cer().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}: {output:?}");
        let script = crate::harness::stdout_of(&output);
        for subcommand in &subcommands {
            for marker in completion_markers(shell, subcommand) {
                assert!(
                    script.contains(&marker),
                    "{shell}: no {marker:?} (for {subcommand}) in:\n{script}"
                );
            }
        }
        // Hidden flags stay out of every shell's script.
        assert!(!script.contains("api-base"), "{shell}: {script}");
    }
    // The bash script is bash: it parses and, sourced, defines `_cer` and registers it.
    let output = env.cer().args(["completions", "bash"]).output().unwrap();
    let script = env.dir.path().join("cer.bash");
    std::fs::write(&script, &output.stdout).unwrap();
    let program = format!(
        "source {} && declare -F _cer && complete -p cer",
        script.display()
    );
    let checked = std::process::Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    let said = crate::harness::stdout_of(&checked);
    assert!(checked.status.success(), "{checked:?}");
    assert!(said.contains("_cer\n"), "{said}");
    assert!(said.contains(" -F _cer cer"), "{said}");
}

#[test]
fn a_missing_env_file_is_a_usage_error() {
    let env = TestEnv::new();
    let args = ["--env-file", "nope.env", "status"];
    let output = env.cer().args(args).output().unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&args, &output));
}

#[test]
fn environment_beats_dotenv_and_flags_beat_both() {
    let env = TestEnv::new();
    std::fs::write(env.work_dir().join(".env"), "CER_API_BASE=notaurl\n").unwrap();
    // .env alone: its bad value is used and rejected before any request.
    let from_dotenv = env
        .cer()
        .env_remove("CER_API_BASE")
        .env("CER_TOKEN", "t")
        .arg("status")
        .output()
        .unwrap();
    // The environment wins over .env.
    env.cer()
        .env("CER_TOKEN", "t")
        .arg("status")
        .assert()
        .success();
    // --env-file reads another file; a flag wins over everything.
    std::fs::write(
        env.work_dir().join("other.env"),
        "CER_API_BASE=http://127.0.0.1:9\n",
    )
    .unwrap();
    env.cer()
        .env_remove("CER_API_BASE")
        .env("CER_TOKEN", "t")
        .args(["--env-file", "other.env", "status"])
        .assert()
        .success();
    let flag = ["--api-base", "ftp://x", "status"];
    let from_flag = env.cer().env("CER_TOKEN", "t").args(flag).output().unwrap();
    assert_filtered!(
        Filters::of(&env),
        snapshot::of_output(&["status"], &from_dotenv) + &snapshot::of_output(&flag, &from_flag)
    );
}

#[test]
fn dotenv_provides_variables_the_environment_lacks() {
    let env = TestEnv::new();
    let key = env.sandbox.account_key().to_string();
    std::fs::write(env.work_dir().join(".env"), format!("ACCOUNT_KEY={key}\n")).unwrap();
    env.cer_with_token()
        .env_remove("ACCOUNT_KEY")
        .args(["summaries", "--since", "1h"])
        .assert()
        .success();
    std::fs::remove_file(env.work_dir().join(".env")).unwrap();
    let token = env.sandbox.issue_token(None);
    let no_key = [("CER_TOKEN", token.as_str()), ("ACCOUNT_KEY", "")];
    cer_snapshot!(env, &["summaries", "--since", "1h"], &no_key);
}

#[test]
fn colour_follows_no_color_and_the_flag() {
    let env = TestEnv::new();
    let stderr = |args: &[&str], vars: &[(&str, &str)]| {
        let mut command = env.cer();
        for (k, v) in vars {
            command.env(k, v);
        }
        let output = command.args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        stderr_of(&output)
    };
    let bad_fetch = ["fetch", "not-an-id"];
    assert!(
        !stderr(&bad_fetch, &[]).contains('\x1b'),
        "no colour in a pipe"
    );
    assert!(stderr(&bad_fetch, &[("CER_FORCE_TTY", "stderr")]).contains('\x1b'));
    assert!(
        !stderr(
            &bad_fetch,
            &[("CER_FORCE_TTY", "stderr"), ("NO_COLOR", "1")]
        )
        .contains('\x1b')
    );
    assert!(stderr(&bad_fetch, &[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    let forced = ["--color", "always", "fetch", "not-an-id"];
    assert!(stderr(&forced, &[("NO_COLOR", "1")]).contains('\x1b'));
    let never = ["--color", "never", "fetch", "not-an-id"];
    assert!(!stderr(&never, &[("CER_FORCE_TTY", "stderr")]).contains('\x1b'));
}

#[test]
fn bad_flags_exit_2_with_clap_usage() {
    let env = TestEnv::new();
    let mut seen = String::new();
    for args in [
        &["--no-such-flag"][..],
        &["frobnicate"],
        &["summaries", "--rate", "0"],
    ] {
        let output = env.cer().args(args).output().unwrap();
        seen.push_str(&snapshot::of_output(args, &output));
    }
    assert_filtered!(Filters::of(&env), seen);
}

#[test]
fn log_level_must_be_a_level() {
    let env = TestEnv::new();
    cer_snapshot!(env, &["status"], &[("LOG_LEVEL", "chatty")]);
}

/// The variables the settings code reads, from its source text: each `get("NAME")` and each
/// upper-case literal on a line that reads `sources` (`dir_setting(sources, "CER_STATE_DIR",
/// "XDG_STATE_HOME", …)`). Test code (`tests.rs`, `*_tests.rs`, after `#[cfg(test)]`) is left
/// out: its names are made up.
fn variables_read_in(source: &str) -> std::collections::BTreeSet<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let mut names = std::collections::BTreeSet::new();
    for line in code.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("get(\"") {
            rest = &rest[at + 5..];
            let name = rest.split('"').next().unwrap_or("");
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.insert(name.to_string());
            }
        }
        if line.contains("sources") {
            for (index, literal) in line.split('"').enumerate() {
                let upper = literal.len() >= 3
                    && literal.starts_with(|c: char| c.is_ascii_uppercase())
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if index % 2 == 1 && upper {
                    names.insert(literal.to_string());
                }
            }
        }
    }
    names
}

fn settings_sources(folder: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            settings_sources(&path, found);
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_variable_reader_finds_gets_and_folder_settings_and_skips_tests() {
    let sample = r#"
        force_tty: get("CER_FORCE_TTY"),
        proxy: get("HTTPS_PROXY").or_else(|| get("https_proxy")),
        if sources.get("TERM") == Some("dumb") {}
        state_dir: dir_setting(sources, "CER_STATE_DIR", "XDG_STATE_HOME", ".local/state")?,
        let scope = "EXTERNAL";
        #[cfg(test)]
        mod tests { fn t() { sources.get("MADE_UP"); } }
    "#;
    let names: Vec<String> = variables_read_in(sample).into_iter().collect();
    assert_eq!(
        names,
        [
            "CER_FORCE_TTY",
            "CER_STATE_DIR",
            "HTTPS_PROXY",
            "TERM",
            "XDG_STATE_HOME",
            "https_proxy"
        ]
    );
}

// A developer's own CER_STORE or LOG_FORMAT must never reach a test: whatever the settings
// read, the harness removes before each run.
#[test]
fn every_variable_the_settings_read_is_scrubbed() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/settings");
    let mut files = Vec::new();
    settings_sources(&folder, &mut files);
    let mut read = std::collections::BTreeSet::new();
    for file in &files {
        read.extend(variables_read_in(&std::fs::read_to_string(file).unwrap()));
    }
    for sure in ["CER_STORE", "LOG_FORMAT", "XDG_CONFIG_HOME", "no_proxy"] {
        assert!(read.contains(sure), "the reader missed {sure}: {read:?}");
    }
    // HOME is set to the test's folder by the harness rather than removed.
    let missing: Vec<&String> = read
        .iter()
        .filter(|name| *name != "HOME" && !crate::harness::SCRUBBED.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "read in src/settings but not in the harness's SCRUBBED: {missing:?}"
    );
}
