//! Reading an upload into memory within the size limit, the server's memory budget and the
//! body deadline.

use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::{ApiError, AppState};

/// An upload read whole, holding its share of the upload budget until it is dropped.
pub(crate) struct Upload {
    pub(crate) bytes: Bytes,
    _budget: OwnedSemaphorePermit,
}

impl Upload {
    /// The same share of the budget for a part of the bytes (a multipart field).
    pub(crate) fn with_bytes(self, bytes: Bytes) -> Self {
        Self { bytes, ..self }
    }
}

impl AppState {
    /// Reads `body` whole, taking a share of the upload budget for each chunk as it
    /// arrives. `declared` is the request's `Content-Length`, if any: a body declared over
    /// the limit is refused before a byte is read.
    ///
    /// # Errors
    /// 413 over `max_upload_bytes`, 408 when the body takes longer than `body_timeout`,
    /// 400 when the client hangs up or the framing is broken.
    pub(crate) async fn read_upload_body(
        &self,
        body: Body,
        declared: Option<u64>,
    ) -> Result<Upload, ApiError> {
        let limit = self.config.max_upload_bytes;
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(ApiError::too_large(limit));
        }
        let deadline = self.config.body_timeout;
        tokio::time::timeout(
            deadline,
            read_within(body, declared, limit, &self.upload_budget),
        )
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the upload did not arrive within {} s: send it faster, or start the \
                         server with a longer body timeout",
                    deadline.as_secs_f64()
                ),
            )
        })?
    }
}

/// Reads `body` whole. Each chunk takes its bytes from `budget` as it arrives, so a client
/// trickling bytes holds only what it sent. When the budget runs short, the body gives back
/// what it holds and waits for all it needs (its declared length, if larger) at once:
/// waiting while holding a part could leave every partial upload waiting on the others.
async fn read_within(
    mut body: Body,
    declared: Option<u64>,
    limit: usize,
    budget: &Arc<Semaphore>,
) -> Result<Upload, ApiError> {
    let permits = |bytes: usize| u32::try_from(bytes).map_err(|_| ApiError::too_large(limit));
    let closed = |_| ApiError::shutting_down();
    let mut held = budget.clone().acquire_many_owned(0).await.map_err(closed)?;
    let mut received = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the upload was cut off: {e}"),
            )
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        let total = received.len() + chunk.len();
        if total > limit {
            return Err(ApiError::too_large(limit));
        }
        let short = total.saturating_sub(held.num_permits());
        if short > 0 {
            match budget.clone().try_acquire_many_owned(permits(short)?) {
                Ok(more) => held.merge(more),
                Err(TryAcquireError::Closed) => return Err(ApiError::shutting_down()),
                Err(TryAcquireError::NoPermits) => {
                    let whole = declared.map_or(total, |d| (d as usize).max(total));
                    drop(held);
                    held = budget
                        .clone()
                        .acquire_many_owned(permits(whole.min(limit))?)
                        .await
                        .map_err(closed)?;
                }
            }
        }
        received.extend_from_slice(&chunk);
    }
    Ok(Upload {
        bytes: received.into(),
        _budget: held,
    })
}
