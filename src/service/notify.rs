//! systemd's notify protocol for `Type=notify` units: `READY=1` at Ready, `STATUS=` lines,
//! `WATCHDOG=1` pings and `STOPPING=1`, through the small `sd-notify` crate.
//!
//! `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` come resolved from `settings` (so `.env`
//! counts like for every other setting); `sd-notify` only spells the messages. They go out from a
//! thread of their own, in order, so a service manager that stops reading can never hold up
//! listening.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use sd_notify::NotifyState;

use crate::settings::ServiceManager;

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
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Starts the sending thread when there is a notify socket.
    pub fn new(manager: &ServiceManager) -> Self {
        let Some(socket) = manager.notify_socket.clone() else {
            return Self::silent();
        };
        let (queue, messages) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("cer-sd-notify".to_string())
            .spawn(move || send_all(&socket, &messages));
        if let Err(err) = spawned {
            tracing::warn!("cannot notify the service manager: {err}");
            return Self::silent();
        }
        Self {
            queue: Some(queue),
            watchdog: manager.watchdog,
        }
    }

    fn silent() -> Self {
        Self {
            queue: None,
            watchdog: None,
        }
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
        let (Some(_), Some(timeout)) = (&self.queue, self.watchdog) else {
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

fn send_all(socket: &Path, messages: &mpsc::Receiver<Message>) {
    for message in messages {
        let result = match &message {
            Message::Ready(status) => {
                notify(socket, &[NotifyState::Ready, NotifyState::Status(status)])
            }
            Message::Status(status) => notify(socket, &[NotifyState::Status(status)]),
            Message::Watchdog => notify(socket, &[NotifyState::Watchdog]),
            Message::Stopping => notify(socket, &[NotifyState::Stopping]),
        };
        if let Err(err) = result {
            tracing::debug!("the service manager did not take {message:?}: {err}");
        }
    }
}

/// One datagram, one `KEY=value` line per state, as `sd_notify(3)` sends it.
fn notify(socket: &Path, states: &[NotifyState]) -> std::io::Result<()> {
    let text: String = states.iter().map(|state| format!("{state}\n")).collect();
    let datagram = UnixDatagram::unbound()?;
    datagram.connect(socket)?;
    let sent = datagram.send(text.as_bytes())?;
    if sent != text.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            "the notification was cut short",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_go_to_the_socket_the_settings_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        notify(&path, &[NotifyState::Ready, NotifyState::Status("up")]).unwrap();
        let mut buffer = [0u8; 64];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=up\n");
    }
}
