//! Hostile cascade files: arbitrary bytes and damaged copies of the bundled smile cascade
//! (`mien_core::fuzzing`) are an error from `HaarCascade::from_xml`, or a cascade that then
//! scans an image without panicking: a damaged file must not pass parsing with features that
//! reach outside its window.

use mien_core::fuzzing;
use mien_detect::haar::{DetectParams, HaarCascade, opencv_gray};
use proptest::prelude::*;

fn smile_cascade() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/cascades/haarcascade_smile.xml"
    ))
    .unwrap()
}

proptest! {
    #![proptest_config(fuzzing::config())]

    #[test]
    fn hostile_cascades_are_errors_or_scan_cleanly(xml in fuzzing::hostile_text(&smile_cascade())) {
        match HaarCascade::from_xml(&xml, "fuzz.xml") {
            Err(e) => prop_assert!(e.to_string().contains("fuzz.xml"), "{}", e),
            Ok(cascade) => {
                let photo = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(
                    64,
                    48,
                    |x, y| image::Luma([((x * 7) ^ (y * 5)) as u8]),
                ));
                let _ = cascade.detect(&opencv_gray(&photo), &DetectParams::default());
            }
        }
    }
}
