//! `POST /api/happier?strength=S`: the uploaded photo with every face's smile made stronger
//! (or weaker, S < 0), as a JPEG `data:` URL with each face's smile score before and after.

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::analyze::read_upload;
use crate::video::jpeg_data_url;
use crate::{ApiError, AppState};

/// The query string of `POST /api/happier`.
#[derive(Debug, Deserialize)]
pub(crate) struct HappierQuery {
    /// 1: a natural smile, 2: a broad one, below 0: less happy (−2 to 2); 1 when left out.
    strength: Option<f32>,
}

/// What `POST /api/happier` answers.
#[derive(Debug, Serialize)]
pub(crate) struct HappierAnswer {
    /// The edited photo as a JPEG `data:` URL, upright (EXIF orientation applied).
    image: String,
    /// The photo's size.
    width: u32,
    /// The photo's size.
    height: u32,
    /// The strength applied.
    strength: f32,
    /// Each face's smile score (1–10) before and after, in the order the analysis lists them.
    smiles: Vec<Smile>,
}

/// One face's smile score before and after.
#[derive(Debug, Serialize)]
struct Smile {
    before: f32,
    after: f32,
}

/// `POST /api/happier?strength=S`: the image as the raw body or a multipart field, as
/// `POST /api/analyze` takes it.
pub(crate) async fn happier(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<HappierAnswer>, ApiError> {
    // The body is read before the query is judged: answering first and closing the
    // connection while the client still sends would reach it as a broken connection.
    let uri = request.uri().clone();
    let (name, upload) = read_upload(&state, request).await?;
    let Query(query) = Query::<HappierQuery>::try_from_uri(&uri).map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{}: use ?strength=S with S from -2 to 2",
                rejection.body_text()
            ),
        )
    })?;
    let strength = query.strength.unwrap_or(1.0);
    if !mien::happier::STRENGTH_RANGE.contains(&strength) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("strength={strength} is outside -2..=2 (1: a natural smile, 2: a broad one)"),
        ));
    }
    if upload.bytes.is_empty() {
        return Err(ApiError::empty_upload("image"));
    }
    let bytes = upload.bytes.clone();
    let answer = state
        .run_analysis(move |analyzer| {
            let photo = mien_core::decode_image(&bytes, &name)
                .map_err(|e| ApiError::from_analysis(e.into()))?;
            let edit = analyzer
                .make_happier(&photo, strength)
                .map_err(ApiError::from_analysis)?;
            Ok(HappierAnswer {
                image: jpeg_data_url(&edit.image.to_rgb8()),
                width: edit.image.width(),
                height: edit.image.height(),
                strength,
                smiles: edit
                    .smiles()
                    .into_iter()
                    .map(|(before, after)| Smile { before, after })
                    .collect(),
            })
        })
        .await?;
    // `upload` kept its share of the memory budget until the edit was done.
    drop(upload);
    Ok(Json(answer))
}
