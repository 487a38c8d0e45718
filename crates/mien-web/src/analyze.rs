//! `POST /api/analyze[?landmarks=true]` and `GET /healthz`.

use std::time::Instant;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::body::Upload;
use crate::{ApiError, AppState};

/// The `Server-Timing` header: browsers' developer tools show the analysis time from it.
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

impl AppState {
    /// Runs `work` with the analyzer on a blocking thread, once an analysis permit is free.
    ///
    /// The permit moves into the blocking task, so it stays taken until the work is done
    /// even when the client hangs up and this future is dropped.
    pub(crate) async fn run_analysis<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mien::Analyzer) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .analysis_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::shutting_down())?;
        let analyzer = self.analyzer.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&analyzer)
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the analysis stopped unexpectedly: {e}"),
            )
        })?
    }

    /// Decodes `bytes` and analyses the photo ([`AppState::run_analysis`]), with each
    /// face's mesh when `landmarks`; returns the analysis and the milliseconds the decode
    /// and analysis took.
    pub(crate) async fn analyze_bytes(
        &self,
        bytes: Bytes,
        name: String,
        landmarks: bool,
    ) -> Result<(mien::Analysis, f64), ApiError> {
        self.run_analysis(move |analyzer| {
            let started = Instant::now();
            let photo = mien_core::decode_image(&bytes, &name)
                .map_err(|e| ApiError::from_analysis(e.into()))?;
            let mut analysis = analyzer.analyze(&photo).map_err(ApiError::from_analysis)?;
            if landmarks {
                let meshes = analyzer
                    .landmarks(&photo, &analysis)
                    .map_err(ApiError::from_analysis)?;
                for (face, mesh) in analysis.faces.iter_mut().zip(meshes) {
                    face.landmarks = Some(mesh);
                }
            }
            Ok((analysis, started.elapsed().as_secs_f64() * 1e3))
        })
        .await
    }
}

/// The query string of `POST /api/analyze`.
#[derive(Debug, Deserialize)]
pub(crate) struct AnalyzeQuery {
    /// Add each face's 468-point mesh; off when left out.
    #[serde(default)]
    landmarks: bool,
}

/// `POST /api/analyze[?landmarks=true]`: the image as the raw body (any content type) or as
/// a multipart form field (`image`, or the first field carrying a file) → the `Analysis` as
/// JSON, with each face's mesh when asked.
pub(crate) async fn analyze(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    // The body is read before the query is judged (see `happier`).
    let uri = request.uri().clone();
    let (name, upload) = read_upload(&state, request).await?;
    let Query(query) = Query::<AnalyzeQuery>::try_from_uri(&uri).map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{}: use ?landmarks=true or ?landmarks=false",
                rejection.body_text()
            ),
        )
    })?;
    if upload.bytes.is_empty() {
        return Err(ApiError::empty_upload("image"));
    }
    // `upload` keeps its share of the memory budget until the analysis is done.
    let (analysis, milliseconds) = state
        .analyze_bytes(upload.bytes.clone(), name, query.landmarks)
        .await?;
    let timing = format!("analyze;dur={milliseconds:.1}");
    let timing = HeaderValue::from_str(&timing).unwrap_or(HeaderValue::from_static("analyze"));
    Ok(([(SERVER_TIMING, timing)], Json(analysis)).into_response())
}

/// The uploaded file's name (for error messages) and bytes. The whole body is read first
/// (bounded in size, memory and time), then a multipart form is parsed from memory.
pub(crate) async fn read_upload(
    state: &AppState,
    request: Request,
) -> Result<(String, Upload), ApiError> {
    let limit = state.config.max_upload_bytes;
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let upload = state.read_upload_body(body, declared).await?;
    let is_multipart = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.get(..19)
                .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"))
        });
    if !is_multipart {
        return Ok(("upload".to_owned(), upload));
    }
    let request = Request::from_parts(parts, Body::from(upload.bytes.clone()));
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| {
            ApiError::new(
                rejection.status(),
                format!("malformed multipart upload: {}", rejection.body_text()),
            )
        })?;
    let form_error = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(limit),
        status => ApiError::new(
            status,
            format!("malformed multipart upload: {}", e.body_text()),
        ),
    };
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        if field.name() == Some("image") || field.file_name().is_some() {
            let name = field.file_name().unwrap_or("upload").to_owned();
            let bytes = field.bytes().await.map_err(form_error)?;
            return Ok((name, upload.with_bytes(bytes)));
        }
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "the multipart form has no file: add the image as the field `image` \
         (curl -F image=@photo.jpg)",
    ))
}

/// What `GET /healthz` says.
#[derive(Debug, Serialize)]
pub(crate) struct Health {
    status: &'static str,
    version: &'static str,
    detector: String,
    labels: mien::LabelSet,
    max_upload_bytes: usize,
}

/// `GET /healthz`: the server is up, with what it runs.
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        detector: state.analyzer.detector_name().to_owned(),
        labels: state.analyzer.label_set(),
        max_upload_bytes: state.config.max_upload_bytes,
    })
}
