//! The channel's upkeep inside a session's loop: WebSocket frames, pings, refreshes, the
//! subscription check and a make-before-break replacement, and what their failures mean.

use futures_util::SinkExt;
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::super::error::is_fatal;
use super::super::session::{Session, discard, subscribe, subscriptions_intact};
use super::{End, Pump, Step, later};
use crate::api::channels;
use crate::api::notifications::{self, Frame};
use crate::escape::terminal_safe;
use crate::net::ApiError;

impl Pump<'_> {
    pub(super) async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Step {
        if matches!(message, Some(Ok(_))) {
            self.last_heard = Instant::now();
        }
        match message {
            Some(Ok(Message::Text(text))) => self.on_frame(notifications::parse_frame(&text)).await,
            Some(Ok(Message::Binary(bytes))) => {
                let text = String::from_utf8_lossy(&bytes);
                self.on_frame(notifications::parse_frame(&text)).await
            }
            Some(Ok(Message::Close(frame))) => {
                // The close reason is the server's text; it reaches stderr.
                let why = frame
                    .map(|f| format!(" ({} {})", f.code, terminal_safe(&f.reason)))
                    .unwrap_or_default();
                Err(self.lost(format!("GoTo closed the WebSocket{why}")))
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(err)) => Err(self.lost(format!("WebSocket error: {err}"))),
            None => Err(self.lost("the WebSocket closed".to_string())),
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> Step {
        match frame {
            Frame::CallReport {
                conversation_space_id,
            } => {
                self.fetch_live(conversation_space_id);
                Ok(())
            }
            Frame::MediaUploaded { transcript, id } => {
                let event = crate::events::ListenEvent::MediaUploaded { transcript, id };
                let _ = self.engine.events.send(event).await;
                Ok(())
            }
            Frame::RefreshRequired => {
                tracing::debug!("GoTo asked for a channel refresh");
                self.refresh().await
            }
            Frame::ToBeClosed => self.replace_session().await,
            Frame::Ignored { source, kind } => {
                tracing::debug!("ignoring a {source:?} notification of type {kind:?}");
                Ok(())
            }
            Frame::Malformed(why) => {
                let message = format!("skipping a WebSocket frame cer cannot read: {why}");
                if let Some(line) = self.junk_frames.occur(&message, Instant::now()) {
                    tracing::warn!("{line}");
                }
                Ok(())
            }
        }
    }

    /// A protocol ping carrying `{"sequence": n}`, as GoTo's demo sends. Any frame from GoTo
    /// counts as a sign of life, so a server that answers pings without echoing them is fine.
    pub(super) async fn ping(&mut self) -> Step {
        let timing = self.engine.config.timing;
        let silence = self.last_heard.elapsed();
        let allowed = timing
            .ping_every
            .saturating_mul(u32::try_from(timing.max_missed_pongs).unwrap_or(u32::MAX));
        if silence > allowed {
            return Err(self.lost(format!("nothing heard from GoTo for {silence:.0?}")));
        }
        self.pings_sent += 1;
        let payload = json!({ "sequence": self.pings_sent }).to_string();
        match self
            .socket
            .send(Message::Ping(payload.into_bytes().into()))
            .await
        {
            Ok(()) => Ok(()),
            Err(err) => Err(self.lost(format!("cannot send a ping: {err}"))),
        }
    }

    pub(super) async fn refresh(&mut self) -> Step {
        let timing = self.engine.config.timing;
        match channels::refresh(self.engine.api, &self.channel).await {
            Ok(lifetime) => {
                let lifetime = lifetime.or(self.channel.lifetime_secs);
                self.refresh_at = later(timing.refresh_after(lifetime));
                tracing::debug!("channel refreshed");
                Ok(())
            }
            Err(ApiError::NotFound { .. }) => {
                Err(self.lost_with("GoTo no longer knows the notification channel".into(), None))
            }
            Err(err) if is_fatal(&err, true) => {
                Err(Box::new(End::Fatal(err, Some(self.channel.clone()))))
            }
            Err(err) => {
                tracing::warn!("could not refresh the channel ({err}); trying again soon");
                self.refresh_at = later(timing.reconnect_cap / 3);
                Ok(())
            }
        }
    }

    /// GoTo subscriptions can vanish without notice; put them back and backfill the gap.
    pub(super) async fn check_subscriptions(&mut self) -> Step {
        let api = &self.engine.api;
        let config = &self.engine.config;
        // The listing is undocumented: a refusal of it, or an answer without `accountKeys`,
        // ends the checks with one warning instead of being read as a lost subscription.
        let intact = match subscriptions_intact(api, &self.channel, config).await {
            Ok(Some(intact)) => intact,
            Ok(None) => return self.stop_checking("its answer lists no accountKeys"),
            Err(
                err @ (ApiError::NotFound { .. }
                | ApiError::Forbidden { .. }
                | ApiError::Rejected {
                    status: 400..=499 | 501,
                    ..
                }),
            ) => return self.stop_checking(&err.to_string()),
            Err(err) => return self.tolerate(err, "check the subscriptions"),
        };
        if intact {
            return Ok(());
        }
        tracing::info!("a subscription disappeared; subscribing again");
        if let Err(err) = subscribe(api, &self.channel, config).await {
            return self.tolerate(err, "subscribe again");
        }
        self.search_from_cursor();
        Ok(())
    }

    fn stop_checking(&mut self, why: &str) -> Step {
        tracing::warn!(
            "cannot check the subscriptions ({why}); listening goes on without that check"
        );
        self.check_subscriptions = false;
        Ok(())
    }

    /// `WEBSOCKET_TO_BE_CLOSED`: GoTo's guide says a new channel may be needed, and its demo
    /// makes one. Make before break: a new channel, its subscriptions and socket first, then
    /// the old ones are closed and deleted, so no notification falls between the two.
    async fn replace_session(&mut self) -> Step {
        tracing::debug!("GoTo is closing the WebSocket; opening a new channel first");
        let (api, config) = (&self.engine.api, &self.engine.config);
        let mut created = None;
        match Session::open(api, config, &mut created).await {
            Ok(session) => {
                let old_channel = std::mem::replace(&mut self.channel, session.channel);
                let mut old_socket = std::mem::replace(&mut self.socket, session.socket);
                tokio::spawn(async move { old_socket.close(None).await });
                discard(api, old_channel, config, config.timing.shutdown_limit);
                self.refresh_at = later(config.timing.refresh_after(self.channel.lifetime_secs));
                self.last_heard = Instant::now();
                self.search_from_cursor();
                Ok(())
            }
            Err(err) => self.tolerate(err, "open a new channel").and_then(|()| {
                Err(self
                    .lost("GoTo closed the WebSocket and no new channel could be opened".into()))
            }),
        }
    }

    /// Decides what a failed maintenance request means: the channel is gone (reconnect),
    /// authentication is gone (stop), or it was a passing failure (carry on).
    fn tolerate(&self, err: ApiError, what: &str) -> Step {
        match err {
            ApiError::NotFound { .. } => Err(self.lost_with(
                format!("GoTo no longer knows the channel (while trying to {what})"),
                None,
            )),
            err if is_fatal(&err, true) => {
                Err(Box::new(End::Fatal(err, Some(self.channel.clone()))))
            }
            err => {
                tracing::warn!("could not {what}: {err}");
                Ok(())
            }
        }
    }
}
