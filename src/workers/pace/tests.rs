//! The pace of a download, on tokio's paused clock.

use super::*;

/// A download ahead of its pace waits for it to catch up, over the whole download, not
/// per chunk; one that fell behind (it waited for live work) catches up by at most
/// [`CREDIT_AT_MOST`] at full speed, not by all the time it waited.
#[tokio::test(start_paused = true)]
async fn a_download_ahead_of_its_pace_waits_until_it_is_due() {
    let mut pace = Pace::new(1000);
    let start = Instant::now();
    pace.wait().await;
    assert_eq!(start.elapsed(), Duration::ZERO, "nothing came yet");
    pace.took(2500);
    pace.wait().await;
    assert_eq!(start.elapsed(), Duration::from_millis(2500));
    pace.took(500);
    pace.wait().await;
    assert_eq!(start.elapsed(), Duration::from_millis(3000));
    tokio::time::sleep(Duration::from_secs(10)).await;
    pace.took(50);
    let behind = Instant::now();
    pace.wait().await;
    assert_eq!(
        behind.elapsed(),
        Duration::ZERO,
        "within its credit: no wait"
    );
    pace.took(1000);
    pace.wait().await;
    assert_eq!(
        behind.elapsed(),
        Duration::from_millis(900),
        "1 s of bytes less its 100 ms of credit: the 10 s it waited bought no more"
    );
}
