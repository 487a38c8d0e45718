//! Reading image files with errors that name the file, in bounded memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::Error;

/// The most pixels an image is decoded at: 40 megapixels (at most 320 MB as 16-bit RGBA).
/// Larger JPEG and PNG files are shrunk while they are decoded (see [`open_image`]).
pub const MAX_DECODED_PIXELS: u64 = 40_000_000;

/// The largest PNG shrunk while decoding: 1 gigapixel. Every source pixel is visited, so a
/// few megabytes of compressed zeros claiming 100 gigapixels would keep a core busy for
/// minutes; such files are refused instead.
pub const MAX_SHRUNK_PNG_PIXELS: u64 = 1_000_000_000;

/// The largest progressive or lossless JPEG decoded: 64 megapixels. The decoder keeps every
/// coefficient of such a file at full size whatever the output scale (about 6 bytes a
/// pixel), so larger ones are refused; sequential JPEGs are shrunk up to 1/8 scale.
pub const MAX_SHRUNK_PROGRESSIVE_JPEG_PIXELS: u64 = 64_000_000;

/// Opens and decodes an image file (PNG or JPEG; any bit depth, grey, RGB(A), CMYK JPEG),
/// guessing the format from its content, and turns it upright as its EXIF orientation says
/// (phone photos are often stored sideways).
///
/// Files over [`MAX_DECODED_PIXELS`] never allocate their full size: a JPEG is decoded at
/// 1/2, 1/4 or 1/8 scale (the decoder's DCT scaling), a PNG is averaged over k×k blocks row
/// by row while it streams in (8-bit), so a 20000×20000 photo costs a few megabytes plus
/// its shrunken copy.
///
/// # Errors
/// [`Error::ImageRead`] naming the path, for a missing, unreadable, truncated or non-image
/// file; [`Error::ImageTooLarge`] for a file over the limit that cannot be shrunk while
/// decoding (another format, an interlaced PNG, a PNG over [`MAX_SHRUNK_PNG_PIXELS`], a
/// JPEG still over the limit at 1/8 scale, a progressive or lossless JPEG over
/// [`MAX_SHRUNK_PROGRESSIVE_JPEG_PIXELS`]).
pub fn open_image(path: impl AsRef<Path>) -> Result<DynamicImage, Error> {
    let path = path.as_ref();
    decode(path, || File::open(path).map(BufReader::new))
}

/// Decodes an image held in memory (an upload, a video frame) exactly as [`open_image`]
/// decodes a file: format guessed from the content, EXIF orientation applied, never more
/// than [`MAX_DECODED_PIXELS`] decoded. `name` stands for the file in error messages
/// (e.g. `"upload"` or the upload's file name).
///
/// # Errors
/// As [`open_image`], with `name` in place of the path.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<DynamicImage, Error> {
    decode(Path::new(name), || Ok(Cursor::new(bytes)))
}

/// The decoder behind [`open_image`] and [`decode_image`]: `source` opens the bytes afresh
/// for each pass (header, then pixels), `origin` names them in errors.
fn decode<R: BufRead + Seek>(
    origin: &Path,
    source: impl Fn() -> std::io::Result<R>,
) -> Result<DynamicImage, Error> {
    let read_error = |source| Error::ImageRead {
        path: origin.to_owned(),
        source,
    };
    let reader = || -> Result<ImageReader<R>, image::ImageError> {
        Ok(ImageReader::new(source()?).with_guessed_format()?)
    };
    let header = reader().map_err(read_error)?;
    let format = header.format();
    let (width, height) = header.into_dimensions().map_err(read_error)?;
    let too_large = |reason: &str| Error::ImageTooLarge {
        path: origin.to_owned(),
        width,
        height,
        reason: reason.to_owned(),
    };
    let mut decoder = reader()
        .and_then(|r| r.into_decoder())
        .map_err(read_error)?;
    let orientation = decoder.orientation().map_err(read_error)?;
    let mut image =
        if u64::from(width) * u64::from(height) <= MAX_DECODED_PIXELS {
            DynamicImage::from_decoder(decoder).map_err(read_error)?
        } else {
            drop(decoder);
            let input = shrink::Input {
                origin,
                source: &source,
            };
            match format {
                Some(ImageFormat::Jpeg) => shrink::jpeg(input, width, height)
                    .map_err(|e| shrink::into_error(e, too_large))?,
                Some(ImageFormat::Png)
                    if u64::from(width) * u64::from(height) > MAX_SHRUNK_PNG_PIXELS =>
                {
                    return Err(too_large("PNGs over 1 gigapixel are not decoded"));
                }
                Some(ImageFormat::Png) => shrink::png(input, width, height)
                    .map_err(|e| shrink::into_error(e, too_large))?,
                _ => {
                    return Err(too_large(
                        "only JPEG and PNG files are shrunk while decoding",
                    ));
                }
            }
        };
    if u64::from(image.width()) * u64::from(image.height()) > MAX_DECODED_PIXELS {
        return Err(too_large(
            "the decoded image is larger than its header said",
        ));
    }
    image.apply_orientation(orientation);
    Ok(image)
}

