//! Load test for `POST /api/analyze` and the live WebSocket, over loopback only.
//!
//! Starts the server in this process on a free 127.0.0.1 port (or targets `--url`), sends a
//! 640×480 JPEG with one face (`fixtures/astronaut.jpg` fitted into a webcam frame) from
//! `--clients` threads until `--requests` are done, and reports requests/s, p50 / p99
//! latency, errors and the process's resident memory along the way. Then streams
//! `--frames` frames over `/api/live` with two in flight, as the webcam page does, and
//! reports frames/s. `docs/API.md` records the figures.
//!
//! With `--soak SECONDS` it runs a soak instead: `--clients` threads for that long, each
//! sending a mix of good photos (7 in 10), damaged files (2 in 10: not an image, a PNG cut
//! off halfway) and uploads over the
//! 10 MB limit (1 in 10); it reports every kind's outcomes, the good requests' latency and
//! the resident memory each minute. Any good request that fails, or any bad one answered
//! other than with its 4xx, fails the run.
//!
//! ```text
//! cargo run --release -p mien-web --example load_test -- --clients 4 --requests 1000
//! cargo run --release -p mien-web --example load_test -- --clients 16 --soak 600
//! ```

#[path = "common/frame.rs"]
mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use clap::Parser;

/// Load-test mien-web on loopback.
#[derive(Debug, Parser)]
struct Args {
    /// A running server (e.g. http://127.0.0.1:8080); by default one is started in-process.
    #[arg(long)]
    url: Option<String>,
    /// The photo to send, fitted into 640×480.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/astronaut.jpg"))]
    photo: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Requests in all.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
    /// Frames to stream over the live WebSocket afterwards (0: skip).
    #[arg(long, default_value_t = 300)]
    frames: u64,
    /// Run a soak of this many seconds with a mix of good, damaged and oversized uploads
    /// instead of the throughput test.
    #[arg(long)]
    soak: Option<u64>,
    /// During the soak, also hold 200 idle connections and run 8 clients trickling
    /// request heads and 8 trickling bodies, byte by byte.
    #[arg(long)]
    abuse: bool,
}

/// Resident memory of this process in MB (Linux), `None` elsewhere. It includes the
/// in-process server; with `--url` it is only the load tester's, so it is not reported.
fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// An HTTP client that returns error statuses as responses.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn start_server() -> Result<SocketAddr, String> {
    let analyzer = mien::Analyzer::new().map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
            let listener = match listener {
                Ok(listener) => listener,
                Err(e) => return tx.send(Err(e.to_string())).unwrap_or(()),
            };
            tx.send(listener.local_addr().map_err(|e| e.to_string()))
                .unwrap_or(());
            let config = mien_web::ServerConfig::default();
            mien_web::serve(listener, analyzer, config, std::future::pending()).await;
        });
    });
    rx.recv().map_err(|e| e.to_string())?
}

/// Posts `body` `requests` times from `clients` threads; returns latencies and errors.
/// With `report_memory`, prints the resident memory after each quarter of the requests.
fn post_load(
    url: &str,
    body: &[u8],
    clients: usize,
    requests: usize,
    report_memory: bool,
) -> (Vec<Duration>, usize) {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(requests));
    let errors = AtomicUsize::new(0);
    let checkpoints = [requests / 4, requests / 2, 3 * requests / 4, requests];
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let agent = agent();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        break;
                    }
                    let started = Instant::now();
                    let ok = agent
                        .post(format!("{url}/api/analyze"))
                        .header("content-type", "image/jpeg")
                        .send(body)
                        .map(|mut r| {
                            let ok = r.status() == 200;
                            let body = r.body_mut().read_to_string().unwrap_or_default();
                            ok && body.contains("\"faces\":[{")
                        })
                        .unwrap_or(false);
                    latencies.lock().expect("no panics").push(started.elapsed());
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    if report_memory
                        && checkpoints.contains(&(n + 1))
                        && let Some(mb) = resident_mb()
                    {
                        println!("  after {:>5} requests: resident memory {mb:.0} MB", n + 1);
                    }
                }
            });
        }
    });
    (
        latencies.into_inner().expect("no panics"),
        errors.into_inner(),
    )
}

