//! Reading image files with errors that name the file.

use std::path::Path;

use image::DynamicImage;

use crate::Error;

/// Opens and decodes an image file (PNG or JPEG), guessing the format from its content.
///
/// # Errors
/// [`Error::ImageRead`] naming the path, for a missing, unreadable, truncated or
/// non-image file.
pub fn open_image(path: impl AsRef<Path>) -> Result<DynamicImage, Error> {
    let path = path.as_ref();
    let read = || -> Result<DynamicImage, image::ImageError> {
        image::ImageReader::open(path)?
            .with_guessed_format()?
            .decode()
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
}
