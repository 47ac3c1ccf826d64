//! The HTTP edge against hostile clients: requests that cost work out of
//! proportion, slow and idle connections, endless multipart headers and
//! request heads over the limits (SECURITY.md 26-28). Every test talks to
//! the real server on loopback, most over a raw socket, and every wait is
//! bounded so a regression fails instead of hanging.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::common::*;

/// A bound for things that happen at once when the server behaves; only
/// reached when it does not.
const BOUND: Duration = Duration::from_secs(60);
/// See [`closed_by_server`]: the default idle and header-read timeouts are
/// 60 s and 10 s; the tests set 200-300 ms.
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

/// Sends `request` whole (a server that stops reading early is fine) while
/// reading the answer.
async fn raw(addr: SocketAddr, request: Vec<u8>) -> (u16, Value) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut data = Vec::new();
    // A reset after the answer is fine: what was read is kept.
    let _ = timeout(BOUND, reader.read_to_end(&mut data)).await;
    sender.abort();
    parse(&data).unwrap_or_else(|| {
        panic!(
            "no complete answer: {:?}",
            String::from_utf8_lossy(&data[..data.len().min(500)])
        )
    })
}

fn parse(data: &[u8]) -> Option<(u16, Value)> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let status: u16 = head.get(9..12)?.parse().ok()?;
    assert!(
        head.contains("content-type: application/json"),
        "not JSON: {head}"
    );
    let body = serde_json::from_slice(&data[end + 4..]).ok()?;
    Some((status, body))
}

fn assert_envelope(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body:#}");
    assert_eq!(body["error"], code, "{body:#}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["code"], code, "{body:#}");
}

/// Each probe opens its own connection: the server closes a kept-alive
/// connection once it idles past the (here very short) header-read
/// timeout, and a pooled one could be closed just as a probe reuses it.
async fn healthz(app: &TestApp) {
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let reply = timeout(BOUND, fresh.get(app.url("/healthz")).send())
        .await
        .expect("/healthz answers while the server is under attack")
        .expect("/healthz answers");
    assert_eq!(reply.status(), 200);
}

/// SECURITY.md 26: 100,000 distinct ids from a token with no scope and no
/// tenant are refused by their count, and the server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_of_100000_ids_is_refused_while_healthz_answers() {
    let app = TestApp::new().await;
    let token = Token::full().scopes(&[]).tenants(&[]).mint();
    let ids: Vec<String> = (0..100_000).map(|i| format!("artifact-{i}")).collect();
    let body = json!({ "tenantId": SOURCE, "artifactIds": ids });
    let preview = {
        let request = app
            .http
            .post(app.url("/api/installhub/packages/preview"))
            .bearer_auth(&token)
            .json(&body);
        tokio::spawn(async move { request.send().await })
    };
    for _ in 0..5 {
        healthz(&app).await;
    }
    let response = timeout(BOUND, preview)
        .await
        .expect("the preview is answered")
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!((400..500).contains(&status), "{status} {body:#}");
    let codes = error_codes(&body);
    assert!(
        codes.contains(&"TooManyRootArtifacts".to_owned()),
        "{codes:?}"
    );
    let message = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "TooManyRootArtifacts")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("100000 entries"), "{message}");
    // The export has the same shape and the same check.
    let reply = app
        .post_as(&token, "/api/installhub/packages/export", &json!({
            "tenantId": SOURCE, "packageName": "Big", "packageType": "workflow-package",
            "version": "1.0.0", "artifactIds": (0..100_000).map(|i| format!("a{i}")).collect::<Vec<_>>(),
        }))
        .await;
    assert!((400..500).contains(&reply.status), "{}", reply.status);
    assert!(error_codes(&reply.json()).contains(&"TooManyRootArtifacts".to_owned()));
    healthz(&app).await;
}

/// A multipart upload whose first part's header block, starting with
/// `part_start`, never ends is refused with the envelope as soon as the
/// block passes the limit, long before the 256 MiB body is sent: the server
/// does not buffer it.
async fn an_endless_part_header_is_refused(part_start: &str) {
    let app = TestApp::new().await;
    const TOTAL: usize = 256 * 1024 * 1024;
    let head = format!(
        "POST /api/installhub/packages/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XB\r\nContent-Length: {TOTAL}\r\n\r\n{part_start}",
        app.token
    );
    let stream = TcpStream::connect(app.server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let (sent_tx, sent_rx) = tokio::sync::watch::channel(0usize);
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = head.len();
        while sent + chunk.len() <= TOTAL {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
            let _ = sent_tx.send(sent);
        }
    });
    let mut stream_data = Vec::new();
    let mut buf = [0u8; 8192];
    let answer = timeout(BOUND, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => stream_data.extend_from_slice(&buf[..n]),
            }
            if let Some(answer) = parse(&stream_data) {
                return Some(answer);
            }
        }
        None
    })
    .await
    .expect("answered");
    let sent_when_answered = *sent_rx.borrow();
    sender.abort();
    let (status, body) = answer.expect("an answer before the connection closed");
    assert_envelope(status, &body, 413, "PayloadTooLarge");
    assert!(
        body["message"].as_str().unwrap().contains("header block"),
        "{body:#}"
    );
    assert!(
        sent_when_answered < TOTAL / 4,
        "the answer came only after {sent_when_answered} of {TOTAL} bytes"
    );
    healthz(&app).await;
}

#[tokio::test]
async fn an_endless_part_header_is_refused_before_the_body_is_sent() {
    an_endless_part_header_is_refused(
        "--XB\r\nContent-Disposition: form-data; name=\"package\"\r\nX-Pad: ",
    )
    .await;
}

