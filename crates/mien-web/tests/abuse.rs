//! The server against clients that misbehave, over loopback: idle and slow connections,
//! uploads cut off halfway, too many connections and sockets. Each test bounds its own time
//! with short server deadlines; none waits longer than a few seconds when the server
//! behaves.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mien_web::ServerConfig;

mod common;

use common::{SAMPLE, start};

/// Deadlines short enough for tests: half a second for a head, two for a body.
fn quick() -> ServerConfig {
    ServerConfig {
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_secs(2),
        live_idle_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection (a reset counts as closed);
/// `None` when it neither answers nor closes within the read timeout.
fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&received).into_owned())
}

/// A complete `POST /api/analyze` of `body`, answered on a fresh connection: the status and
/// the time it took.
fn analyze(address: SocketAddr, body: &[u8]) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = connect(address);
    let head = format!(
        "POST /api/analyze HTTP/1.1\r\nhost: {address}\r\ncontent-type: image/jpeg\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let reply = read_until_closed(&mut stream).expect("an answer");
    (status(&reply), started.elapsed())
}

fn status(reply: &str) -> u16 {
    reply
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Writes `bytes` one at a time, `gap` apart, until done, the server closes or
/// `keep_going` says stop.
fn trickle(stream: &mut TcpStream, bytes: &[u8], gap: Duration, keep_going: impl Fn() -> bool) {
    for byte in bytes {
        if !keep_going() || stream.write_all(std::slice::from_ref(byte)).is_err() {
            return;
        }
        std::thread::sleep(gap);
    }
}

#[test]
fn an_idle_connection_is_closed_at_the_header_deadline() {
    let address = start(quick());
    let mut idle = connect(address);
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut idle).as_deref(), Some(""));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn a_keep_alive_connection_is_closed_once_idle_for_the_header_deadline() {
    let address = start(quick());
    let mut stream = connect(address);
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let reply = read_until_closed(&mut stream).expect("answered, then closed");
    assert_eq!(status(&reply), 200, "{reply}");
}

#[test]
fn headers_trickled_byte_by_byte_are_cut_off_at_the_deadline() {
    let address = start(quick());
    let mut slow = connect(address);
    let head = format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\nx-padding: 0123456789\r\n\r\n");
    let started = Instant::now();
    // About 2.6 s of trickling against a 0.5 s deadline.
    let mut writer = slow.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        trickle(
            &mut writer,
            head.as_bytes(),
            Duration::from_millis(40),
            || true,
        );
    });
    let reply = read_until_closed(&mut slow).expect("closed by the server");
    let waited = started.elapsed();
    assert!(!reply.contains("200 OK"), "{reply}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    sender.join().unwrap();
}

#[test]
fn a_body_trickled_byte_by_byte_gets_408_at_the_deadline() {
    let address = start(quick());
    let mut slow = connect(address);
    let head = format!(
        "POST /api/analyze HTTP/1.1\r\nhost: {address}\r\ncontent-type: image/jpeg\r\n\
         content-length: 1000\r\n\r\n"
    );
    slow.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut writer = slow.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        trickle(
            &mut writer,
            &[0xFF; 1000],
            Duration::from_millis(20),
            || true,
        );
    });
    let reply = read_until_closed(&mut slow).expect("an answer");
    let waited = started.elapsed();
    assert_eq!(status(&reply), 408, "{reply}");
    assert!(reply.contains("did not arrive within 2 s"), "{reply}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    sender.join().unwrap();
}

#[test]
fn clients_that_hang_up_mid_upload_give_their_memory_back() {
    // 512 KB for bodies in all; twenty cut-off uploads of 100 KB would hold 2 MB if kept.
    let address = start(ServerConfig {
        max_upload_bytes: 128 * 1024,
        max_concurrent_analyses: 1,
        body_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    });
    for _ in 0..20 {
        let mut quitter = connect(address);
        let head = format!(
            "POST /api/analyze HTTP/1.1\r\nhost: {address}\r\ncontent-length: 120000\r\n\r\n"
        );
        quitter.write_all(head.as_bytes()).unwrap();
        quitter.write_all(&[0u8; 100_000]).unwrap();
        drop(quitter);
    }
    let photo = std::fs::read(SAMPLE).unwrap();
    let (status, took) = analyze(address, &photo);
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(4), "waited for memory: {took:?}");
}

