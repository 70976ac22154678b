//! The channel's WebSocket: connecting to it, and reading GoTo's notification envelope
//! (`data.source`, `data.type`, `data.content`) into the few kinds of frame cer acts on.

use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::http::CONNECT_TIMEOUT;
use super::proxy::ProxyConfig;
use crate::net::ApiError;

/// An open channel WebSocket, direct or through the proxy's tunnel, TLS or not.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a text frame from the channel asks of cer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A call ended and its report can be fetched.
    CallReport {
        /// The call's id, which its report is fetched by.
        conversation_space_id: String,
    },
    /// A recording (or a transcript, `transcript`) was uploaded: its id, checked plain.
    MediaUploaded {
        /// `RECORDING_TRANSCRIPT_UPLOADED` (the id is the transcript's), else a recording.
        transcript: bool,
        /// `content.recordingId` (or `content.recording_id`, as seen live).
        id: String,
    },
    /// The channel's lifetime must be renewed (PUT on the channel).
    RefreshRequired,
    /// GoTo is about to close this socket; connect a new one first.
    ToBeClosed,
    /// A well-formed notification cer has no use for.
    Ignored {
        /// `data.source`.
        source: String,
        /// `data.type`.
        kind: String,
    },
    /// Not JSON, or not GoTo's envelope.
    Malformed(String),
}

/// Reads one text frame.
pub fn parse_frame(text: &str) -> Frame {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Frame::Malformed(format!("not JSON: {:?}", preview(text)));
    };
    // GoTo wraps the notification in `data`; a bare notification (as a webhook body) is read
    // the same way.
    let bare = value.get("source").is_some() || value.get("type").is_some();
    let data = value
        .get("data")
        .filter(|d| d.is_object())
        .or(bare.then_some(&value));
    let Some(data) = data else {
        return Frame::Malformed(format!("no `data` object: {:?}", preview(text)));
    };
    let field = |name: &str| data.get(name).and_then(Value::as_str).unwrap_or("");
    let (source, kind) = (field("source"), field("type"));
    match kind {
        "WEBSOCKET_REFRESH_REQUIRED" => return Frame::RefreshRequired,
        "WEBSOCKET_TO_BE_CLOSED" => return Frame::ToBeClosed,
        _ => {}
    }
    if let Some(transcript) = match kind {
        "RECORDING_UPLOADED" => Some(false),
        "RECORDING_TRANSCRIPT_UPLOADED" => Some(true),
        _ => None,
    } {
        let id = data
            .pointer("/content/recordingId")
            .or_else(|| data.pointer("/content/recording_id"))
            .and_then(Value::as_str);
        return match id {
            Some(id) if super::recordings::MediaId::parse(id).is_ok() => Frame::MediaUploaded {
                transcript,
                id: id.to_string(),
            },
            _ => Frame::Malformed(format!(
                "a {kind} notification without a plain recording id: {:?}",
                preview(text)
            )),
        };
    }
    if source == "call-events-report" {
        let id = data
            .pointer("/content/conversationSpaceId")
            .and_then(Value::as_str);
        return match id {
            Some(id) if crate::report::ConversationId::is_valid(id) => Frame::CallReport {
                conversation_space_id: id.to_string(),
            },
            _ => Frame::Malformed(format!(
                "a call-events-report notification without conversationSpaceId: {:?}",
                preview(text)
            )),
        };
    }
    Frame::Ignored {
        source: source.to_string(),
        kind: kind.to_string(),
    }
}

fn preview(text: &str) -> String {
    text.chars().take(120).collect()
}

/// The socket's read and write steps.
const SOCKET_BUFFER: usize = 16 * 1024;

/// Bounds what one message from GoTo may make cer hold in memory. GoTo's messages are a
/// few hundred bytes, so the socket reads and writes in 16 KiB steps rather than
/// tungstenite's 128 KiB, which a listener would hold for as long as it runs.
fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    let limit = Some(super::body::MAX_WEBSOCKET_MESSAGE);
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
}