/// The boundary's line break and a blank line do not end the block: the
/// parser looks for the blank line only after that line break.
#[tokio::test]
async fn a_blank_line_right_after_the_boundary_does_not_end_the_part_header() {
    an_endless_part_header_is_refused("--XB\r\n\r\n").await;
}

/// Opens `count` connections that send half a request head and then wait.
async fn partial_heads(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        streams.push(stream);
    }
    streams
}

/// Waits (bounded) until the server closes `stream`.
/// Waits for the server to close `stream`, for at most `within`: far longer
/// than the short limit a test sets, far shorter than the other limits'
/// defaults, so the closing can only come from the limit under test.
async fn closed_by_server(mut stream: TcpStream, within: Duration) {
    let mut buf = [0u8; 1024];
    let closed = timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept a slow connection open");
}

/// SECURITY.md 27: connections that never finish their request head are
/// closed after the header-read timeout; /healthz answers meanwhile.
#[tokio::test]
async fn slow_request_heads_are_closed_while_healthz_answers() {
    let app = TestApp::with_config(|c| {
        c.limits.http.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let slow = partial_heads(app.server.addr, 50).await;
    healthz(&app).await;
    for stream in slow {
        closed_by_server(stream, CLOSED_WITHIN).await;
    }
    healthz(&app).await;
}

/// Connections beyond the cap wait their turn: while the cap is held by
/// slow connections a further request is not served, and it is served
/// once they are gone.
#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    let app = TestApp::with_config(|c| {
        c.limits.http.max_connections = 4;
        c.limits.http.header_read_timeout = Duration::from_secs(120);
    })
    .await;
    let slow = partial_heads(app.server.addr, 4).await;
    let mut extra = TcpStream::connect(app.server.addr).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let early = timeout(Duration::from_secs(1), extra.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a fifth connection was served beyond the cap of 4"
    );
    drop(slow);
    let n = timeout(BOUND, extra.read(&mut buf))
        .await
        .expect("served once the slow connections are gone")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    healthz(&app).await;
}

/// A kept-alive connection that stays silent is closed after the idle
/// timeout.
#[tokio::test]
async fn idle_connections_are_closed() {
    // The header-read timer also runs between requests; set far above the
    // idle timeout, it cannot be what closes the connection.
    let app = TestApp::with_config(|c| {
        c.limits.http.idle_timeout = Duration::from_millis(300);
        c.limits.http.header_read_timeout = Duration::from_secs(120);
    })
    .await;
    let mut stream = TcpStream::connect(app.server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    closed_by_server(stream, CLOSED_WITHIN).await;
}

/// An upload trickled slower than the minimum rate is cut with 408.
#[tokio::test]
async fn a_trickled_upload_is_cut() {
    let app = TestApp::with_config(|c| {
        c.limits.http.min_upload_bytes_per_sec = 10_000;
        c.limits.http.upload_rate_window = Duration::from_millis(300);
    })
    .await;
    let head = format!(
        "POST /api/installhub/packages/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XB\r\nContent-Length: 1000000\r\n\r\n--XB\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.zip\"\r\n\r\n",
        app.token
    );
    let mut stream = TcpStream::connect(app.server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        loop {
            if writer.write_all(b"PK").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let answer = timeout(BOUND, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
            if let Some(answer) = parse(&data) {
                return Some(answer);
            }
        }
    })
    .await
    .expect("the trickled upload is cut");
    trickle.abort();
    let (status, body) = answer.expect("an answer");
    assert_envelope(status, &body, 408, "RequestTimeout");
    healthz(&app).await;
}

/// SECURITY.md 28: request heads over the limits get the envelope, whether
/// our middleware or hyper itself refuses them.
#[tokio::test]
async fn oversized_request_heads_get_the_envelope() {
    let app = TestApp::new().await;
    let addr = app.server.addr;

    // Over hyper's hard-coded 65,534-byte URI limit.
    let long = "a".repeat(70 * 1024);
    let (status, body) = raw(
        addr,
        format!("GET /{long} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
    )
    .await;
    assert_envelope(status, &body, 414, "UriTooLong");

    // Over our limit, under hyper's.
    let long = "a".repeat(10 * 1024);
    let (status, body) = raw(
        addr,
        format!("GET /healthz?{long} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
    )
    .await;
    assert_envelope(status, &body, 414, "UriTooLong");
    assert!(
        body["message"].as_str().unwrap().contains("8192"),
        "{body:#}"
    );

    // 600 KB of headers.
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..600 {
        request.extend_from_slice(format!("X-Big-{i}: {}\r\n", "b".repeat(1000)).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let (status, body) = raw(addr, request).await;
    assert_envelope(status, &body, 431, "RequestHeaderFieldsTooLarge");

    // 200 small headers.
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        request.extend_from_slice(format!("X-H-{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let (status, body) = raw(addr, request).await;
    assert_envelope(status, &body, 431, "RequestHeaderFieldsTooLarge");

    // 64 KiB of headers: over our limit, under hyper's.
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..16 {
        request.extend_from_slice(format!("X-Mid-{i}: {}\r\n", "m".repeat(4096)).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let (status, body) = raw(addr, request).await;
    assert_envelope(status, &body, 431, "RequestHeaderFieldsTooLarge");
    assert!(
        body["message"].as_str().unwrap().contains("32768"),
        "{body:#}"
    );

    // A request line that is not HTTP.
    let (status, body) = raw(addr, b"NOT HTTP AT ALL\r\n\r\n".to_vec()).await;
    assert_envelope(status, &body, 400, "InvalidRequestBody");

    // 404 and 405 below the handlers are the envelope too.
    let (status, body) = raw(
        addr,
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert_envelope(status, &body, 404, "NotFound");
    let (status, body) = raw(
        addr,
        b"DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert_envelope(status, &body, 405, "MethodNotAllowed");

    healthz(&app).await;
}
