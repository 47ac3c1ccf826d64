//! The HTTP/1 edge: our own accept loop in place of `axum::serve`, because
//! the limits that hold a connection rather than a request live below the
//! router (SECURITY.md 27, 28): a cap on open connections, hyper's
//! header-read timeout, an idle timeout between requests, hyper's own head
//! limits set above the router's, and hyper's bodiless automatic error
//! answers rewritten into our JSON envelope.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::{Buf, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use installhub_domain::{ErrorCode, Failure};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::HttpLimits;

/// How long, and how many bytes, a closing connection keeps reading what
/// the client still sends (see [`EdgeIo::poll_shutdown`]).
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// File handles kept free of connections for the database, bundles and
/// temporary files.
const RESERVED_FILES: u64 = 256;

/// Raises the soft open-file limit to the hard one (600 idle sockets must
/// not run the server out of handles) and returns the soft limit now in
/// force, if the platform has one.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The connection cap in force: the configured one, lowered when the
/// open-file limit would be reached first.
pub fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    let by_files = open_files.map_or(usize::MAX, |limit| {
        usize::try_from(limit.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(usize::MAX)
    });
    configured.clamp(1, by_files.max(1))
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for
/// the connections in flight to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let open_files = raise_open_file_limit();
    let cap = connection_cap(limits.max_connections, open_files);
    tracing::info!(
        max_connections = cap,
        open_file_limit = open_files,
        "connection limits"
    );
    let permits = Arc::new(Semaphore::new(cap));
    // Dropping `signal_tx` tells every connection to finish; each holds a
    // clone of `close_rx` until it has, so `close_tx.closed()` waits for all.
    let (signal_tx, signal_rx) = watch::channel(());
    let (close_tx, close_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        // A connection over the cap waits in the kernel's backlog instead of
        // taking a file handle; the header and idle timeouts free slots.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file handles or a connection reset before it was
                    // accepted: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            router.clone(),
            limits,
            permit,
            signal_rx.clone(),
            close_rx.clone(),
        ));
    }
    drop(listener);
    drop(signal_tx);
    drop(signal_rx);
    drop(close_rx);
    close_tx.closed().await;
    Ok(())
}

/// hyper's read buffer, and so the largest request head it reads before
/// answering 431 itself: at least hyper's default, and well above our own
/// limits so a head over those reaches the router's envelope answer.
fn hyper_buf_size(limits: &HttpLimits) -> usize {
    const HYPER_DEFAULT: usize = 8192 + 4096 * 100;
    (2 * (limits.max_header_bytes + limits.max_uri_bytes) + 8192).max(HYPER_DEFAULT)
}

async fn connection(
    stream: TcpStream,
    router: Router,
    limits: HttpLimits,
    _permit: OwnedSemaphorePermit,
    mut signal: watch::Receiver<()>,
    _close: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let io = TokioIo::new(EdgeIo::new(
        stream,
        limits.idle_timeout,
        Arc::clone(&in_flight),
    ));
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let guard = InFlight::enter(&in_flight);
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await?;
            Ok::<Response, Infallible>(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _guard: guard,
                })
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(hyper_buf_size(&limits))
        .max_headers(limits.max_headers.saturating_mul(2).max(100));
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = signal.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Counts the requests of a connection from the moment their head is read
/// until their response body is sent: the connection is not idle meanwhile.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until hyper
/// has sent (or dropped) it.
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What the connection's writer is doing with hyper's automatic answers.
enum Rewrite {
    /// Passing bytes through, looking for an automatic answer.
    Watching,
    /// Sending our envelope in place of the `claimed` bytes hyper wrote.
    Sending { bytes: Bytes, claimed: usize },
}

/// The socket of one connection, as hyper sees it: it closes an idle
/// connection, and rewrites hyper's bodiless automatic error answers.
struct EdgeIo {
    inner: TcpStream,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    in_flight: Arc<AtomicUsize>,
    rewrite: Rewrite,
    /// Set once the write side is shut: the connection is lingering.
    linger: Option<Pin<Box<Sleep>>>,
    lingered: usize,
}

