//! One listening session: a channel, its subscriptions and its WebSocket, set up in that order
//! and torn down in reverse, so that nothing is left behind on GoTo's side.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::ListenConfig;
use crate::api::channels::{self, Channel};
use crate::api::notifications::{self, Socket};
use crate::api::{ApiClient, subscriptions};
use crate::net::ApiError;

/// A channel with live subscriptions and a connected socket.
pub struct Session {
    pub channel: Channel,
    pub socket: Socket,
}

impl Session {
    /// Creates the channel, subscribes it, connects its socket. The new channel is put in
    /// `created` at once, so that whoever cancels this future can still delete it; on failure
    /// it is deleted here before returning.
    pub async fn open(
        api: &ApiClient,
        config: &ListenConfig,
        created: &mut Option<Channel>,
    ) -> Result<Self, ApiError> {
        let channel = channels::create(api, &config.channel_nickname).await?;
        tracing::debug!(channel = %channel.id, "notification channel created");
        *created = Some(channel.clone());
        let subscribed = subscribe(api, &channel, config).await;
        let socket = match subscribed {
            Ok(()) => notifications::connect(&channel.url, config.proxy.as_ref()).await,
            Err(err) => Err(err),
        };
        match socket {
            Ok(socket) => Ok(Self { channel, socket }),
            Err(err) => {
                tear_down(api, &channel, config, config.timing.shutdown_limit).await;
                *created = None;
                Err(err)
            }
        }
    }
}

/// Whether this listener said that GoTo refused its recording notifications.
static NO_RECORDING_NOTIFICATIONS_SAID: AtomicBool = AtomicBool::new(false);

/// Subscribes the channel to every account key.
pub async fn subscribe(
    api: &ApiClient,
    channel: &Channel,
    config: &ListenConfig,
) -> Result<(), ApiError> {
    subscriptions::create(api, &channel.id, &config.account_keys, &config.event_types).await?;
    if config.recording_notifications {
        for key in &config.account_keys {
            // Archiving goes on from the revisions alone: no reason to stop listening. Said
            // once: every reconnect subscribes again, and the answer is the same.
            if let Err(err) = subscriptions::create_recording(api, &channel.id, key).await
                && !NO_RECORDING_NOTIFICATIONS_SAID.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    "no recording notifications for account {key} ({err}): recordings are \
                     archived as the reports' revisions name them (keep --refetch on)"
                );
            }
        }
    }
    Ok(())
}

/// Whether GoTo still has a subscription for every account key on the channel; `None` when
/// its answer does not list account keys, so there is nothing to judge by.
pub async fn subscriptions_intact(
    api: &ApiClient,
    channel: &Channel,
    config: &ListenConfig,
) -> Result<Option<bool>, ApiError> {
    let live = subscriptions::account_keys(api, &channel.id).await?;
    Ok(live.map(|live| config.account_keys.iter().all(|key| live.contains(key))))
}

/// Deletes the subscriptions, then the channel, giving up after `limit`.
pub async fn tear_down(api: &ApiClient, channel: &Channel, config: &ListenConfig, limit: Duration) {
    let work = async {
        for key in &config.account_keys {
            if let Err(err) = subscriptions::delete(api, &channel.id, key).await {
                tracing::debug!("could not delete the subscription of {key}: {err}");
            }
        }
        if config.recording_notifications
            && let Err(err) = subscriptions::delete_recording(api, &channel.id).await
        {
            tracing::debug!("could not delete the recording subscriptions: {err}");
        }
        if let Err(err) = channels::delete(api, channel).await {
            tracing::debug!("could not delete channel {}: {err}", channel.id);
        }
    };
    if tokio::time::timeout(limit, work).await.is_err() {
        tracing::warn!(
            "cleanup did not finish within {limit:?}; GoTo expires the channel by itself"
        );
    }
}

/// Tears a session down in the background, for reconnects that must not wait for it.
pub fn discard(api: &ApiClient, channel: Channel, config: &ListenConfig, limit: Duration) {
    let (api, config) = (api.clone(), config.clone());
    tokio::spawn(async move { tear_down(&api, &channel, &config, limit).await });
}
