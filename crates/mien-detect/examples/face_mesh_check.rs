//! How well the 468-point face mesh sits on real photos (`$MIEN_DATA/faces_wild`), for
//! `docs/DETECTION.md`:
//!
//! - its eye centres against BlazeFace's eye key points, on every face BlazeFace finds;
//! - its eye centres and mouth corners against dlib's 68-point landmarks
//!   (`dlib_pascal_voc/*_with_face_landmarks.xml`), on the faces BlazeFace also finds;
//! - stability under mirroring: the mesh of the mirrored photo, mirrored back, against the
//!   mesh of the photo, on seven points whose mirror partners are known (both eye centres,
//!   both mouth corners, nose tip, chin, forehead).
//!
//! Distances are fractions of the face box's width.
//!
//! `cargo run --release -p mien-detect --example face_mesh_check`

use std::path::Path;

use image::DynamicImage;
use mien_core::FaceBox;
use mien_detect::BlazeFaceDetector;
use mien_detect::face_mesh::{FaceLandmarks, FaceMesh};

/// Points on the face's midline: nose tip, chin, forehead.
const MIDLINE: [usize; 3] = [1, 152, 10];

/// A face annotated by dlib: its box, eye centres and mouth corners (image's left first).
struct DlibFace {
    face: FaceBox,
    eyes: [(f32, f32); 2],
    mouth: [(f32, f32); 2],
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = mien_core::data_dir()?.join("faces_wild");
    let device = mien_core::device::cpu();
    let detector = BlazeFaceDetector::bundled(&device)?;
    let mesh = FaceMesh::bundled(&device)?;
    let dlib = dlib_faces(&root.join("dlib_pascal_voc"))?;

    let (mut to_blazeface, mut to_dlib_eyes, mut to_dlib_mouth, mut mirror) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut faces, mut refused) = (0, Vec::new());
    let mut photos: Vec<_> = walk(&root);
    photos.sort();
    for path in photos {
        let photo = mien_core::open_image(&path)?;
        let rgb = photo.to_rgb8();
        let mirrored = DynamicImage::ImageRgb8(image::imageops::flip_horizontal(&rgb));
        let mirrored_rgb = mirrored.to_rgb8();
        let mirrored_found = detector.detect_faces(&mirrored)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        for found in detector.detect_faces(&photo)? {
            faces += 1;
            let width = found.face.width;
            let landmarks = match mesh.landmarks(&rgb, &found.face, Some(&found.eyes())) {
                Ok(l) => l,
                Err(why) => {
                    refused.push(format!("{name}: {why}"));
                    continue;
                }
            };
            let eyes = landmarks.eye_centres();
            let blaze = found.eyes();
            to_blazeface.push(
                (distance(eyes.left, blaze.left) + distance(eyes.right, blaze.right)) / 2.0 / width,
            );
            if let Some(truth) = dlib
                .iter()
                .filter(|(file, _)| file == name)
                .map(|(_, face)| face)
                .find(|d| d.face.iou(&found.face) >= 0.4)
            {
                let w = truth.face.width;
                to_dlib_eyes.push(
                    (distance(eyes.left, truth.eyes[0]) + distance(eyes.right, truth.eyes[1]))
                        / 2.0
                        / w,
                );
                let [left, right] = landmarks.mouth_corners();
                to_dlib_mouth.push(
                    (distance(left, truth.mouth[0]) + distance(right, truth.mouth[1])) / 2.0 / w,
                );
            }
            // The same face in the mirrored photo, mirrored back.
            let x_back = |x: f32| rgb.width() as f32 - x;
            let flipped_box = FaceBox::new(
                x_back(found.face.x + width),
                found.face.y,
                width,
                found.face.height,
                1.0,
            );
            let Some(twin) = mirrored_found
                .iter()
                .max_by(|a, b| {
                    a.face
                        .iou(&flipped_box)
                        .total_cmp(&b.face.iou(&flipped_box))
                })
                .filter(|t| t.face.iou(&flipped_box) >= 0.5)
            else {
                continue;
            };
            if let Ok(other) = mesh.landmarks(&mirrored_rgb, &twin.face, Some(&twin.eyes())) {
                mirror.push(mirror_gap(&landmarks, &other, rgb.width() as f32) / width);
            }
        }
    }
    let report = |what: &str, values: &[f32]| {
        let mean = values.iter().sum::<f32>() / values.len().max(1) as f32;
        let mut sorted = values.to_vec();
        sorted.sort_by(f32::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f32::NAN);
        println!(
            "| {what} | {} | {:.3} | {:.3} | {:.3} |",
            values.len(),
            mean,
            median,
            sorted.last().copied().unwrap_or(f32::NAN)
        );
    };
    println!(
        "{faces} faces found by BlazeFace; {} without a mesh",
        refused.len()
    );
    for why in &refused {
        println!("  - {why}");
    }
    println!("\n| distance (÷ face width) | faces | mean | median | largest |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    report("mesh eye centres ↔ BlazeFace eye key points", &to_blazeface);
    report(
        "mesh eye centres ↔ dlib's (mean of its 6 eye points)",
        &to_dlib_eyes,
    );
    report(
        "mesh mouth corners (61, 291) ↔ dlib's (48, 54)",
        &to_dlib_mouth,
    );
    report(
        "mesh of the mirrored photo, mirrored back (7 points)",
        &mirror,
    );
    Ok(())
}

fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// Mean distance between `mesh`'s seven known points and their partners in `mirrored` (the
/// mesh of the photo mirrored, `width` wide), mirrored back.
fn mirror_gap(mesh: &FaceLandmarks, mirrored: &FaceLandmarks, width: f32) -> f32 {
    let back = |(x, y): (f32, f32)| (width - x, y);
    let point = |m: &FaceLandmarks, i: usize| (m.points[i][0], m.points[i][1]);
    let (eyes, twin_eyes) = (mesh.eye_centres(), mirrored.eye_centres());
    let (mouth, twin_mouth) = (mesh.mouth_corners(), mirrored.mouth_corners());
    // Left and right swap in a mirror.
    let mut gaps = vec![
        distance(eyes.left, back(twin_eyes.right)),
        distance(eyes.right, back(twin_eyes.left)),
        distance(mouth[0], back(twin_mouth[1])),
        distance(mouth[1], back(twin_mouth[0])),
    ];
    gaps.extend(MIDLINE.map(|i| distance(point(mesh, i), back(point(mirrored, i)))));
    gaps.iter().sum::<f32>() / gaps.len() as f32
}

/// Every JPEG and PNG under `root`.
fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        {
            found.push(path);
        }
    }
    found
}

/// dlib's 68-point faces of both XML files, by photo file name.
fn dlib_faces(dir: &Path) -> Result<Vec<(String, DlibFace)>, Box<dyn std::error::Error>> {
    let mut faces = Vec::new();
    for file in [
        "training_with_face_landmarks.xml",
        "testing_with_face_landmarks.xml",
    ] {
        let text = std::fs::read_to_string(dir.join(file))?;
        let xml = roxmltree::Document::parse(&text)?;
        for image in xml.descendants().filter(|n| n.has_tag_name("image")) {
            let name = image.attribute("file").unwrap_or_default().to_owned();
            for b in image.children().filter(|n| n.has_tag_name("box")) {
                let number = |n: roxmltree::Node, a: &str| -> f32 {
                    n.attribute(a)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f32::NAN)
                };
                let mut parts = [(f32::NAN, f32::NAN); 68];
                for part in b.children().filter(|n| n.has_tag_name("part")) {
                    let index = part.attribute("name").and_then(|v| v.parse::<usize>().ok());
                    if let Some(i) = index.filter(|&i| i < 68) {
                        parts[i] = (number(part, "x"), number(part, "y"));
                    }
                }
                let mean = |range: std::ops::Range<usize>| {
                    let n = range.len() as f32;
                    let (x, y) =
                        range.fold((0.0, 0.0), |(x, y), i| (x + parts[i].0, y + parts[i].1));
                    (x / n, y / n)
                };
                faces.push((
                    name.clone(),
                    DlibFace {
                        face: FaceBox::new(
                            number(b, "left"),
                            number(b, "top"),
                            number(b, "width"),
                            number(b, "height"),
                            1.0,
                        ),
                        // iBUG's 36–41 is the eye on the image's left, 42–47 the other.
                        eyes: [mean(36..42), mean(42..48)],
                        mouth: [parts[48], parts[54]],
                    },
                ));
            }
        }
    }
    Ok(faces)
}