impl EdgeIo {
    fn new(inner: TcpStream, idle_timeout: Duration, in_flight: Arc<AtomicUsize>) -> Self {
        Self {
            inner,
            idle_timeout,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            in_flight,
            rewrite: Rewrite::Watching,
            linger: None,
            lingered: 0,
        }
    }

    fn touch(&mut self) {
        let deadline = Instant::now() + self.idle_timeout;
        self.idle.as_mut().reset(deadline);
    }
}

impl AsyncRead for EdgeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                // While a request is in flight the handler's own timeouts
                // apply; between requests, silence ends the connection.
                if this.in_flight.load(Ordering::Acquire) == 0
                    && this.idle.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the connection was idle too long",
                    )));
                }
                Poll::Pending
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for EdgeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.rewrite, Rewrite::Watching)
            && let Some(bytes) = automatic_answer(buf)
        {
            this.rewrite = Rewrite::Sending {
                bytes,
                claimed: buf.len(),
            };
        }
        if let Rewrite::Sending { bytes, claimed } = &mut this.rewrite {
            while !bytes.is_empty() {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, bytes))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                bytes.advance(n);
            }
            let claimed = *claimed;
            this.rewrite = Rewrite::Watching;
            this.touch();
            return Poll::Ready(Ok(claimed));
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if written > 0 {
            this.touch();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// A lingering close, as web servers do: when the server closes while
    /// the client is still sending (a refused upload, an oversized head),
    /// closing at once would make the kernel reset the connection, and a
    /// reset can destroy the answer before the client reads it. So the
    /// write side is shut, then what still comes is read and dropped, up to
    /// [`LINGER_BYTES`] or [`LINGER`], before the socket is closed.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut scratch = [0u8; 8192];
        while this.lingered < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => this.lingered += buf.filled().len(),
                Poll::Ready(Err(_)) => break,
                Poll::Pending => {
                    return match this.linger.as_mut().map(|l| l.as_mut().poll(cx)) {
                        Some(Poll::Pending) => Poll::Pending,
                        _ => Poll::Ready(Ok(())),
                    };
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    // Whole writes let `automatic_answer` see hyper's head in one buffer.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// hyper answers a request it cannot parse (a malformed request line, a
/// URI over 65,534 bytes, a head over its read buffer or header count)
/// itself, below any service, with a status line and `content-length: 0`
/// (hyper's `role.rs` `on_error`), and offers no hook to give it a body.
/// This recognizes that head, which no response of ours looks like (every
/// error of ours carries the envelope), and returns the same status with
/// the envelope, written by hand for that reason.
fn automatic_answer(buf: &[u8]) -> Option<Bytes> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let (status, code, message) = match rest.get(..3)? {
        b"400" => (
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequestBody,
            "The request line or headers could not be parsed as HTTP/1.1.",
        ),
        b"414" => (
            StatusCode::URI_TOO_LONG,
            ErrorCode::UriTooLong,
            "The request URI is longer than the server reads.",
        ),
        b"431" => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::RequestHeaderFieldsTooLarge,
            "The request headers are larger, or more numerous, than the server reads.",
        ),
        _ => return None,
    };
    if !buf.ends_with(b"\r\n\r\n") || buf.len() > 1024 {
        return None;
    }
    let head = String::from_utf8_lossy(buf).to_ascii_lowercase();
    if !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let body = serde_json::to_vec(&crate::error::envelope(
        &[Failure::new(code, message)],
        message,
    ))
    .ok()?;
    let reason = status.canonical_reason().unwrap_or("");
    let mut answer = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(Bytes::from(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_automatic_answers_become_envelopes() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 00:00:00 GMT\r\n\r\n";
        let answer = automatic_answer(hyper).expect("rewritten");
        let text = String::from_utf8(answer.to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(
            text.contains("\"error\":\"RequestHeaderFieldsTooLarge\""),
            "{text}"
        );

        // Our own answers carry a body and are left alone.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(automatic_answer(ours).is_none());
        assert!(automatic_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[test]
    fn the_cap_leaves_room_for_files() {
        assert_eq!(connection_cap(1024, Some(1024)), 768);
        assert_eq!(connection_cap(1024, Some(1_048_576)), 1024);
        assert_eq!(connection_cap(1024, None), 1024);
        assert_eq!(connection_cap(0, None), 1);
    }
}
