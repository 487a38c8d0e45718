//! The pages, scripts and styles, compiled into the binary: nothing to build or deploy
//! beside it.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};

use crate::ApiError;

/// `GET /`: the upload page.
pub(crate) async fn upload_page() -> Html<&'static str> {
    Html(include_str!("../assets/index.html"))
}

/// `GET /live`: the webcam page.
pub(crate) async fn live_page() -> Html<&'static str> {
    Html(include_str!("../assets/live.html"))
}

/// An asset by file name, with its content type.
fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "app.css" => ("text/css; charset=utf-8", include_str!("../assets/app.css")),
        "mien.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../assets/mien.js"),
        ),
        "upload.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../assets/upload.js"),
        ),
        "live.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../assets/live.js"),
        ),
        _ => return None,
    })
}

/// `GET /assets/{name}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (content_type, body) = lookup(&name).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("no asset named {name}"),
        )
    })?;
    Ok((
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response())
}
