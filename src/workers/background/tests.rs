//! The background thread's priority and its work's cancellation, read back from the OS.

use super::*;

/// The calling thread's CPU policy and I/O priority.
fn own_priority() -> (libc::c_int, libc::c_long) {
    // SAFETY: plain integers; 0 is the calling thread.
    let policy = unsafe { libc::sched_getscheduler(0) };
    let io = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
    (policy, io)
}

/// Thread `tid`'s name and scheduling policy, from `/proc` (as `top -H` reads them).
fn name_and_policy_of(tid: libc::pid_t) -> (String, String) {
    let path = std::path::PathBuf::from(format!("/proc/self/task/{tid}"));
    let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
    let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
    // After the `(comm)`: field 3 is the state, field 41 the policy.
    let after = stat.rsplit_once(')').map_or("", |(_, after)| after);
    let policy = after.split_whitespace().nth(38).unwrap_or("").to_string();
    (comm.trim_end().to_string(), policy)
}

#[tokio::test]
async fn the_thread_and_its_blocking_work_run_at_idle_priority() {
    let idle_io = libc::c_long::from(IOPRIO_IDLE);
    let background = Background::start().unwrap();
    let (there, blocking, tid) = background
        .run(async {
            let blocking = tokio::task::spawn_blocking(own_priority).await.unwrap();
            // SAFETY: no arguments; the calling thread's id.
            (own_priority(), blocking, unsafe { libc::gettid() })
        })
        .await
        .unwrap();
    assert_eq!(there, (libc::SCHED_IDLE, idle_io));
    assert_eq!(blocking, (libc::SCHED_IDLE, idle_io));
    // This thread only: other tests' threads of the same name may be starting meanwhile.
    let idle = libc::SCHED_IDLE.to_string();
    assert_eq!(name_and_policy_of(tid), (THREAD_NAME.to_string(), idle));
    // The test's own thread, like the live path's, is untouched.
    assert_eq!(own_priority().0, libc::SCHED_OTHER);
}

#[tokio::test]
async fn dropping_the_wait_drops_the_work() {
    let background = Background::start().unwrap();
    let (started, running) = oneshot::channel::<()>();
    let (mut kept, gone) = oneshot::channel::<()>();
    // The work waits on `gone` for ever: only dropping it closes `kept`.
    let waiting = tokio::spawn(async move {
        background
            .run(async move {
                let _ = started.send(());
                let _ = gone.await;
            })
            .await
    });
    running.await.unwrap();
    waiting.abort();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), kept.closed());
    closed.await.unwrap();
}

#[tokio::test]
async fn work_that_panics_is_said_so_and_the_thread_goes_on() {
    let background = Background::start().unwrap();
    let panicked = background
        .run(async {
            if background_panics() {
                panic!("a bug in the work");
            }
        })
        .await;
    assert_eq!(panicked, Err(Unfinished::Panicked));
    assert!(background.is_running());
    assert_eq!(background.run(async { 7 }).await, Ok(7));
}

/// Hides the panic from the compiler's view of the work's type.
fn background_panics() -> bool {
    std::hint::black_box(true)
}

#[tokio::test]
async fn a_thread_that_is_gone_takes_no_work_and_says_so() {
    let background = Background::gone();
    assert!(!background.is_running());
    assert_eq!(background.run(async { 7 }).await, Err(Unfinished::Gone));
}
