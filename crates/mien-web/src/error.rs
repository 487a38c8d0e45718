//! Errors as JSON: every failed API request gets `{"error": "...", "status": N}`.

use axum::Json;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A failed request: the HTTP status and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What was wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 for an empty upload of a `what` ("image", "video").
    pub(crate) fn empty_upload(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the upload is empty: send the {what} file as the request body or as the \
                 multipart field `image`"
            ),
        )
    }

    /// 503: a semaphore was closed because the server is stopping.
    pub(crate) fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    }

    /// 413: the body is over the server's limit.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the upload is larger than this server's limit of {}; send a smaller image \
                 or start the server with a larger --max-upload-mb",
                human_bytes(limit)
            ),
        )
    }

    /// Maps a decoding or analysis failure: undecodable or oversized images are the
    /// client's (422), anything else is the server's (500).
    pub(crate) fn from_analysis(error: mien::AnalyzeError) -> Self {
        use mien::AnalyzeError;
        use mien_core::Error;
        match error {
            AnalyzeError::Core(Error::ImageRead { source, .. }) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the upload is not an image mien can decode (PNG or JPEG): {source}"),
            ),
            AnalyzeError::Core(e @ (Error::ImageTooLarge { .. } | Error::EmptyImage { .. })) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

/// The JSON body of an error response.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.message,
            status: self.status.as_u16(),
        };
        (self.status, Json(body)).into_response()
    }
}

/// 404 for any route the server does not have.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no such page: {}; try / (upload), /live (webcam), POST /api/analyze or /healthz",
            uri.path()
        ),
    )
}

/// 405 for a route used with the wrong method (e.g. `GET /api/analyze`).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let hint = match uri.path() {
        "/api/analyze" | "/api/happier" => "POST an image to it",
        "/api/video" => "POST a video to it",
        "/api/live" => "open it as a WebSocket",
        _ => "use GET",
    };
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}: {hint}", uri.path()),
    )
}

/// `10485760` → `"10 MB"`, `1536` → `"1.5 KB"` (binary units).
pub(crate) fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_people_write_them() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(10 * 1024 * 1024), "10 MB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3 GB");
    }

    #[test]
    fn undecodable_uploads_are_the_clients_fault() {
        let error = mien_core::decode_image(b"not an image", "upload").unwrap_err();
        let api = ApiError::from_analysis(error.into());
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(api.message.contains("not an image"), "{}", api.message);
        let server_side = ApiError::from_analysis(mien::AnalyzeError::NoEmotionHead);
        assert_eq!(server_side.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