/// Decoding huge files at reduced size.
mod shrink {
    use super::*;

    /// A shrunk image, or why not: `Err(Ok(reason))` for a file of a kind that cannot be
    /// shrunk, `Err(Err(error))` when decoding fails.
    pub(super) type Shrunk = Result<DynamicImage, Result<&'static str, Error>>;

    /// The error for a file that was not shrunk; `too_large` makes one from a reason.
    pub(super) fn into_error(
        refusal: Result<&'static str, Error>,
        too_large: impl Fn(&str) -> Error,
    ) -> Error {
        refusal.map_or_else(|error| error, too_large)
    }

    /// Where the bytes come from: `source` reopens them, `origin` names them in errors.
    pub(super) struct Input<'a, R> {
        pub(super) origin: &'a Path,
        pub(super) source: &'a dyn Fn() -> std::io::Result<R>,
    }

    impl<R> Input<'_, R> {
        fn open(&self) -> Result<R, Result<&'static str, Error>> {
            (self.source)().map_err(|e| {
                Err(Error::ImageRead {
                    path: self.origin.to_owned(),
                    source: image::ImageError::IoError(e),
                })
            })
        }

        fn failed(&self, message: String) -> Result<&'static str, Error> {
            Err(Error::ImageRead {
                path: self.origin.to_owned(),
                source: image::ImageError::Decoding(image::error::DecodingError::new(
                    image::error::ImageFormatHint::Unknown,
                    message,
                )),
            })
        }
    }

    /// The smallest block side `k` that brings `width × height` under the limit.
    pub(super) fn block_side(width: u32, height: u32) -> u32 {
        let pixels = u64::from(width) * u64::from(height);
        let mut k = 1u32;
        while pixels.div_ceil(u64::from(k) * u64::from(k)) > MAX_DECODED_PIXELS {
            k += 1;
        }
        k
    }

    /// A JPEG decoded at the largest DCT scale (1/2, 1/4, 1/8) under the limit.
    pub(super) fn jpeg<R: BufRead>(input: Input<R>, width: u32, height: u32) -> Shrunk {
        // The decoder picks the smallest scale whose output is at least the size asked
        // for, so ask for exactly a power-of-two reduction: for k = 3 it would pick 1/2.
        let k = block_side(width, height).next_power_of_two();
        if k > 8 {
            return Err(Ok("still too large at 1/8 scale"));
        }
        let mut decoder = jpeg_decoder::Decoder::new(input.open()?);
        let target = |side: u32| u16::try_from(side.div_ceil(k)).unwrap_or(u16::MAX);
        let (w, h) = decoder
            .scale(target(width), target(height))
            .map_err(|e| input.failed(e.to_string()))?;
        let info = decoder
            .info()
            .ok_or_else(|| input.failed("no JPEG header".into()))?;
        // Progressive and lossless files are decoded from every coefficient at full size
        // (6 bytes a pixel, or 16): only sequential ones are shrunk block by block.
        if info.coding_process != jpeg_decoder::CodingProcess::DctSequential
            && u64::from(width) * u64::from(height) > MAX_SHRUNK_PROGRESSIVE_JPEG_PIXELS
        {
            return Err(Ok(
                "progressive and lossless JPEGs over 64 megapixels are not decoded",
            ));
        }
        if u64::from(w) * u64::from(h) > MAX_DECODED_PIXELS {
            return Err(Ok("still too large at 1/8 scale"));
        }
        let pixels = decoder.decode().map_err(|e| input.failed(e.to_string()))?;
        let info = decoder
            .info()
            .ok_or_else(|| input.failed("no JPEG header".into()))?;
        let (w, h) = (u32::from(w), u32::from(h));
        let image = match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 => {
                image::GrayImage::from_raw(w, h, pixels).map(Into::into)
            }
            jpeg_decoder::PixelFormat::L16 => {
                let values = pixels
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .collect();
                image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, values).map(Into::into)
            }
            jpeg_decoder::PixelFormat::RGB24 => {
                image::RgbImage::from_raw(w, h, pixels).map(Into::into)
            }
            jpeg_decoder::PixelFormat::CMYK32 => {
                // Adobe-style (inverted) CMYK, what Photoshop and PIL write.
                let rgb = pixels
                    .chunks_exact(4)
                    .flat_map(|p| {
                        let k = u16::from(p[3]);
                        [0, 1, 2].map(|i| (u16::from(p[i]) * k / 255) as u8)
                    })
                    .collect();
                image::RgbImage::from_raw(w, h, rgb).map(Into::into)
            }
        };
        image.ok_or_else(|| input.failed("decoded pixel count does not match the size".into()))
    }

    /// A non-interlaced PNG averaged over k×k blocks as its rows stream in (8 bits per
    /// channel; 16-bit samples keep their high byte).
    pub(super) fn png<R: BufRead + Seek>(input: Input<R>, width: u32, height: u32) -> Shrunk {
        let mut decoder = png::Decoder::new(input.open()?);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder
            .read_info()
            .map_err(|e| input.failed(e.to_string()))?;
        if reader.info().interlaced {
            return Err(Ok("interlaced PNG"));
        }
        let channels = reader.output_color_type().0.samples();
        let k = block_side(width, height) as usize;
        let (w, h) = ((width as usize).div_ceil(k), (height as usize).div_ceil(k));
        let mut out = Vec::with_capacity(w * h * channels);
        let mut sums = vec![0u32; w * channels];
        let mut counts = vec![0u32; w];
        for y in 0..height as usize {
            let row = reader
                .next_row()
                .map_err(|e| input.failed(e.to_string()))?
                .ok_or_else(|| input.failed(format!("truncated at row {y} of {height}")))?;
            for (x, pixel) in row.data().chunks_exact(channels).enumerate() {
                let cell = x / k;
                counts[cell] += 1;
                for (c, &v) in pixel.iter().enumerate() {
                    sums[cell * channels + c] += u32::from(v);
                }
            }
            if (y + 1) % k == 0 || y + 1 == height as usize {
                for (cell, &n) in counts.iter().enumerate() {
                    let n = n.max(1);
                    out.extend(
                        sums[cell * channels..(cell + 1) * channels]
                            .iter()
                            .map(|&s| (s / n) as u8),
                    );
                }
                sums.fill(0);
                counts.fill(0);
            }
        }
        let (w, h) = (w as u32, h as u32);
        let image: Option<DynamicImage> = match channels {
            1 => image::GrayImage::from_raw(w, h, out).map(Into::into),
            2 => image::GrayAlphaImage::from_raw(w, h, out).map(Into::into),
            3 => image::RgbImage::from_raw(w, h, out).map(Into::into),
            _ => image::RgbaImage::from_raw(w, h, out).map(Into::into),
        };
        image.ok_or_else(|| input.failed("decoded pixel count does not match the size".into()))
    }
}

