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

// A value only some commands read is parsed here, but its error is kept for those commands:
// a bad CER_STORE must not stop `cer token`, nor a bad HTTPS_PROXY `cer completions`.
#[test]
fn a_bad_value_some_commands_read_is_kept_as_their_error() {
    let settings = resolve(
        &[],
        &[
            ("CER_STORE", "mysql://db"),
            ("CER_REFETCH", "soon"),
            ("CER_ARCHIVE", "s3://"),
            ("HTTPS_PROXY", "http://bob:hunter2@[::1"),
            ("OAUTH_REDIRECT_URI", "http://localhost:1/x"),
        ],
        &[],
    )
    .unwrap();
    let store = settings.store.unwrap_err().to_string();
    assert!(store.starts_with("--store "), "{store}");
    let refetch = settings.refetch.unwrap_err().to_string();
    assert!(refetch.starts_with("CER_REFETCH \"soon\""), "{refetch}");
    let archive = settings.archive.unwrap_err().to_string();
    assert!(archive.starts_with("--archive / CER_ARCHIVE"), "{archive}");
    let proxy = settings.proxy.unwrap_err().to_string();
    assert!(
        proxy.starts_with("HTTPS_PROXY ") && !proxy.contains("hunter2"),
        "{proxy}"
    );
    let redirect = settings.redirect_uri.unwrap_err().to_string();
    assert!(
        redirect.contains("must start with http://127.0.0.1:"),
        "{redirect}"
    );
}

#[test]
fn typed_values_come_parsed_from_their_variables() {
    let settings = resolve(
        &[],
        &[
            ("CER_STORE", "sqlite:/srv/cer.db"),
            ("CER_REFETCH", "15m,2m"),
            ("CER_FORCE_TTY", "both"),
            ("CER_TIME_SCALE", "0.05"),
            ("https_proxy", "proxy.test:3128"),
        ],
        &[],
    )
    .unwrap();
    let store = StoreLocation::Sqlite("/srv/cer.db".into());
    assert_eq!(settings.store.unwrap(), Some(store));
    let points = [Duration::from_secs(120), Duration::from_secs(900)];
    assert_eq!(settings.refetch.unwrap(), Some(points.to_vec()));
    let both = Terminals {
        stdout: true,
        stderr: true,
    };
    assert_eq!(settings.force_tty, Some(both));
    assert_eq!(settings.time_scale, TimeScale::from_factor(0.05));
    let proxy = settings.proxy.unwrap().unwrap();
    assert!(proxy.tunnel().is_some(), "{proxy:?}");
    let defaults = resolve(&[], &[], &[]).unwrap();
    assert!(matches!(defaults.store, Ok(None)) && matches!(defaults.refetch, Ok(None)));
    assert!(matches!(defaults.proxy, Ok(None)));
    assert_eq!(
        defaults.redirect_uri.unwrap().as_str(),
        DEFAULT_REDIRECT_URI
    );
}
