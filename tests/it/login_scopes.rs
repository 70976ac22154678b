//! Issue 29 point 5 (SPEC section 13 "Login"): `cer login --recordings` also asks for the
//! Recording API's scopes, the simulator's OAuth grants them, and `cer status` says whether
//! recordings can be archived with the stored login.

use crate::harness::{TestEnv, browser_script, free_port};
use crate::snapshot::{Filters, assert_filtered};

fn log_in(env: &TestEnv, extra: &[&str]) {
    let redirect = format!("http://127.0.0.1:{}/app/redirect", free_port());
    let browser = browser_script(&env.work_dir()).display().to_string();
    let mut args = vec![
        "login",
        "--force",
        "--timeout",
        "20",
        "--redirect-uri",
        &redirect,
    ];
    args.extend_from_slice(extra);
    let run = env.run(&args, &[("BROWSER", &browser)]);
    assert_eq!(run.code, 0, "{run:?}");
}

fn status(env: &TestEnv) -> String {
    let run = env.run(&["status"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
}

#[test]
fn login_with_recordings_asks_for_the_recording_scopes_and_status_says_archiving_works() {
    let env = TestEnv::new();
    log_in(&env, &[]);
    let plain = status(&env);
    log_in(&env, &["--recordings"]);
    let text = status(&env);
    let filters = Filters::of(&env).pattern(r"expires .*", "expires [WHEN]");
    assert_filtered!(
        filters,
        format!("before `cer login --recordings`:\n{plain}\nafter:\n{text}")
    );
}
