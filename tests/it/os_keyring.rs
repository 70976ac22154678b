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
    fn start(home: &Path) -> Option<Self> {
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
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", home)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        // The login keyring's password, read once from stdin.
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"test-password").unwrap();
        drop(stdin);
        let service = Self {
            bus,
            keyring,
            address,
        };
        service.wait_until_it_answers();
        Some(service)
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

    fn wait_until_it_answers(&self) {
        let asked = |_| {
            Command::new("secret-tool")
                .args(["search", "service", "no-such-service"])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let answered = crate::probe::eventually(std::time::Duration::from_secs(10), || asked(()));
        assert!(answered, "the Secret Service never answered");
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
