//! The whole login driven by a real headless Chromium as `$BROWSER`: the authorize page's
//! redirect, the loopback listener and the page it serves, as a person's browser sees them.

use std::path::Path;
use std::time::Duration;

use crate::harness::{TestEnv, free_port, stderr_of, write_script};

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn headless_chromium_logs_in() {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CER_REQUIRE_CHROMIUM").is_none(),
            "CER_REQUIRE_CHROMIUM is set but {CHROMIUM} is missing"
        );
        eprintln!("skipped: {CHROMIUM} is not installed (.ci/run installs it)");
        return;
    }
    let env = TestEnv::new();
    let profile = env.dir.path().join("chromium-profile");
    let page = env.dir.path().join("page.html");
    let script = format!(
        "#!/bin/sh\nexec {CHROMIUM} --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
         --disable-background-networking --disable-component-update --disable-sync \
         --user-data-dir='{}' --dump-dom \"$1\" > '{}' 2>/dev/null\n",
        profile.display(),
        page.display()
    );
    let browser = write_script(env.dir.path(), "chromium.sh", &script);
    let port = free_port();
    let output = env
        .cer()
        .args(["login", "--timeout", "60", "--redirect-uri"])
        .arg(format!("http://127.0.0.1:{port}/app/redirect"))
        .env("BROWSER", browser)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    // Chromium writes the page after cer is done with it; give it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut dom = String::new();
    while !dom.contains("</html>") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        dom = std::fs::read_to_string(&page).unwrap_or_default();
    }
    assert!(dom.contains("Logged in"), "the browser saw: {dom}");
    env.cer().arg("status").assert().success();
}