/// `image` as 8-bit RGB: borrowed when it already is, converted otherwise.
pub fn rgb8(image: &image::DynamicImage) -> std::borrow::Cow<'_, image::RgbImage> {
    match image {
        image::DynamicImage::ImageRgb8(rgb) => std::borrow::Cow::Borrowed(rgb),
        other => std::borrow::Cow::Owned(other.to_rgb8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small photo-like image encoded as `format`.
    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let image = image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, ((x + y) * 3) as u8])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image)
            .write_to(&mut bytes, format)
            .unwrap();
        bytes.into_inner()
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzzing::config())]

        /// Damaged PNG and JPEG files, and arbitrary bytes, are an error naming the input or
        /// an image within the size limit: never a panic.
        #[test]
        fn hostile_image_bytes_are_an_error_or_an_image(
            bytes in crate::fuzzing::hostile_bytes(encoded(image::ImageFormat::Png)),
            jpeg in crate::fuzzing::mutation(encoded(image::ImageFormat::Jpeg)),
        ) {
            for bytes in [bytes, jpeg] {
                match decode_image(&bytes, "upload") {
                    Ok(image) => proptest::prop_assert!(
                        u64::from(image.width()) * u64::from(image.height())
                            <= MAX_DECODED_PIXELS
                    ),
                    Err(e) => proptest::prop_assert!(e.to_string().contains("upload"), "{}", e),
                }
            }
        }
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mien-core-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn block_side_brings_images_under_the_limit() {
        assert_eq!(shrink::block_side(6_000, 6_000), 1);
        // 400 MP needs 4×4 blocks (400 / 9 = 44.4 MP is still over 40).
        assert_eq!(shrink::block_side(20_000, 20_000), 4);
        assert_eq!(shrink::block_side(200_000, 200_000), 32);
    }

    #[test]
    fn a_20000_pixel_square_png_is_shrunk_while_decoding() {
        let dir = temp_dir("huge-png");
        let path = dir.join("huge.png");
        // 1-bit grey, white with a black top-left quarter: 50 MB of raw rows, a few KB on disk.
        let side = 20_000u32;
        let mut encoder = png::Encoder::new(File::create(&path).unwrap(), side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .unwrap()
            .into_stream_writer()
            .unwrap();
        let row_bytes = side as usize / 8;
        let dark = [vec![0u8; row_bytes / 2], vec![0xFF; row_bytes / 2]].concat();
        let light = vec![0xFFu8; row_bytes];
        for y in 0..side {
            let row = if y < side / 2 { &dark } else { &light };
            std::io::Write::write_all(&mut writer, row).unwrap();
        }
        writer.finish().unwrap();

        let image = open_image(&path).unwrap();
        assert_eq!((image.width(), image.height()), (5_000, 5_000));
        let gray = image.to_luma8();
        assert_eq!(gray.get_pixel(100, 100).0, [0]);
        assert_eq!(gray.get_pixel(4_000, 100).0, [255]);
        assert_eq!(gray.get_pixel(100, 4_000).0, [255]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_huge_jpeg_is_decoded_at_reduced_scale() {
        let dir = temp_dir("huge-jpeg");
        let path = dir.join("huge.jpg");
        // 9000×5000 = 45 MP: over the limit, so decoded at 1/2 scale.
        let (w, h) = (9_000u32, 5_000u32);
        let pixels = image::RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                image::Rgb([200, 30, 30])
            } else {
                image::Rgb([30, 30, 200])
            }
        });
        pixels.save(&path).unwrap();
        drop(pixels);
        let image = open_image(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (4_500, 2_500));
        let left = image.get_pixel(1_000, 1_000).0;
        let right = image.get_pixel(3_500, 1_000).0;
        assert!(left[0] > 150 && left[2] < 80, "{left:?}");
        assert!(right[2] > 150 && right[0] < 80, "{right:?}");
        // The same bytes from memory take the same shrinking path.
        let bytes = std::fs::read(&path).unwrap();
        let from_memory = decode_image(&bytes, "upload.jpg").unwrap().to_rgb8();
        assert_eq!(from_memory, image);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Found by fuzzing: a JPEG 3× over the limit was decoded at 1/2 scale (the decoder
    /// rounds the asked-for size up to its next scale), 69 MP instead of at most 40.
    #[test]
    fn a_jpeg_between_scales_is_decoded_under_the_limit() {
        let mut bytes = encoded(image::ImageFormat::Jpeg);
        let sof = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline JPEG");
        // Claim 13096×21022 (275 MP: block side 3, so 1/4 scale) over the 40×30 pixels.
        bytes[sof + 5..sof + 7].copy_from_slice(&21_022u16.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&13_096u16.to_be_bytes());
        let image = decode_image(&bytes, "upload").unwrap();
        assert_eq!((image.width(), image.height()), (3_274, 5_256));
    }

    #[test]
    fn a_huge_progressive_jpeg_is_refused_before_its_coefficients_are_kept() {
        let mut bytes = encoded(image::ImageFormat::Jpeg);
        let sof = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline JPEG");
        // A progressive frame header (SOF2) claiming 9000×8000 = 72 MP.
        bytes[sof + 1] = 0xC2;
        bytes[sof + 5..sof + 7].copy_from_slice(&8_000u16.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&9_000u16.to_be_bytes());
        let err = decode_image(&bytes, "upload").unwrap_err();
        assert!(
            matches!(&err, Error::ImageTooLarge { width: 9_000, height: 8_000, reason, .. }
                if reason.contains("progressive")),
            "{err}"
        );
    }

    #[test]
    fn sixteen_bit_grey_alpha_and_cmyk_files_decode() {
        let dir = temp_dir("kinds");
        let rgb16 = dir.join("rgb16.png");
        image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(5, 4, image::Rgb([65_535, 0, 32_768]))
            .save(&rgb16)
            .unwrap();
        let image = open_image(&rgb16).unwrap();
        assert_eq!(image.color(), image::ColorType::Rgb16);
        assert_eq!(image.to_rgb8().get_pixel(4, 3).0, [255, 0, 128]);

        let gray_alpha = dir.join("la.png");
        image::GrayAlphaImage::from_pixel(3, 3, image::LumaA([90, 10]))
            .save(&gray_alpha)
            .unwrap();
        assert_eq!(
            open_image(&gray_alpha)
                .unwrap()
                .to_luma8()
                .get_pixel(1, 1)
                .0,
            [90]
        );

        // A CMYK JPEG written by PIL from the sample photo (fixtures/README.md).
        let cmyk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/astronaut_cmyk.jpg");
        let rgb = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/astronaut.jpg");
        let from_cmyk = open_image(&cmyk).unwrap().to_rgb8();
        let reference = open_image(&rgb)
            .unwrap()
            .resize_exact(128, 128, image::imageops::FilterType::Triangle)
            .to_rgb8();
        assert_eq!(from_cmyk.dimensions(), (128, 128));
        let mean_difference = from_cmyk
            .as_raw()
            .iter()
            .zip(reference.as_raw())
            .map(|(&a, &b)| f64::from(a.abs_diff(b)))
            .sum::<f64>()
            / from_cmyk.as_raw().len() as f64;
        assert!(
            mean_difference < 12.0,
            "CMYK decoded to other colours: {mean_difference}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_jpeg_too_large_even_at_one_eighth_is_refused_with_its_size() {
        let dir = temp_dir("huge-jpeg-header");
        let path = dir.join("huge.jpg");
        // A real 8×8 JPEG whose frame header (SOF0) is patched to claim 65000×65000: 4,225 MP
        // is over the limit even at 1/8 scale, so it is refused before any pixel is decoded.
        let mut bytes = Vec::new();
        image::RgbImage::new(8, 8)
            .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Jpeg)
            .unwrap();
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        bytes[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
        std::fs::write(&path, &bytes).unwrap();
        let err = open_image(&path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ImageTooLarge {
                    width: 65_000,
                    height: 65_000,
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("huge.jpg") && message.contains("65000×65000"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn corrupt_and_missing_files_name_the_path() {
        let dir = temp_dir("image-io");
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
    fn a_png_claiming_gigapixels_is_refused_before_its_rows_are_read() {
        // The header claims 40000 × 40000 = 1.6 gigapixels; a few rows of zeros follow,
        // then the file just ends, as a crafted one would.
        let dir = temp_dir("png-bomb");
        let path = dir.join("bomb.png");
        {
            let mut encoder = png::Encoder::new(File::create(&path).unwrap(), 40_000, 40_000);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            let mut rows = encoder
                .write_header()
                .unwrap()
                .into_stream_writer()
                .unwrap();
            std::io::Write::write_all(&mut rows, &vec![0u8; 5 * 5_000]).unwrap();
            std::io::Write::flush(&mut rows).unwrap();
        }
        let file = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let err = decode_image(&file, "bomb.png").unwrap_err();
        assert!(
            matches!(
                err,
                Error::ImageTooLarge {
                    width: 40_000,
                    height: 40_000,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("bomb.png"), "{err}");
    }

    #[test]
    fn images_in_memory_decode_like_files_and_errors_name_them() {
        let mut png = Vec::new();
        image::GrayImage::from_fn(3, 2, |x, y| image::Luma([(10 * x + y) as u8]))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let image = decode_image(&png, "small.png").unwrap().to_luma8();
        assert_eq!(image.dimensions(), (3, 2));
        assert_eq!(image.get_pixel(2, 1).0, [21]);

        for bytes in [&b""[..], b"hello, not an image", &png[..png.len() / 2]] {
            let err = decode_image(bytes, "upload from the web").unwrap_err();
            assert!(
                matches!(err, Error::ImageRead { .. }),
                "{} bytes: {err}",
                bytes.len()
            );
            assert!(err.to_string().contains("upload from the web"), "{err}");
        }
    }

    #[test]
    fn exif_orientation_is_applied() {
        use image::ImageEncoder;
        let dir = temp_dir("exif");
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
