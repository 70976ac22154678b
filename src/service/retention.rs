//! Retention (`listen --keep`): a long-running listener deletes the reports of calls that
//! ended too long ago, and their archive folders, now and every hour.

use std::sync::Arc;
use std::time::Duration;

use crate::archive::Archive;
use crate::archive::layout::folder_at;
use crate::clock::Clock;
use crate::store::Store;

/// Retention (`--keep`): now and every hour, deletes the reports of calls that ended too long
/// ago, except those with a delivery still pending and those a backfill could still find
/// (`margin`: the overlap and the longest call, behind the oldest cursor); with `--archive`,
/// their archive folders go too.
pub async fn keep_only(
    store: Store,
    keep: Option<Duration>,
    margin: Duration,
    archive: Option<Archive>,
    clock: Arc<dyn Clock>,
) {
    let Some(keep) = keep.and_then(|k| jiff::SignedDuration::try_from(k).ok()) else {
        return;
    };
    loop {
        let now = clock.now();
        let before = now.saturating_sub(keep);
        match before.map(|before| store.forget_calls_before(before, margin, now)) {
            Ok(forget) => match forget.await {
                Ok(calls) if calls.is_empty() => {}
                Ok(calls) => {
                    let n = calls.len();
                    tracing::info!("deleted {n} stored report(s) older than --keep");
                    if let Some(archive) = &archive {
                        remove_archived(archive, &calls).await;
                    }
                }
                Err(err) => tracing::warn!("could not apply --keep: {err}"),
            },
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// The archive folders of the calls `--keep` deleted.
async fn remove_archived(archive: &Archive, calls: &[(String, jiff::Timestamp)]) {
    for (id, ended) in calls {
        let Some(folder) = folder_at(id, *ended) else {
            continue;
        };
        if let Err(err) = archive.remove_folder(&folder).await {
            tracing::warn!("could not remove the archive folder of {id} (--keep): {err}");
        }
    }
}
