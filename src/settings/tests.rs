//! Precedence and validation of the global settings.

use clap::Parser;

use super::*;
use crate::cli::Cli;

fn resolve(
    argv: &[&str],
    process: &[(&str, &str)],
    dotenv: &[(&str, &str)],
) -> Result<Settings, UsageError> {
    let mut full = vec!["cer"];
    full.extend_from_slice(argv);
    full.push("status");
    let cli = Cli::try_parse_from(full).unwrap();
    let mut env = vec![("HOME", "/home/u")];
    env.extend_from_slice(process);
    Settings::resolve(&cli.global, &Sources::from_maps(&env, dotenv))
}

#[test]
fn flag_beats_environment_beats_dotenv_beats_default() {
    let env = [("CER_API_BASE", "http://env.test")];
    let file = [("CER_API_BASE", "http://file.test")];
    let base = |argv: &[&str], env: &[(&str, &str)], file: &[(&str, &str)]| {
        resolve(argv, env, file).unwrap().api_base.to_string()
    };
    assert_eq!(
        base(&["--api-base", "http://flag.test"], &env, &file),
        "http://flag.test/"
    );
    assert_eq!(base(&[], &env, &file), "http://env.test/");
    assert_eq!(base(&[], &[], &file), "http://file.test/");
    assert_eq!(base(&[], &[], &[]), "https://api.goto.com/");
}

#[test]
fn malformed_base_urls_are_usage_errors() {
    for bad in [
        "not a url",
        "ftp://x.test",
        "http://",
        "https://x.test/?a=b",
    ] {
        let err = resolve(&["--api-base", bad], &[], &[]).unwrap_err();
        assert!(err.to_string().contains("--api-base"), "{bad}: {err}");
    }
}

#[test]
fn base_url_keeps_a_path_prefix_without_trailing_slash() {
    let settings = resolve(&["--api-base", "http://127.0.0.1:9/goto/"], &[], &[]).unwrap();
    assert_eq!(settings.api_base.as_str(), "http://127.0.0.1:9/goto");
}

#[test]
fn color_flag_beats_no_color_and_clicolor_force() {
    let policy = |argv: &[&str], env: &[(&str, &str)]| resolve(argv, env, &[]).unwrap().color;
    assert_eq!(policy(&[], &[]), ColorPolicy::Auto);
    assert_eq!(policy(&[], &[("NO_COLOR", "1")]), ColorPolicy::Never);
    assert_eq!(policy(&[], &[("CLICOLOR_FORCE", "1")]), ColorPolicy::Always);
    assert_eq!(policy(&[], &[("CLICOLOR_FORCE", "0")]), ColorPolicy::Auto);
    assert_eq!(
        policy(&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]),
        ColorPolicy::Never
    );
    assert_eq!(
        policy(&["--color", "always"], &[("NO_COLOR", "1")]),
        ColorPolicy::Always
    );
    assert_eq!(
        policy(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
        ColorPolicy::Never
    );
    assert_eq!(policy(&[], &[("TERM", "dumb")]), ColorPolicy::Never);
}

#[test]
fn log_level_from_flags_or_variable() {
    let level = |argv: &[&str], env: &[(&str, &str)]| resolve(argv, env, &[]).unwrap().log_level;
    assert_eq!(level(&[], &[]), LevelFilter::INFO);
    assert_eq!(level(&[], &[("LOG_LEVEL", "debug")]), LevelFilter::DEBUG);
    assert_eq!(
        level(&["-v"], &[("LOG_LEVEL", "error")]),
        LevelFilter::DEBUG
    );
    assert_eq!(level(&["-vv"], &[]), LevelFilter::TRACE);
    assert_eq!(level(&["-q"], &[("LOG_LEVEL", "trace")]), LevelFilter::WARN);
    assert_eq!(level(&["-qq"], &[]), LevelFilter::ERROR);
    assert!(resolve(&[], &[("LOG_LEVEL", "loud")], &[]).is_err());
}

#[test]
fn folders_follow_cer_then_xdg_then_home() {
    let s = resolve(&[], &[], &[]).unwrap();
    assert_eq!(s.config_dir, PathBuf::from("/home/u/.config/cer"));
    assert_eq!(s.state_dir, PathBuf::from("/home/u/.local/state/cer"));
    let s = resolve(
        &[],
        &[("XDG_CONFIG_HOME", "/x"), ("CER_STATE_DIR", "/s")],
        &[],
    )
    .unwrap();
    assert_eq!(s.config_dir, PathBuf::from("/x/cer"));
    assert_eq!(s.state_dir, PathBuf::from("/s"));
}

#[test]
fn keyring_and_rate() {
    let s = resolve(&[], &[("CER_KEYRING", "0")], &[]).unwrap();
    assert!(!s.use_keyring);
    assert_eq!(s.rate, DEFAULT_RATE);
    assert_eq!(resolve(&["--rate", "3"], &[], &[]).unwrap().rate, 3);
    assert!(resolve(&["--rate", "0"], &[], &[]).is_err());
}

#[test]
fn client_secret_is_redacted_in_debug_output() {
    let s = resolve(&[], &[("OAUTH_CLIENT_SECRET", "s3cr3t")], &[]).unwrap();
    assert!(!format!("{s:?}").contains("s3cr3t"));
}

// Regression: `COLUMNS`, `BROWSER` and `NOTIFY_SOCKET` were read from the process environment
// where they were used, so a `.env` file could not set them.
#[test]
fn columns_browser_and_the_notify_socket_come_from_dotenv_too() {
    let file = [
        ("COLUMNS", "132"),
        ("BROWSER", "firefox %s"),
        ("NOTIFY_SOCKET", "/run/notify"),
        ("WATCHDOG_USEC", "200000"),
    ];
    let settings = resolve(&[], &[], &file).unwrap();
    assert_eq!(settings.columns, Some(132));
    assert_eq!(settings.browser.as_deref(), Some("firefox %s"));
    assert_eq!(
        settings.service_manager,
        ServiceManager {
            notify_socket: Some(PathBuf::from("/run/notify")),
            watchdog: Some(Duration::from_millis(200)),
        }
    );
    let env = [("COLUMNS", "40"), ("BROWSER", "lynx")];
    let settings = resolve(&[], &env, &file).unwrap();
    assert_eq!(settings.columns, Some(40));
    assert_eq!(settings.browser.as_deref(), Some("lynx"));
}

#[test]
fn a_watchdog_for_another_process_and_a_bad_width_are_ignored() {
    let env = [
        ("WATCHDOG_USEC", "200000"),
        ("WATCHDOG_PID", "1"),
        ("COLUMNS", "wide"),
    ];
    let settings = resolve(&[], &env, &[]).unwrap();
    assert_eq!(settings.service_manager.watchdog, None);
    assert_eq!(settings.columns, None);
    let own = std::process::id().to_string();
    let env = [("WATCHDOG_USEC", "1000"), ("WATCHDOG_PID", own.as_str())];
    let settings = resolve(&[], &env, &[]).unwrap();
    assert_eq!(
        settings.service_manager.watchdog,
        Some(Duration::from_millis(1))
    );
}
