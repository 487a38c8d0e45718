//! Reading image files with errors that name the file.

use std::path::Path;

use image::DynamicImage;

use crate::Error;

/// Opens and decodes an image file (PNG or JPEG), guessing the format from its content, and
/// turns it upright as its EXIF orientation says (phone photos are often stored sideways).
///
/// # Errors
/// [`Error::ImageRead`] naming the path, for a missing, unreadable, truncated or
/// non-image file.
pub fn open_image(path: impl AsRef<Path>) -> Result<DynamicImage, Error> {
    use image::ImageDecoder;
    let path = path.as_ref();
    let read = || -> Result<DynamicImage, image::ImageError> {
        let mut decoder = image::ImageReader::open(path)?
            .with_guessed_format()?
            .into_decoder()?;
        let orientation = decoder.orientation()?;
        let mut image = DynamicImage::from_decoder(decoder)?;
        image.apply_orientation(orientation);
        Ok(image)
    };
    read().map_err(|source| Error::ImageRead {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_and_missing_files_name_the_path() {
        let dir = std::env::temp_dir().join(format!("mien-core-image-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let corrupt = dir.join("corrupt.png");
        // A PNG signature followed by garbage: the decoder must fail, not panic.
        std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nthis is not a png").unwrap();
        let err = open_image(&corrupt).unwrap_err();
        assert!(err.to_string().contains("corrupt.png"), "{err}");

        let missing = dir.join("missing.png");
        assert!(
            open_image(&missing)
                .unwrap_err()
                .to_string()
                .contains("missing.png")
        );

        let good = dir.join("good.png");
        image::GrayImage::from_pixel(3, 2, image::Luma([7]))
            .save(&good)
            .unwrap();
        let img = open_image(&good).unwrap();
        assert_eq!((img.width(), img.height()), (3, 2));
        assert_eq!(img.to_luma8().get_pixel(2, 1).0, [7]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn exif_orientation_is_applied() {
        use image::ImageEncoder;
        let dir = std::env::temp_dir().join(format!("mien-core-exif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A 4×2 image, left half black, right half white, tagged "rotate 90° clockwise"
        // (EXIF orientation 6): upright it is 2×4 with the white half at the bottom.
        let pixels: Vec<u8> = (0..2)
            .flat_map(|_| [0u8, 0, 255, 255])
            .flat_map(|v| [v, v, v])
            .collect();
        let tiff_orientation_6 = vec![
            0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, // little-endian TIFF, IFD at 8
            0x01, 0x00, // one entry
            0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00,
            0x00, // 0x0112 = 6
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        let path = dir.join("sideways.jpg");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 100);
        encoder.set_exif_metadata(tiff_orientation_6).unwrap();
        encoder
            .write_image(&pixels, 4, 2, image::ExtendedColorType::Rgb8)
            .unwrap();
        drop(file);
        let upright = open_image(&path).unwrap().to_luma8();
        assert_eq!(upright.dimensions(), (2, 4));
        assert!(upright.get_pixel(0, 0).0[0] < 60, "top is the black half");
        assert!(
            upright.get_pixel(1, 3).0[0] > 200,
            "bottom is the white half"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
