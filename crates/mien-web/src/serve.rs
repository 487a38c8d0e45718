//! Serving the application over TCP with the limits a server facing the open network needs:
//! a bound on open connections, a deadline for each request's headers (which also closes
//! idle keep-alive connections), and a graceful stop.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::ServerConfig;

/// What a connection over [`ServerConfig::max_connections`] is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 75\r\n\r\n\
{\"error\":\"the server has too many open connections: try again in a moment\"}";

/// How long open requests may take to finish once `shutdown` has completed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `analyzer` (the pages, API and WebSocket of [`crate::router`]) on `listener` until
/// `shutdown` completes, then lets open requests finish (at most 10 s).
///
/// Beyond the router's own limits (upload size, body deadline, memory for bodies, live
/// sockets), connections over [`ServerConfig::max_connections`] get a 503 and are closed,
/// and a connection that has not sent a complete request head within
/// [`ServerConfig::header_timeout`] (a slow client, or an idle keep-alive connection) is
/// closed. Errors accepting a connection (such as running out of file descriptors) are
/// waited out, not returned.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let analyzer = mien::Analyzer::new()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let config = mien_web::ServerConfig::default();
/// mien_web::serve(listener, analyzer, config, async {
///     tokio::signal::ctrl_c().await.ok();
/// })
/// .await;
/// # Ok(()) }
/// ```
pub async fn serve(
    listener: TcpListener,
    analyzer: mien::Analyzer,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let app = crate::router(analyzer, config);
    let open = Arc::new(Semaphore::new(config.max_connections.max(1)));
    // Dropping `stop` asks every connection to finish its request and close; `finished`
    // closes when the last connection's receiver is gone.
    let (stop, stopping) = watch::channel(());
    let (finished, running) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    wait_out(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(turn_away(stream));
            continue;
        };
        stream.set_nodelay(true).ok();
        let io = TokioIo::new(Counted {
            stream,
            _permit: permit,
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .serve_connection(io, TowerToHyperService::new(app.clone()))
            .with_upgrades();
        let (mut stopping, running) = (stopping.clone(), running.clone());
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            // A connection's errors are its client's business (a reset, a timeout).
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopping.changed() => connection.as_mut().graceful_shutdown(),
            }
            connection.await.ok();
            drop(running);
        });
    }
    drop((listener, stop, running));
    tokio::time::timeout(SHUTDOWN_GRACE, finished.closed())
        .await
        .ok();
}

/// Waits after a failed `accept`: the listener stays usable, and out of file descriptors
/// or memory, retrying at once would spin.
async fn wait_out(error: &io::Error) {
    let transient = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    );
    if !transient {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Tells a connection over the limit to come back later, without waiting on it long.
async fn turn_away(mut stream: TcpStream) {
    let reply = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(Duration::from_secs(1), reply)
        .await
        .ok();
}

/// A connection holding one of the server's connection permits until it is dropped — also
/// after an upgrade to a WebSocket, which takes the stream out of the HTTP connection.
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_reply_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("try again"));
    }
}
