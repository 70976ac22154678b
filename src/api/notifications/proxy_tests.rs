//! `HTTPS_PROXY` for the WebSocket: an HTTP CONNECT tunnel, skipped for `NO_PROXY` hosts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::connect;
use crate::api::http::client_reaching;
use crate::api::proxy::{HttpsProxy, ProxyConfig};
use crate::api::tests::TestEnv;

/// A CONNECT proxy that tunnels (or, with `refuse`, answers 403) and counts the requests.
fn connect_proxy(env: &TestEnv, refuse: bool) -> (String, Arc<AtomicUsize>) {
    let (url, seen, _) = recording_proxy(env, refuse);
    (url, seen)
}

/// [`connect_proxy`], also keeping the head (request line and headers) of every CONNECT.
fn recording_proxy(env: &TestEnv, refuse: bool) -> (String, Arc<AtomicUsize>, Heads) {
    let seen = Arc::new(AtomicUsize::new(0));
    let heads = Heads::default();
    let kept = heads.clone();
    let listener = env
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counter = seen.clone();
    env.spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut first = String::new();
                client.read_line(&mut first).await.unwrap();
                let mut head = first.clone();
                let mut line = String::new();
                while client.read_line(&mut line).await.unwrap() > 2 {
                    head.push_str(&line);
                    line.clear();
                }
                kept.lock().unwrap().push(head);
                let target = first.split_whitespace().nth(1).unwrap().to_string();
                let mut client = client.into_inner();
                if refuse {
                    client
                        .write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n")
                        .await
                        .unwrap();
                    return;
                }
                let mut upstream = tokio::net::TcpStream::connect(target).await.unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, seen, heads)
}

type Heads = Arc<std::sync::Mutex<Vec<String>>>;

fn channel_url(env: &TestEnv) -> String {
    env.block_on(async {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/notification-channel/v1/channels/proxy-test",
                env.sandbox.base_url()
            ))
            .bearer_auth(env.sandbox.issue_token(None))
            .json(&serde_json::json!({"channelType": "WebSocket"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["channelData"]["channelURL"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

#[test]
fn the_websocket_goes_through_the_proxy_unless_no_proxy_says_otherwise() {
    let env = TestEnv::new();
    let (proxy, seen) = connect_proxy(&env, false);
    let url = channel_url(&env);
    let through = ProxyConfig::new(Some(&proxy), None).unwrap();
    let _tunnelled = env
        .block_on(connect(&url, Some(&through)))
        .expect("connects through the tunnel");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    let bypass = ProxyConfig::new(Some(&proxy), Some("127.0.0.1")).unwrap();
    let _direct = env
        .block_on(connect(&url, Some(&bypass)))
        .expect("connects directly");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(env.sandbox.channels()[0].connected_sockets, 2);
}

#[test]
fn a_refused_tunnel_is_a_clear_error() {
    let env = TestEnv::new();
    let (proxy, _) = connect_proxy(&env, true);
    let url = channel_url(&env);
    let config = ProxyConfig::new(Some(&proxy), None).unwrap();
    let Err(err) = env.block_on(connect(&url, Some(&config))) else {
        panic!("the refused tunnel connected");
    };
    assert!(err.to_string().contains("refused the tunnel"), "{err}");
}

/// One `NO_PROXY` matcher decides for REST and the WebSocket: for each value, an `https` REST
/// request and the channel's WebSocket both reach the proxy, or neither does. CIDR blocks and
/// ports are the entries the two used to read differently (reqwest's rules for REST, cer's
/// for the tunnel).
#[test]
fn no_proxy_decides_alike_for_rest_and_the_websocket() {
    let env = TestEnv::new();
    let (proxy, seen) = connect_proxy(&env, false);
    let socket_url = channel_url(&env);
    let port = url::Url::parse(&socket_url).unwrap().port().unwrap();
    // Nothing speaks TLS there: only whether the proxy was asked matters.
    let rest_url = format!("https://127.0.0.1:{port}/");
    let cases = [
        (None, true),
        (Some("127.0.0.0/8".to_string()), false),
        (Some(format!("localhost, 127.0.0.1:{port}")), false),
        (Some(format!("127.0.0.1:{}", port.wrapping_add(1))), true),
        (Some("other.test,*".to_string()), false),
    ];
    for (no_proxy, proxied) in cases {
        let before = seen.load(Ordering::SeqCst);
        let https_proxy = HttpsProxy::from_variables(Some(&proxy), no_proxy.as_deref())
            .unwrap()
            .unwrap();
        let client = client_reaching(Some(&https_proxy), &[rest_url.as_str()]).unwrap();
        let request = client
            .get(&rest_url)
            .timeout(std::time::Duration::from_secs(5));
        let _ = env.block_on(async { request.send().await });
        let rest_asked = seen.load(Ordering::SeqCst) - before;
        let config = ProxyConfig::new(Some(&proxy), no_proxy.as_deref()).unwrap();
        let _socket = env
            .block_on(connect(&socket_url, Some(&config)))
            .expect("the WebSocket opens, through the tunnel or directly");
        let socket_asked = seen.load(Ordering::SeqCst) - before - rest_asked;
        let expected = usize::from(proxied);
        assert_eq!(
            (rest_asked, socket_asked),
            (expected, expected),
            "NO_PROXY={no_proxy:?}"
        );
    }
}

#[test]
fn the_proxy_urls_credentials_go_in_the_connect_request_decoded() {
    use base64::Engine as _;
    let env = TestEnv::new();
    let (proxy, _, heads) = recording_proxy(&env, false);
    let url = channel_url(&env);
    let with_user = proxy.replace("http://", "http://us%40er:p+ss@");
    let config = ProxyConfig::new(Some(&with_user), None).unwrap();
    let _tunnelled = env
        .block_on(connect(&url, Some(&config)))
        .expect("connects through the tunnel");
    let heads = heads.lock().unwrap();
    let head = heads.first().expect("one CONNECT");
    assert!(head.starts_with("CONNECT 127.0.0.1:"), "{head}");
    let given = head
        .lines()
        .find_map(|line| line.strip_prefix("proxy-authorization: Basic "))
        .or_else(|| {
            head.lines()
                .find_map(|line| line.strip_prefix("Proxy-Authorization: Basic "))
        })
        .unwrap_or_else(|| panic!("no credentials in {head}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .unwrap();
    assert_eq!(decoded, b"us@er:p+ss");
}
