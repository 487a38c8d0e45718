//! `GET /api/live`: the WebSocket behind the webcam page. The browser sends each frame as a
//! binary message (JPEG or PNG bytes); the server answers each with one [`LiveResult`] as
//! a text message, in order. A client that keeps one or two frames in flight never builds
//! a queue: frames are analysed as fast as they come, never faster.

use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::AppState;

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

/// Upgrades the connection; messages over the upload limit close it.
pub(crate) async fn upgrade(State(state): State<AppState>, socket: WebSocketUpgrade) -> Response {
    let limit = state.config.max_upload_bytes;
    socket
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| answer_frames(socket, state))
}

/// Answers every binary frame with its analysis until the client leaves.
async fn answer_frames(mut socket: WebSocket, state: AppState) {
    let mut frame = 0u64;
    while let Some(Ok(message)) = socket.recv().await {
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
                .analyze_bytes(bytes, format!("frame {frame}"))
                .await
                .map_err(|e| e.message)
        };
        let (analysis, error) = match outcome {
            Ok(analysis) => (Some(analysis), None),
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
        if socket.send(Message::Text(text.into())).await.is_err() {
            break;
        }
    }
}