/// Streams `frames` frames over `/api/live` with two in flight; returns frames per second.
fn live_load(url: &str, frame: &[u8], frames: u64) -> Result<f64, String> {
    use tungstenite::Message;
    let ws = url.replacen("http://", "ws://", 1);
    let (mut socket, _) =
        tungstenite::connect(format!("{ws}/api/live")).map_err(|e| e.to_string())?;
    let send = |socket: &mut tungstenite::WebSocket<_>| {
        socket
            .send(Message::binary(frame.to_vec()))
            .map_err(|e| e.to_string())
    };
    let started = Instant::now();
    send(&mut socket)?;
    send(&mut socket)?;
    let (mut answered, mut sent, mut failed) = (0u64, 2u64, 0u64);
    while answered < frames {
        match socket.read().map_err(|e| e.to_string())? {
            Message::Text(text) => {
                answered += 1;
                let result: mien_web::LiveResult =
                    serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if result.analysis.is_none_or(|a| a.faces.len() != 1) {
                    failed += 1;
                }
                if sent < frames {
                    send(&mut socket)?;
                    sent += 1;
                }
            }
            _ => continue,
        }
    }
    let fps = frames as f64 / started.elapsed().as_secs_f64();
    socket.close(None).ok();
    if failed > 0 {
        return Err(format!("{failed} of {frames} frames did not give one face"));
    }
    Ok(fps)
}

/// What a soak client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upload {
    Good,
    Damaged,
    Oversized,
}

impl Upload {
    /// The `n`th request's kind: 7 in 10 good, 2 damaged, 1 oversized.
    fn nth(n: usize) -> Self {
        match n % 10 {
            7 | 8 => Self::Damaged,
            9 => Self::Oversized,
            _ => Self::Good,
        }
    }
}

/// Outcomes of one kind of upload during a soak.
#[derive(Debug, Default)]
struct Outcomes {
    /// Answered as expected: 200 with a face, a 4xx for damaged files, 413 for oversized.
    expected: usize,
    /// The server closed the connection while an oversized body was still being sent:
    /// refused before it was read, also as expected.
    cut_off: usize,
    /// Anything else.
    unexpected: Vec<String>,
    latencies: Vec<Duration>,
}

/// Sends the soak's mix from `clients` threads for `seconds`, printing the resident memory
/// each minute; returns the outcomes of good, damaged and oversized uploads.
fn soak(url: &str, good: &[u8], clients: usize, seconds: u64, abuse: bool) -> [Outcomes; 3] {
    // Not an image (the photo's signature wiped), and a PNG cut off halfway.
    let mut unknown = good.to_vec();
    unknown[..4].fill(0);
    let png = png_of(good);
    let truncated = png[..png.len() / 2].to_vec();
    let oversized = vec![0u8; 11 * 1024 * 1024];
    let outcomes: [Mutex<Outcomes>; 3] = Default::default();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    std::thread::scope(|scope| {
        if abuse {
            let address = url.trim_start_matches("http://");
            scope.spawn(|| hold_idle_connections(address, 200, deadline));
            for trickled in 0..16 {
                scope.spawn(move || trickle(address, trickled % 2 == 1, deadline));
            }
        }
        scope.spawn(|| {
            let mut minute = 0;
            while Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(250));
                let elapsed = started.elapsed().as_secs() / 60;
                if elapsed > minute {
                    minute = elapsed;
                    if let Some(mb) = resident_mb() {
                        let done = next.load(Ordering::Relaxed);
                        println!(
                            "  minute {minute:>2}: {done:>6} requests, resident memory {mb:.0} MB"
                        );
                    }
                }
            }
        });
        for _ in 0..clients {
            scope.spawn(|| {
                let agent = agent();
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let kind = Upload::nth(n);
                    let body = match kind {
                        Upload::Good => good,
                        Upload::Damaged if n.is_multiple_of(2) => &unknown[..],
                        Upload::Damaged => &truncated[..],
                        Upload::Oversized => &oversized[..],
                    };
                    let sent = Instant::now();
                    let reply = agent
                        .post(format!("{url}/api/analyze"))
                        .header("content-type", "image/jpeg")
                        .send(body)
                        .map(|mut r| {
                            let text = r.body_mut().read_to_string().unwrap_or_default();
                            (r.status().as_u16(), text)
                        });
                    let took = sent.elapsed();
                    let mut outcome = outcomes[kind as usize].lock().expect("no panics");
                    match (kind, reply) {
                        (Upload::Good, Ok((200, text))) if text.contains("\"faces\":[{") => {
                            outcome.expected += 1;
                            outcome.latencies.push(took);
                        }
                        (Upload::Damaged, Ok((status, _))) if (400..500).contains(&status) => {
                            outcome.expected += 1
                        }
                        (Upload::Oversized, Ok((413, _))) => outcome.expected += 1,
                        (Upload::Oversized, Err(ureq::Error::Io(_))) => outcome.cut_off += 1,
                        (_, other) => outcome.unexpected.push(format!("{other:?}")),
                    }
                }
            });
        }
    });
    outcomes.map(|o| o.into_inner().expect("no panics"))
}

