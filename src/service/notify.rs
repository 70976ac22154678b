//! systemd's notify protocol for `Type=notify` units: `READY=1` at Ready, `STATUS=` lines,
//! `WATCHDOG=1` pings and `STOPPING=1`, through the small `sd-notify` crate.
//!
//! `sd-notify` reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` where systemd puts
//! them, the process environment. Messages go out from a thread of their own, in order, so a
//! service manager that stops reading can never hold up listening.

use std::sync::mpsc;
use std::time::Duration;

use sd_notify::NotifyState;

/// One message to the service manager.
#[derive(Debug)]
enum Message {
    Ready(String),
    Status(String),
    Watchdog,
    Stopping,
}

/// Sends notifications when cer runs under a service manager; does nothing otherwise.
#[derive(Debug, Clone)]
pub struct Notifier {
    queue: Option<mpsc::Sender<Message>>,
}

impl Notifier {
    /// Starts the sending thread when `NOTIFY_SOCKET` is set.
    pub fn from_environment() -> Self {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return Self { queue: None };
        }
        let (queue, messages) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("cer-sd-notify".to_string())
            .spawn(move || send_all(&messages));
        if let Err(err) = spawned {
            tracing::warn!("cannot notify the service manager: {err}");
            return Self { queue: None };
        }
        Self { queue: Some(queue) }
    }

    /// `READY=1`, with a status line.
    pub fn ready(&self, status: &str) {
        self.send(Message::Ready(super::health::one_line(status)));
    }

    /// `STATUS=…`: what `systemctl status` shows.
    pub fn status(&self, status: &str) {
        self.send(Message::Status(super::health::one_line(status)));
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.send(Message::Stopping);
    }

    /// Pings the watchdog at half of `WATCHDOG_USEC` (as systemd recommends) for as long as the
    /// runtime runs, when systemd asked for a watchdog.
    pub fn spawn_watchdog(&self) {
        let (Some(_), Some(timeout)) = (&self.queue, sd_notify::watchdog_enabled()) else {
            return;
        };
        let every = (timeout / 2).max(Duration::from_millis(1));
        let notifier = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                notifier.send(Message::Watchdog);
            }
        });
    }

    fn send(&self, message: Message) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(message);
        }
    }
}

fn send_all(messages: &mpsc::Receiver<Message>) {
    for message in messages {
        let result = match &message {
            Message::Ready(status) => {
                sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)])
            }
            Message::Status(status) => sd_notify::notify(&[NotifyState::Status(status)]),
            Message::Watchdog => sd_notify::notify(&[NotifyState::Watchdog]),
            Message::Stopping => sd_notify::notify(&[NotifyState::Stopping]),
        };
        if let Err(err) = result {
            tracing::debug!("the service manager did not take {message:?}: {err}");
        }
    }
}