#[test]
fn connections_over_the_limit_get_503_until_one_closes() {
    let address = start(ServerConfig {
        max_connections: 4,
        ..ServerConfig::default()
    });
    let mut held: Vec<TcpStream> = (0..4).map(|_| connect(address)).collect();
    // Each is accepted before the next arrives.
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = connect(address);
    let reply = read_until_closed(&mut extra).expect("turned away at once");
    assert_eq!(status(&reply), 503, "{reply}");
    assert!(reply.contains("too many open connections"), "{reply}");

    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut stream = connect(address);
        let request =
            format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let reply = read_until_closed(&mut stream).unwrap_or_default();
        if status(&reply) == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no slot freed: {reply}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn live_sockets_over_the_limit_get_503_and_silent_ones_are_closed() {
    use tungstenite::Message;
    use tungstenite::protocol::frame::coding::CloseCode;
    let address = start(ServerConfig {
        max_live_sockets: 1,
        ..quick()
    });
    let url = format!("ws://{address}/api/live");
    let (mut first, _) = tungstenite::connect(&url).unwrap();
    match tungstenite::connect(&url) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|(_, r)| r.status())),
    }
    // The first stays silent past the idle deadline.
    let close = loop {
        match first.read() {
            Ok(Message::Close(frame)) => break frame.expect("a reason"),
            Ok(_) => continue,
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    };
    assert_eq!(close.code, CloseCode::Away);
    assert!(
        close.reason.contains("no frame for 0.5 s"),
        "{}",
        close.reason
    );
    drop(first);
    // Its slot is free again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tungstenite::connect(&url).is_err() {
        assert!(Instant::now() < deadline, "the live slot stayed taken");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn healthy_clients_are_answered_while_others_abuse_the_server() {
    let address = start(ServerConfig {
        max_upload_bytes: 1024 * 1024,
        max_concurrent_analyses: 2,
        header_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        ..ServerConfig::default()
    });
    const GAP: Duration = Duration::from_millis(100);
    let photo = std::fs::read(SAMPLE).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let running = || !stop.load(std::sync::atomic::Ordering::Relaxed);
    std::thread::scope(|scope| {
        // 100 connections that never send a byte.
        let idle: Vec<TcpStream> = (0..100).map(|_| connect(address)).collect();
        // Heads and bodies trickled (each body claims the whole 1 MB limit), and uploads
        // cut off halfway, again and again.
        for kind in 0..12 {
            scope.spawn(move || {
                while running() {
                    let mut stream = connect(address);
                    let head = format!(
                        "POST /api/analyze HTTP/1.1\r\nhost: {address}\r\n\
                         content-length: 1048576\r\n\r\n"
                    );
                    match kind % 3 {
                        0 => trickle(&mut stream, head.as_bytes(), GAP, running),
                        1 => {
                            stream.write_all(head.as_bytes()).ok();
                            trickle(&mut stream, &[0u8; 100], GAP, running);
                        }
                        _ => {
                            stream.write_all(head.as_bytes()).ok();
                            stream.write_all(&[0u8; 300_000]).ok();
                            // A few a second each: abuse, not a connection flood (which
                            // the connection limit answers with 503s, healthy clients'
                            // requests included).
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        let healthy: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| (0..5).map(|_| analyze(address, &photo)).collect::<Vec<_>>()))
            .collect();
        let replies: Vec<(u16, Duration)> = healthy
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(idle);
        assert!(
            replies.iter().all(|&(status, _)| status == 200),
            "{replies:?}"
        );
        // Far below the 30 s deadlines the abusers run into: nobody waited on them.
        let slowest = replies.iter().map(|&(_, took)| took).max().unwrap();
        assert!(slowest < Duration::from_secs(10), "{replies:?}");
    });
}