/// Keeps `count` connections to `address` open without sending a byte until `deadline`,
/// opening new ones as the server closes them.
fn hold_idle_connections(address: &str, count: usize, deadline: Instant) {
    let mut idle: Vec<(TcpStream, Instant)> = Vec::new();
    while Instant::now() < deadline {
        // The server closes an idle connection at its header deadline (10 s by default).
        idle.retain(|(_, opened)| opened.elapsed() < Duration::from_secs(9));
        while idle.len() < count {
            match TcpStream::connect(address) {
                Ok(stream) => idle.push((stream, Instant::now())),
                Err(_) => break,
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Sends requests one byte every 100 ms until `deadline`: heads, or (`body`) a complete
/// head and then a 1 MB body.
fn trickle(address: &str, body: bool, deadline: Instant) {
    let head =
        format!("POST /api/analyze HTTP/1.1\r\nhost: {address}\r\ncontent-length: 1048576\r\n\r\n");
    while Instant::now() < deadline {
        let Ok(mut stream) = TcpStream::connect(address) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let trickled: &[u8] = if body {
            if stream.write_all(head.as_bytes()).is_err() {
                continue;
            }
            &[0u8; 1024]
        } else {
            head.as_bytes()
        };
        for byte in trickled {
            if Instant::now() >= deadline || stream.write_all(std::slice::from_ref(byte)).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `jpeg` re-encoded as PNG.
fn png_of(jpeg: &[u8]) -> Vec<u8> {
    let mut png = Vec::new();
    if let Ok(image) = image::load_from_memory(jpeg) {
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .ok();
    }
    png
}

fn run_soak(
    url: &str,
    good: &[u8],
    clients: usize,
    seconds: u64,
    abuse: bool,
) -> Result<(), String> {
    println!(
        "soak {url}/api/analyze: {clients} clients for {seconds} s; 7 in 10 good (640×480 \
         JPEG), 2 damaged (not an image; a PNG cut off halfway), 1 over the limit (11 MB)"
    );
    if abuse {
        println!("  meanwhile: 200 idle connections, 8 heads and 8 bodies trickled byte by byte");
    }
    post_load(url, good, clients, 4 * clients, false);
    if let Some(mb) = resident_mb() {
        println!("  start (after warm-up): resident memory {mb:.0} MB");
    }
    let [mut good, damaged, oversized] = soak(url, good, clients, seconds, abuse);
    if let Some(mb) = resident_mb() {
        println!("  end: resident memory {mb:.0} MB");
    }
    good.latencies.sort();
    if !good.latencies.is_empty() {
        println!(
            "  good: {} answered, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed",
            good.expected,
            quantile(&good.latencies, 0.5).as_secs_f64() * 1e3,
            quantile(&good.latencies, 0.99).as_secs_f64() * 1e3,
            good.latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            good.unexpected.len()
        );
    }
    println!(
        "  damaged: {} got their 4xx, {} otherwise",
        damaged.expected,
        damaged.unexpected.len()
    );
    println!(
        "  oversized: {} got 413, {} cut off while sending, {} otherwise",
        oversized.expected,
        oversized.cut_off,
        oversized.unexpected.len()
    );
    let unexpected: Vec<_> = [good, damaged, oversized]
        .into_iter()
        .flat_map(|o| o.unexpected)
        .collect();
    match unexpected.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} requests were not answered as expected; the first: {first}",
            unexpected.len()
        )),
    }
}

fn run(args: &Args) -> Result<(), String> {
    let photo = mien::open_image(&args.photo).map_err(|e| e.to_string())?;
    let mut jpeg = Vec::new();
    common::webcam_frame(&photo)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .map_err(|e| e.to_string())?;
    let url = match &args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", start_server()?),
    };
    if let Some(seconds) = args.soak {
        return run_soak(&url, &jpeg, args.clients.max(1), seconds, args.abuse);
    }
    let in_process = args.url.is_none();
    let requests = args.requests as usize;
    println!(
        "POST {url}/api/analyze: 640×480 JPEG ({} KB), {} clients, {} requests",
        jpeg.len() / 1024,
        args.clients,
        requests
    );
    // Warm-up: first-call allocations are not the steady state.
    post_load(&url, &jpeg, args.clients, 4 * args.clients, false);
    if let Some(mb) = resident_mb().filter(|_| in_process) {
        println!("  after warm-up: resident memory {mb:.0} MB");
    }
    let started = Instant::now();
    let (mut latencies, errors) = post_load(&url, &jpeg, args.clients.max(1), requests, in_process);
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "  {:.1} requests/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {errors} errors",
        latencies.len() as f64 / elapsed,
        quantile(&latencies, 0.5).as_secs_f64() * 1e3,
        quantile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
    if args.frames > 0 {
        let fps = live_load(&url, &jpeg, args.frames)?;
        println!(
            "live WebSocket: {} frames, {fps:.1} frames/s (two in flight)",
            args.frames
        );
    }
    if errors > 0 {
        return Err(format!("{errors} requests failed"));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&values, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&values, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&values[..1], 0.99), Duration::from_millis(1));
    }
}
