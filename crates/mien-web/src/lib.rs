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
//! | `GET /api/live` | the WebSocket behind `/live`: binary image frames in, [`LiveResult`] JSON out |
//! | `GET /healthz` | `{"status": "ok", …}` |
//!
//! Pages, scripts and styles are compiled into the binary. `docs/API.md` documents the API
//! with curl examples.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let analyzer = mien::Analyzer::new()?;
//! let app = mien_web::router(analyzer, mien_web::ServerConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod analyze;
mod assets;
mod error;
mod live;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::Semaphore;

pub use error::ApiError;
pub use live::LiveResult;

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
}

impl ServerConfig {
    /// Upload bodies read into memory at once: enough to keep every analysis slot busy
    /// while the next uploads arrive, and a bound on memory (`× max_upload_bytes`).
    pub fn max_bodies_in_memory(&self) -> usize {
        4 * self.max_concurrent_analyses.max(1)
    }
}

impl Default for ServerConfig {
    /// 10 MB uploads; as many analyses at once as the machine has cores.
    fn default() -> Self {
        Self {
            max_upload_bytes: 10 * 1024 * 1024,
            max_concurrent_analyses: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What every handler shares: one analyzer, and the permits that bound concurrent work.
#[derive(Clone)]
struct AppState {
    analyzer: Arc<mien::Analyzer>,
    /// Decodes and analyses running at once.
    analysis_permits: Arc<Semaphore>,
    /// Upload bodies held in memory at once.
    body_permits: Arc<Semaphore>,
    config: ServerConfig,
}

/// The whole application: pages, assets, API and WebSocket over `analyzer`.
pub fn router(analyzer: mien::Analyzer, config: ServerConfig) -> Router {
    let state = AppState {
        analyzer: Arc::new(analyzer),
        analysis_permits: Arc::new(Semaphore::new(config.max_concurrent_analyses.max(1))),
        body_permits: Arc::new(Semaphore::new(config.max_bodies_in_memory())),
        config,
    };
    Router::new()
        .route("/", get(assets::upload_page))
        .route("/live", get(assets::live_page))
        .route("/assets/{name}", get(assets::asset))
        .route("/healthz", get(analyze::health))
        .route("/api/analyze", post(analyze::analyze))
        .route("/api/live", get(live::upgrade))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_upload_bytes))
        .with_state(state)
}
