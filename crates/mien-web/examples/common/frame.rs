//! The test frame shared by the examples: a photo fitted into 640×480 on grey, as a webcam
//! would show one face.

use image::imageops::FilterType;
use image::{Rgb, RgbImage};

/// Width and height of a webcam frame.
pub const FRAME: (u32, u32) = (640, 480);

/// `photo` scaled to fit 640×480 and centred on mid-grey.
pub fn webcam_frame(photo: &image::DynamicImage) -> RgbImage {
    let (width, height) = FRAME;
    let fitted = photo.resize(width, height, FilterType::Triangle).to_rgb8();
    let mut frame = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    let left = (width - fitted.width()) / 2;
    let top = (height - fitted.height()) / 2;
    image::imageops::replace(&mut frame, &fitted, i64::from(left), i64::from(top));
    frame
}
