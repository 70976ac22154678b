//! The OS keyring for real (SPEC section 4 "Storage"): a session bus of its own with GNOME
//! Keyring's Secret Service on it, `cer login` storing the tokens there and no file, read back
//! by `secret-tool` (libsecret, an independent client) under service `cer`, and `cer logout`
//! deleting them. Skipped where `dbus-daemon`, `gnome-keyring-daemon` or `secret-tool` is
//! missing, unless `CER_REQUIRE_KEYRING=1` (CI installs them).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::harness::{TestEnv, browser_script, free_port};

/// A session bus and an unlocked Secret Service on it, stopped when dropped.
struct SecretService {
    bus: Child,
    keyring: Child,
    address: String,
}

impl SecretService {
    /// An unlocked service: its login keyring made from a password on stdin.
    fn start(home: &Path) -> Option<Self> {
        let service = Self::start_with(home, true)?;
        service.wait_until_it_answers();
        Some(service)
    }

    /// `unlocked`: with its login keyring; else a service with no keyring to store into, which
    /// answers a search and refuses a write (as one does while the login keyring is made).
    fn start_with(home: &Path, unlocked: bool) -> Option<Self> {
        let found = ["dbus-daemon", "gnome-keyring-daemon", "secret-tool"]
            .iter()
            .all(|tool| which(tool));
        if !found {
            assert!(
                std::env::var("CER_REQUIRE_KEYRING").as_deref() != Ok("1"),
                "CER_REQUIRE_KEYRING=1 but dbus-daemon, gnome-keyring-daemon or secret-tool is missing"
            );
            return None;
        }
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        let mut args = vec!["--foreground", "--components=secrets"];
        if unlocked {
            args.push("--unlock");
        }
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(&args)
            .env("HOME", home)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        // The login keyring's password, read once from stdin (with --unlock).
        let mut stdin = keyring.stdin.take().unwrap();
        let _ = stdin.write_all(b"test-password");
        drop(stdin);
        Some(Self {
            bus,
            keyring,
            address,
        })
    }

    /// `secret-tool lookup service cer username default`: what libsecret finds.
    fn lookup(&self) -> String {
        let output = Command::new("secret-tool")
            .args(["lookup", "service", "cer", "username", "default"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Until an item can be stored: the daemon answers before its login keyring (the default
    /// collection, made from the password it read) exists, and a store then finds no collection.
    fn wait_until_it_answers(&self) {
        let stored = || {
            let child = Command::new("secret-tool")
                .args(["store", "--label=probe", "service", "cer-test-probe"])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let Ok(mut child) = child else { return false };
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(b"probe");
            }
            child.wait().is_ok_and(|status| status.success())
        };
        // Making the login keyring derives a key from its password: on two busy cores (CI runs
        // four tests at a time) that once took over 10 s.
        let ready = crate::probe::eventually(std::time::Duration::from_secs(30), stored);
        assert!(ready, "the Secret Service never took an item");
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.bus.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.wait();
    }
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn login_stores_the_tokens_in_the_secret_service_and_logout_deletes_them() {
    let env = TestEnv::new();
    let home = env.work_dir().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let Some(service) = SecretService::start(&home) else {
        return;
    };
    let redirect = format!("http://127.0.0.1:{}/app/redirect", free_port());
    let keyring = [
        ("CER_KEYRING", "1"),
        ("DBUS_SESSION_BUS_ADDRESS", service.address.as_str()),
    ];
    let browser = browser_script(&env.work_dir());
    let login = env
        .cer()
        .envs(keyring)
        .env("BROWSER", &browser)
        .args(["login", "--timeout", "20", "--redirect-uri", &redirect])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&login.stderr).into_owned()
        + &String::from_utf8_lossy(&login.stdout);
    assert!(login.status.success(), "{said}");
    assert!(said.contains("OS keyring"), "{said}");
    assert!(
        !env.config_dir().join("credentials.json").exists(),
        "a file too"
    );
    let stored: serde_json::Value = serde_json::from_str(&service.lookup()).expect(&said);
    let access = stored["access_token"].as_str().unwrap();

    let token = env.cer().envs(keyring).arg("token").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&token.stdout).trim(), access);

    let logout = env.cer().envs(keyring).arg("logout").output().unwrap();
    assert!(logout.status.success());
    assert_eq!(service.lookup(), "", "the tokens are still in the keyring");
}

/// A login whose tokens the keyring refuses to store (it answered the probe) keeps them: the
/// credentials file takes them, with a warning, instead of the login failing after the browser.
#[test]
fn a_keyring_that_refuses_the_write_leaves_the_tokens_in_the_file() {
    let env = TestEnv::new();
    let home = env.work_dir().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let Some(service) = SecretService::start_with(&home, false) else {
        return;
    };
    let answers = || {
        Command::new("secret-tool")
            .args(["search", "service", "cer"])
            .env("DBUS_SESSION_BUS_ADDRESS", &service.address)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    assert!(crate::probe::eventually(
        std::time::Duration::from_secs(10),
        answers
    ));
    let redirect = format!("http://127.0.0.1:{}/app/redirect", free_port());
    let login = env
        .cer()
        .env("CER_KEYRING", "1")
        .env("DBUS_SESSION_BUS_ADDRESS", &service.address)
        .env("BROWSER", browser_script(&env.work_dir()))
        .args(["login", "--timeout", "20", "--redirect-uri", &redirect])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&login.stderr).into_owned();
    assert!(login.status.success(), "{said}");
    assert!(said.contains("the OS keyring refused the tokens"), "{said}");
    let file = env.config_dir().join("credentials.json");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect(&said)).unwrap();
    assert!(stored["access_token"].is_string());
    assert_eq!(service.lookup(), "", "nothing in the keyring");
}
