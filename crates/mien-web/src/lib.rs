//! # mien-web
//!
//! mien in the browser, and as a JSON API: a small [axum](https://docs.rs/axum) server over
//! one shared [`mien::Analyzer`].
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | upload page: choose or drop a photo, see it annotated, per-face probability bars, the rating |
//! | `GET /live` | webcam page: frames go to the server over a WebSocket, results are drawn over the video |
//! | `POST /api/analyze` | an image (raw body or multipart) → the [`mien::Analysis`] as JSON |
//! | `POST /api/happier?strength=S` | an image → the photo with every face's smile made stronger (S from −2 to 2; 1 when left out) as a JPEG `data:` URL, with each face's smile before and after |
//! | `POST /api/video` | a video of up to 60 s (needs the `ffmpeg` program) → its faces' tracks, best moments and timelines ([`VideoResult`]) |
//! | `GET /api/live` | the WebSocket behind `/live`: binary image frames in, [`LiveResult`] JSON out |
//! | `GET /healthz` | `{"status": "ok", …}` |
//!
//! Pages, scripts and styles are compiled into the binary. `docs/API.md` documents the API
//! with curl examples.
//!
//! [`serve`] runs the server with every limit of [`ServerConfig`]; [`router`] gives the
//! application alone, to nest in another axum server (which then owns the connection
//! limits: open connections and header deadlines).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let analyzer = mien::Analyzer::new()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! mien_web::serve(listener, analyzer, mien_web::ServerConfig::default(), async {
//!     tokio::signal::ctrl_c().await.ok();
//! })
//! .await;
//! # Ok(()) }
//! ```

mod analyze;
mod assets;
mod body;
mod error;
mod happier;
mod live;
mod serve;
mod video;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::Semaphore;

pub use error::ApiError;
pub use live::LiveResult;
pub use serve::serve;
pub use video::{VideoResult, VideoTrack};

/// Limits of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// The largest request body in bytes (uploads larger get 413; WebSocket frames larger
    /// close the connection with code 1009).
    pub max_upload_bytes: usize,
    /// How many images are decoded and analysed at once; further requests wait their turn.
    /// Bounds memory: each decode may take up to `mien_core::MAX_DECODED_PIXELS` pixels.
    /// At least 1.
    pub max_concurrent_analyses: usize,
    /// Open connections at most (WebSockets included); further ones get a 503 and are
    /// closed. Used by [`serve`].
    pub max_connections: usize,
    /// Open live WebSockets at most; further upgrades get a 503. Each may hold one frame
    /// of up to `max_upload_bytes`.
    pub max_live_sockets: usize,
    /// Time a connection has to send a complete request head; also how long an idle
    /// keep-alive connection stays open. Used by [`serve`].
    pub header_timeout: Duration,
    /// Time a request has to send its whole body; slower uploads get 408.
    pub body_timeout: Duration,
    /// Time a live WebSocket may go without a message before it is closed (code 1001).
    pub live_idle_timeout: Duration,
}

impl ServerConfig {
    /// Bytes of upload bodies held in memory at once, over all requests: enough for four
    /// full-size uploads per analysis slot. A body takes its share as its bytes arrive,
    /// so clients trickling bytes hold only what they sent; when the budget is spent,
    /// reading waits until an analysis frees some.
    pub fn upload_budget_bytes(&self) -> usize {
        4 * self.max_concurrent_analyses.max(1) * self.max_upload_bytes.max(1)
    }
}

impl Default for ServerConfig {
    /// 10 MB uploads; as many analyses at once as the machine has cores; 1,024 connections
    /// and 64 live sockets; 10 s for a request's head, 60 s for its body, 60 s between
    /// live frames.
    fn default() -> Self {
        Self {
            max_upload_bytes: 10 * 1024 * 1024,
            max_concurrent_analyses: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_connections: 1024,
            max_live_sockets: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            live_idle_timeout: Duration::from_secs(60),
        }
    }
}

/// What every handler shares: one analyzer, and the permits that bound concurrent work.
#[derive(Clone)]
struct AppState {
    analyzer: Arc<mien::Analyzer>,
    /// Decodes and analyses running at once.
    analysis_permits: Arc<Semaphore>,
    /// Bytes of upload bodies held in memory at once, one permit a byte.
    upload_budget: Arc<Semaphore>,
    /// Live WebSockets open at once.
    live_permits: Arc<Semaphore>,
    config: ServerConfig,
}

/// The whole application: pages, assets, API and WebSocket over `analyzer`.
pub fn router(analyzer: mien::Analyzer, config: ServerConfig) -> Router {
    let state = AppState {
        analyzer: Arc::new(analyzer),
        analysis_permits: Arc::new(Semaphore::new(config.max_concurrent_analyses.max(1))),
        upload_budget: Arc::new(Semaphore::new(
            config.upload_budget_bytes().min(Semaphore::MAX_PERMITS),
        )),
        live_permits: Arc::new(Semaphore::new(config.max_live_sockets.max(1))),
        config,
    };
    Router::new()
        .route("/", get(assets::upload_page))
        .route("/live", get(assets::live_page))
        .route("/assets/{name}", get(assets::asset))
        .route("/healthz", get(analyze::health))
        .route("/api/analyze", post(analyze::analyze))
        .route("/api/video", post(video::analyze_video))
        .route("/api/happier", post(happier::happier))
        .route("/api/live", get(live::upgrade))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_upload_bytes))
        .with_state(state)
}