/// Opens the channel's WebSocket, through the proxy when one applies to its host.
pub async fn connect(url: &str, proxy: Option<&ProxyConfig>) -> Result<Socket, ApiError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| ApiError::InvalidBody(format!("the channelURL {url:?} is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let proxy = proxy.filter(|p| p.applies_to(&parsed));
    let connecting = async {
        match proxy {
            Some(proxy) => {
                let stream = proxy.tunnel(&host, port).await?;
                Ok(tokio_tungstenite::client_async_tls_with_config(
                    url,
                    stream,
                    Some(socket_config()),
                    None,
                )
                .await)
            }
            None => {
                Ok(
                    tokio_tungstenite::connect_async_with_config(url, Some(socket_config()), false)
                        .await,
                )
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(ApiError::Transport(format!(
            "the WebSocket did not open within {}s",
            CONNECT_TIMEOUT.as_secs()
        ))),
        Ok(Err(err)) => Err(err),
        Ok(Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response)))) => {
            let status = response.status().as_u16();
            let body = response.body().clone().unwrap_or_default();
            Err(ApiError::from_status(status, None, &body))
        }
        Ok(Ok(Err(err))) => Err(ApiError::Transport(format!("WebSocket: {err}"))),
        Ok(Ok(Ok((socket, _)))) => Ok(socket),
    }
}

#[cfg(test)]
mod proxy_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_guides_report_notification() {
        let frame = concat!(
            r#"{"data":{"source":"call-events-report","type":"REPORT_SUMMARY","#,
            r#""timestamp":"2023-04-24T18:55:35.993967226Z","#,
            r#""content":{"conversationSpaceId":"29a1c77a-e52a-3764-8606-8b02b1277be8"},"#,
            r#""bypassDoNotDisturb":null}}"#,
        );
        assert_eq!(
            parse_frame(frame),
            Frame::CallReport {
                conversation_space_id: "29a1c77a-e52a-3764-8606-8b02b1277be8".into()
            }
        );
    }

    #[test]
    fn a_notification_with_goto_newer_fields_still_names_its_call() {
        // GoTo (2025-12) adds CSAT scores and feedback to REPORT_SUMMARY; their names are not
        // public, so any extra content is passed by.
        let frame = concat!(
            r#"{"data":{"source":"call-events-report","type":"REPORT_SUMMARY","#,
            r#""content":{"conversationSpaceId":"29a1c77a-e52a-3764-8606-8b02b1277be8","#,
            r#""csat":{"score":4,"feedback":"ok"},"csatScore":[1,{"x":null}]},"#,
            r#""bypassDoNotDisturb":null}}"#,
        );
        assert_eq!(
            parse_frame(frame),
            Frame::CallReport {
                conversation_space_id: "29a1c77a-e52a-3764-8606-8b02b1277be8".into()
            }
        );
    }

    #[test]
    fn reads_control_messages_by_type_whatever_the_source() {
        let refresh = concat!(
            r#"{"event":"Notification","eventId":3,"data":{"source":"notification-websocket","#,
            r#""type":"WEBSOCKET_REFRESH_REQUIRED","content":{}}}"#,
        );
        assert_eq!(parse_frame(refresh), Frame::RefreshRequired);
        let closing = r#"{"data":{"type":"WEBSOCKET_TO_BE_CLOSED"}}"#;
        assert_eq!(parse_frame(closing), Frame::ToBeClosed);
    }

    #[test]
    fn reads_a_bare_notification_without_the_envelope() {
        let bare = include_str!("../../tests/fixtures/report_summary_event.json");
        assert_eq!(
            parse_frame(bare),
            Frame::CallReport {
                conversation_space_id: "84dcee04-ba4d-33c5-b00b-c0e57599fa69".into()
            }
        );
    }

    #[test]
    fn other_sources_are_ignored_and_junk_is_malformed() {
        let other = r#"{"data":{"source":"call-events","type":"call-state","content":{}}}"#;
        assert!(matches!(parse_frame(other), Frame::Ignored { .. }));
        let uploaded = |kind: &str, content: &str| {
            parse_frame(&format!(
                r#"{{"data":{{"source":"recording-service","type":"{kind}","content":{content}}}}}"#
            ))
        };
        assert_eq!(
            uploaded("RECORDING_UPLOADED", r#"{"recordingId":"r-1"}"#),
            Frame::MediaUploaded {
                transcript: false,
                id: "r-1".into()
            }
        );
        assert_eq!(
            uploaded("RECORDING_TRANSCRIPT_UPLOADED", r#"{"recording_id":"t_2"}"#),
            Frame::MediaUploaded {
                transcript: true,
                id: "t_2".into()
            }
        );
        let climbing = uploaded("RECORDING_UPLOADED", r#"{"recordingId":"../x"}"#);
        assert!(matches!(climbing, Frame::Malformed(_)), "{climbing:?}");
        assert!(matches!(parse_frame("not json"), Frame::Malformed(_)));
        assert!(matches!(parse_frame("[1,2]"), Frame::Malformed(_)));
        let no_id =
            r#"{"data":{"source":"call-events-report","type":"REPORT_SUMMARY","content":{}}}"#;
        assert!(matches!(parse_frame(no_id), Frame::Malformed(_)));
    }
}
