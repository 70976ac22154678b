//! The store as a long-running listener watches it: whether it answers and its last write
//! worked (`/healthz`), what waits in it (`cer_deliveries_pending`, `cer_refetches_due`), and
//! this listener's word that it still delivers to its targets, renewed before it runs out.

use std::sync::Arc;
use std::time::Duration;

use super::Service;
use crate::clock::Clock;
use crate::store::Store;
use crate::store::targets::SERVED_WITHIN;
use crate::target::ForwardTarget;

/// Registers this listener's targets in the store and says that it delivers to them (the
/// deliveries to them that no listener sent are no longer orphaned); deliveries to targets no
/// listener names that ran out of `--forward-for` are failed.
pub async fn serve_targets(
    store: &Store,
    targets: &[ForwardTarget],
    forward_for: Duration,
    now: jiff::Timestamp,
) {
    if let Err(err) = store.register_targets(targets, forward_for, now).await {
        tracing::info!("cannot register this listener's targets: {err}");
    }
    match store.expire_orphans(now).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            "{n} deliveries to targets no listener forwards to ran out of --forward-for; \
             `cer deliveries --failed` lists them"
        ),
        Err(err) => tracing::info!("cannot look for orphaned deliveries: {err}"),
    }
}

/// Every few seconds: whether the store answers and its last write worked (`/healthz` turns
/// 503 while not), how many deliveries wait per target (`cer_deliveries_pending`) and how many
/// re-fetches are due; every minute or so, that this listener still delivers to its targets,
/// and orphaned deliveries that ran out of time are failed.
pub async fn watch_store(
    store: Store,
    service: Service,
    (targets, forward_for): (Vec<ForwardTarget>, Duration),
    every: Duration,
    clock: Arc<dyn Clock>,
) {
    for target in &targets {
        service.metrics().delivery_target(target.shown());
    }
    let mut registered = tokio::time::Instant::now();
    loop {
        check_store(&store, &service).await;
        if !targets.is_empty()
            && let Ok(counts) = store.pending_by_target().await
        {
            // A target with nothing pending has no row: it reads as zero, not as its last count.
            for target in &targets {
                let pending = counts.get(target.key()).copied().unwrap_or(0);
                service
                    .metrics()
                    .set_deliveries_pending(target.shown(), pending);
            }
        }
        if let Ok(counts) = store.refetches_due(clock.now()).await {
            service.metrics().set_refetches_due(counts.due);
        }
        if registered.elapsed() >= SERVED_WITHIN / 4 {
            registered = tokio::time::Instant::now();
            serve_targets(&store, &targets, forward_for, clock.now()).await;
        }
        tokio::time::sleep(every).await;
    }
}

/// `/healthz`'s view of the store: a store can answer a ping while refusing every write (a
/// read-only file or database), so the last write's result counts too.
async fn check_store(store: &Store, service: &Service) {
    let problem = match store.ping().await {
        Ok(()) => store.write_failure().await,
        Err(err) => Some(err.to_string()),
    };
    match problem {
        None => service.health().resolved("store"),
        Some(reason) => service.health().problem("store", &reason),
    };
}
