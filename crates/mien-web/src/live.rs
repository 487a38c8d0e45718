//! `GET /api/live`: the WebSocket behind the webcam page. The browser sends each frame as a
//! binary message (JPEG or PNG bytes); the server answers each with one [`LiveResult`] as
//! a text message, in order. A client that keeps one or two frames in flight never builds
//! a queue: frames are analysed as fast as they come, never faster.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

/// The server's answer to one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResult {
    /// The frame's number on this connection, from 1.
    pub frame: u64,
    /// What the analyzer found; `None` when the frame failed.
    pub analysis: Option<mien::Analysis>,
    /// Why the frame failed (not an image, a text message); the connection stays open.
    pub error: Option<String>,
    /// Milliseconds the server spent decoding and analysing the frame.
    pub server_ms: f32,
}

/// Upgrades the connection; a message over the upload limit closes it with code 1009.
///
/// Browsers send an `Origin` with every WebSocket; one naming another site is refused, so a
/// web page elsewhere cannot drive this server through its visitors' browsers.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    socket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let socket = socket.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            format!(
                "/api/live is a WebSocket: connect with ws://…/api/live ({})",
                rejection.body_text()
            ),
        )
    })?;
    if !same_origin(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-origin WebSocket refused: open the page from this server",
        ));
    }
    let Ok(permit) = state.live_permits.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the server already streams to {} webcams: try again later, or start it \
                 with more live sockets",
                state.config.max_live_sockets
            ),
        ));
    };
    let limit = state.config.max_upload_bytes;
    Ok(socket
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            answer_frames(socket, state).await;
            drop(permit);
        }))
}

/// True without an `Origin` header (programs) or when its host is the `Host` the request
/// was sent to (the server's own pages).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host.trim_end_matches('/'));
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Answers every binary frame with its analysis until the client leaves or stays silent
/// longer than `live_idle_timeout`.
async fn answer_frames(mut socket: WebSocket, state: AppState) {
    let mut frame = 0u64;
    let idle = state.config.live_idle_timeout;
    loop {
        let Ok(received) = tokio::time::timeout(idle, socket.recv()).await else {
            let reason = format!("no frame for {} s", idle.as_secs_f64());
            close(&mut socket, close_code::AWAY, &reason).await;
            break;
        };
        let Some(received) = received else {
            break;
        };
        let message = match received {
            Ok(message) => message,
            Err(error) => {
                close_after(&mut socket, &error.to_string()).await;
                break;
            }
        };
        let bytes = match message {
            Message::Binary(bytes) => bytes,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Text(_) => Default::default(),
        };
        frame += 1;
        let started = Instant::now();
        let outcome = if bytes.is_empty() {
            Err("send each frame as a binary message holding JPEG or PNG bytes".to_owned())
        } else {
            state
                .analyze_bytes(bytes, format!("frame {frame}"), false)
                .await
                .map_err(|e| e.message)
        };
        let (analysis, error) = match outcome {
            Ok((analysis, _)) => (Some(analysis), None),
            Err(message) => (None, Some(message)),
        };
        let result = LiveResult {
            frame,
            analysis,
            error,
            server_ms: (started.elapsed().as_secs_f64() * 1e3) as f32,
        };
        let Ok(text) = serde_json::to_string(&result) else {
            break;
        };
        // A client that stops reading is dropped like one that stops sending.
        let sent = tokio::time::timeout(idle, socket.send(Message::Text(text.into()))).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
}

/// Closes the socket after a read error, saying why: code 1009 for a message over the
/// limit, 1002 for anything else the protocol layer refused.
async fn close_after(socket: &mut WebSocket, error: &str) {
    let code = if error.contains("too long") {
        close_code::SIZE
    } else {
        close_code::PROTOCOL
    };
    close(socket, code, error).await;
}

/// Sends a close frame with `code` and `reason` (cut to the 123 bytes a reason may hold).
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_owned();
    while reason.len() > 123 {
        reason.pop();
    }
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let send = socket.send(Message::Close(Some(frame)));
    tokio::time::timeout(Duration::from_secs(5), send)
        .await
        .ok();
}
