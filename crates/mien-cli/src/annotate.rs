//! Drawing an [`Analysis`] on its photo: a box per face, its emotion, probability, smile
//! score, eyes and (when analysed) its 468-point mesh, and the photo's rating in the corner.

use ab_glyph::{FontRef, PxScale};
use image::{DynamicImage, Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size,
};
use imageproc::rect::Rect;

use mien::Analysis;

/// DejaVu Sans Mono (Bitstream Vera licence, `assets/DejaVu-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");

const BOX_COLOUR: Rgb<u8> = Rgb([255, 200, 0]);
const TEXT_COLOUR: Rgb<u8> = Rgb([0, 0, 0]);
const EYE_COLOUR: Rgb<u8> = Rgb([0, 220, 255]);
const MESH_COLOUR: Rgb<u8> = Rgb([80, 255, 120]);

/// The label drawn above a face, e.g. `happy 93% smile 8.7`. Emoji are not drawn (the
/// bundled font has none); they are in the JSON.
pub fn face_label(face: &mien::FaceAnalysis) -> String {
    format!(
        "{} {:.0}% smile {:.1}",
        face.emotion,
        100.0 * face.emotion_probability,
        face.smile.value()
    )
}

/// A copy of `image` with the analysis drawn on it (RGB).
pub fn annotate(image: &DynamicImage, analysis: &Analysis) -> RgbImage {
    let mut canvas = image.to_rgb8();
    let faces = analysis.faces.iter().map(|face| (face, face_label(face)));
    draw_faces(&mut canvas, faces, analysis.rating);
    canvas
}

/// Draws on `canvas` each face's box, eyes and label, and the photo's `rating` in the
/// corner when there is one.
pub fn draw_faces<'a>(
    canvas: &mut RgbImage,
    faces: impl IntoIterator<Item = (&'a mien::FaceAnalysis, String)>,
    rating: Option<f32>,
) {
    let font = FontRef::try_from_slice(FONT).ok();
    let (w, h) = canvas.dimensions();
    // Text height ~2.5 % of the photo's longer side, at least 12 px.
    let scale = PxScale::from((w.max(h) as f32 * 0.025).max(12.0));
    let thickness = (w.max(h) / 400).max(1) as i32;
    for (face, label) in faces {
        let b = face.face;
        for t in 0..thickness {
            let side = |v: f32| (v as i32 - 2 * t).max(1) as u32;
            draw_hollow_rect_mut(
                canvas,
                Rect::at(b.x as i32 + t, b.y as i32 + t).of_size(side(b.width), side(b.height)),
                BOX_COLOUR,
            );
        }
        if let Some(points) = face.landmarks.as_ref().and_then(|l| l.points()) {
            // Dots of about a 150th of the face, at least one pixel.
            let radius = (b.width / 150.0) as i32;
            for &[x, y, _] in points {
                draw_filled_circle_mut(canvas, (x as i32, y as i32), radius, MESH_COLOUR);
            }
        }
        if let Some(eyes) = face.eyes {
            for [x, y] in eyes {
                let r = (b.width / 20.0).max(2.0) as i32;
                draw_hollow_rect_mut(
                    canvas,
                    Rect::at(x as i32 - r, y as i32 - r).of_size(2 * r as u32, 2 * r as u32),
                    EYE_COLOUR,
                );
            }
        }
        if let Some(font) = &font {
            let (tw, th) = text_size(scale, font, &label);
            let top = (b.y as i32 - th as i32 - 4).max(0);
            draw_filled_rect_mut(
                canvas,
                Rect::at(b.x as i32, top).of_size(tw + 6, th + 4),
                BOX_COLOUR,
            );
            draw_text_mut(
                canvas,
                TEXT_COLOUR,
                b.x as i32 + 3,
                top + 1,
                scale,
                font,
                &label,
            );
        }
    }
    if let (Some(font), Some(rating)) = (&font, rating) {
        let label = format!("rating {:.2}", rating);
        let (tw, th) = text_size(scale, font, &label);
        draw_filled_rect_mut(
            canvas,
            Rect::at(0, 0).of_size(tw + 6, th + 4),
            Rgb([255, 255, 255]),
        );
        draw_text_mut(canvas, TEXT_COLOUR, 3, 1, scale, font, &label);
    }
}
