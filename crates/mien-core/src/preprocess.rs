//! Image → tensor conversion, described by a [`Preprocessing`] value that travels with a model.
//!
//! A model is only correct with the preprocessing it was trained with (size, colour,
//! pixel range, mean/std). Keeping that as data — saved next to the weights — means the
//! pipeline, the trainer and the evaluator cannot disagree about it.

use burn::tensor::{Device, Tensor, TensorData};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The colour layout a model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// One luma channel (FER2013's native format).
    ///
    /// Colour images are converted with the `image` crate's luma weights
    /// (Rec. 709: 0.2126 R + 0.7152 G + 0.0722 B).
    #[default]
    Gray,
    /// Three channels, R G B.
    Rgb,
}

impl ColorMode {
    /// Number of tensor channels: 1 or 3.
    pub const fn channels(self) -> usize {
        match self {
            ColorMode::Gray => 1,
            ColorMode::Rgb => 3,
        }
    }
}

/// How 8-bit pixel values are scaled before mean/std normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelRange {
    /// `value / 255`, in `[0, 1]` (PyTorch's `ToTensor`).
    #[default]
    Unit,
    /// The raw `0..=255` value (Keras models that normalise inside the network).
    Byte,
}

impl PixelRange {
    /// The factor applied to a `u8` value.
    pub const fn scale(self) -> f32 {
        match self {
            PixelRange::Unit => 1.0 / 255.0,
            PixelRange::Byte => 1.0,
        }
    }
}

/// The resampling filter used when an image is not already the model's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeFilter {
    /// Nearest neighbour.
    Nearest,
    /// Bilinear (OpenCV's `INTER_LINEAR` equivalent when downscaling little).
    #[default]
    Bilinear,
    /// Bicubic (Catmull-Rom).
    Bicubic,
    /// Lanczos with a window of 3.
    Lanczos3,
}

impl From<ResizeFilter> for FilterType {
    fn from(filter: ResizeFilter) -> Self {
        match filter {
            ResizeFilter::Nearest => FilterType::Nearest,
            ResizeFilter::Bilinear => FilterType::Triangle,
            ResizeFilter::Bicubic => FilterType::CatmullRom,
            ResizeFilter::Lanczos3 => FilterType::Lanczos3,
        }
    }
}

/// Everything needed to turn an image into a model's input tensor, and back.
///
/// A tensor value is `(pixel × range.scale() − mean[c]) / std[c]`, laid out `[N, C, H, W]`.
///
/// ```
/// use mien_core::Preprocessing;
/// use image::GrayImage;
///
/// let pre = Preprocessing::gray(48, 48).with_mean_std(vec![0.5], vec![0.5]);
/// let face = GrayImage::from_pixel(64, 64, image::Luma([255]));
/// let values = pre.gray_values(&face).unwrap(); // resized to 48×48, scaled to [-1, 1]
/// assert_eq!(values.len(), 48 * 48);
/// assert!(values.iter().all(|&v| (v - 1.0).abs() < 1e-6));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Input width in pixels.
    pub width: u32,
    /// Input height in pixels.
    pub height: u32,
    /// Grayscale or RGB input.
    pub color: ColorMode,
    /// Scaling of 8-bit values before normalisation.
    pub range: PixelRange,
    /// Per-channel mean subtracted after scaling (one value, or one per channel).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by after subtracting the mean.
    pub std: Vec<f32>,
    /// Filter used when resizing.
    pub resize: ResizeFilter,
}

impl Default for Preprocessing {
    /// FER2013's native input: 48×48 grayscale in `[0, 1]`.
    fn default() -> Self {
        Self::gray(48, 48)
    }
}

impl Preprocessing {
    /// Grayscale `width` × `height`, values in `[0, 1]`, no mean/std shift.
    pub fn gray(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            color: ColorMode::Gray,
            range: PixelRange::Unit,
            mean: vec![0.0],
            std: vec![1.0],
            resize: ResizeFilter::Bilinear,
        }
    }

    /// RGB `width` × `height` with ImageNet's mean and std (for ImageNet-pretrained backbones).
    pub fn rgb_imagenet(width: u32, height: u32) -> Self {
        Self {
            color: ColorMode::Rgb,
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
            ..Self::gray(width, height)
        }
    }

    /// Replaces the mean and standard deviation (one value for all channels, or one per channel).
    pub fn with_mean_std(mut self, mean: Vec<f32>, std: Vec<f32>) -> Self {
        self.mean = mean;
        self.std = std;
        self
    }

    /// Replaces the pixel range.
    pub fn with_range(mut self, range: PixelRange) -> Self {
        self.range = range;
        self
    }

    /// Replaces the resize filter.
    pub fn with_resize(mut self, resize: ResizeFilter) -> Self {
        self.resize = resize;
        self
    }

    /// Number of tensor channels.
    pub fn channels(&self) -> usize {
        self.color.channels()
    }

    /// Number of `f32` values one image becomes (`C × H × W`).
    pub fn values_per_image(&self) -> usize {
        self.channels() * self.width as usize * self.height as usize
    }

    /// The tensor shape of a batch of `n` images: `[n, C, H, W]`.
    pub fn batch_shape(&self, n: usize) -> [usize; 4] {
        [
            n,
            self.channels(),
            self.height as usize,
            self.width as usize,
        ]
    }

    /// Checks that the description is usable: non-zero size, mean/std of length 1 or C,
    /// finite values and no zero std.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::InvalidPreprocessing(reason));
        if self.width == 0 || self.height == 0 {
            return invalid(format!(
                "size {}×{} has a zero side",
                self.width, self.height
            ));
        }
        let c = self.channels();
        for (name, values) in [("mean", &self.mean), ("std", &self.std)] {
            if values.len() != 1 && values.len() != c {
                return invalid(format!(
                    "{name} has {} values; give 1 or {c} (one per channel)",
                    values.len()
                ));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return invalid(format!("{name} {values:?} is not finite"));
            }
        }
        if self.std.contains(&0.0) {
            return invalid(format!("std {:?} contains 0", self.std));
        }
        Ok(())
    }

    fn mean_std(&self, channel: usize) -> (f32, f32) {
        let pick = |v: &[f32]| if v.len() == 1 { v[0] } else { v[channel] };
        (pick(&self.mean), pick(&self.std))
    }

    /// Normalised `[C, H, W]` values of one image: colour conversion, resize, scaling.
    ///
    /// # Errors
    /// [`Error::EmptyImage`] for a zero-sized image; [`Error::InvalidPreprocessing`].
    pub fn values(&self, image: &DynamicImage) -> Result<Vec<f32>, Error> {
        match self.color {
            ColorMode::Gray => match image {
                DynamicImage::ImageLuma8(gray) => self.gray_values(gray),
                other => self.gray_values(&other.to_luma8()),
            },
            ColorMode::Rgb => match image {
                DynamicImage::ImageRgb8(rgb) => self.rgb_values(rgb),
                other => self.rgb_values(&other.to_rgb8()),
            },
        }
    }

    /// Like [`Preprocessing::values`] for a grayscale image, without a colour conversion
    /// when the model is grayscale (the data loaders' fast path).
    pub fn gray_values(&self, image: &GrayImage) -> Result<Vec<f32>, Error> {
        if self.color == ColorMode::Rgb {
            return self.rgb_values(&DynamicImage::ImageLuma8(image.clone()).to_rgb8());
        }
        self.validate()?;
        check_not_empty(image.width(), image.height())?;
        let resized;
        let image = if image.dimensions() == (self.width, self.height) {
            image
        } else {
            resized = image::imageops::resize(image, self.width, self.height, self.resize.into());
            &resized
        };
        let (mean, std) = self.mean_std(0);
        let scale = self.range.scale();
        Ok(image
            .as_raw()
            .iter()
            .map(|&p| (p as f32 * scale - mean) / std)
            .collect())
    }

    fn rgb_values(&self, image: &RgbImage) -> Result<Vec<f32>, Error> {
        if self.color == ColorMode::Gray {
            return self.gray_values(&DynamicImage::ImageRgb8(image.clone()).to_luma8());
        }
        self.validate()?;
        check_not_empty(image.width(), image.height())?;
        let resized;
        let image = if image.dimensions() == (self.width, self.height) {
            image
        } else {
            resized = image::imageops::resize(image, self.width, self.height, self.resize.into());
            &resized
        };
        let plane = (self.width * self.height) as usize;
        let scale = self.range.scale();
        let mut values = vec![0.0; 3 * plane];
        for (i, pixel) in image.pixels().enumerate() {
            for c in 0..3 {
                let (mean, std) = self.mean_std(c);
                values[c * plane + i] = (pixel.0[c] as f32 * scale - mean) / std;
            }
        }
        Ok(values)
    }

    /// A `[N, C, H, W]` batch from any images (each converted and resized as needed).
    ///
    /// # Errors
    /// [`Error::EmptyBatch`] for no images, or the first image's conversion error.
    pub fn batch(&self, images: &[DynamicImage], device: &Device) -> Result<Tensor<4>, Error> {
        let values = images.iter().map(|img| self.values(img));
        self.collect_batch(values, images.len(), device)
    }

    /// A `[N, C, H, W]` batch from grayscale images.
    pub fn gray_batch(&self, images: &[GrayImage], device: &Device) -> Result<Tensor<4>, Error> {
        let values = images.iter().map(|img| self.gray_values(img));
        self.collect_batch(values, images.len(), device)
    }

    fn collect_batch(
        &self,
        per_image: impl Iterator<Item = Result<Vec<f32>, Error>>,
        n: usize,
        device: &Device,
    ) -> Result<Tensor<4>, Error> {
        if n == 0 {
            return Err(Error::EmptyBatch);
        }
        let mut values = Vec::with_capacity(n * self.values_per_image());
        for image_values in per_image {
            values.extend(image_values?);
        }
        self.tensor_from_values(values, device)
    }

    /// A `[N, C, H, W]` tensor from already-normalised values of N images, concatenated.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the length is not a multiple of one image's value count.
    pub fn tensor_from_values(
        &self,
        values: Vec<f32>,
        device: &Device,
    ) -> Result<Tensor<4>, Error> {
        let per_image = self.values_per_image();
        if values.is_empty() || !values.len().is_multiple_of(per_image) {
            return Err(Error::ShapeMismatch {
                expected: format!("a multiple of {per_image} values (C×H×W)"),
                actual: format!("{} values", values.len()),
            });
        }
        let shape = self.batch_shape(values.len() / per_image);
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// Turns a `[N, C, H, W]` tensor in this preprocessing's value space back into images:
    /// un-normalised, rounded and clamped to `0..=255`. The inverse of [`Preprocessing::batch`]
    /// for images already at the model's size.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the tensor's C, H, W differ from this preprocessing's.
    pub fn images_from_tensor(&self, tensor: Tensor<4>) -> Result<Vec<DynamicImage>, Error> {
        let dims = tensor.dims();
        let [n, c, h, w] = dims;
        if [c, h, w] != [self.channels(), self.height as usize, self.width as usize] {
            return Err(Error::ShapeMismatch {
                expected: format!("[N, {}, {}, {}]", self.channels(), self.height, self.width),
                actual: format!("{dims:?}"),
            });
        }
        let values = read_f32(tensor)?;
        let plane = h * w;
        let scale = self.range.scale();
        let to_u8 = |v: f32, channel: usize| {
            let (mean, std) = self.mean_std(channel);
            ((v * std + mean) / scale).round().clamp(0.0, 255.0) as u8
        };
        let images = values
            .chunks_exact(c * plane)
            .take(n)
            .map(|chw| match self.color {
                ColorMode::Gray => {
                    let raw = chw.iter().map(|&v| to_u8(v, 0)).collect();
                    DynamicImage::ImageLuma8(
                        GrayImage::from_raw(self.width, self.height, raw).expect("sized above"),
                    )
                }
                ColorMode::Rgb => {
                    let raw = (0..plane)
                        .flat_map(|i| (0..3).map(move |ch| (i, ch)))
                        .map(|(i, ch)| to_u8(chw[ch * plane + i], ch))
                        .collect();
                    DynamicImage::ImageRgb8(
                        RgbImage::from_raw(self.width, self.height, raw).expect("sized above"),
                    )
                }
            })
            .collect();
        Ok(images)
    }
}

/// Reads a tensor's values back to the host as `f32`, in row-major order.
///
/// # Errors
/// [`Error::TensorData`] when the backend cannot read the data or convert it to `f32`.
pub fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, Error> {
    tensor
        .try_into_data()
        .map_err(|e| Error::TensorData(format!("{e:?}")))?
        .try_into_vec_as::<f32>()
        .map_err(|e| Error::TensorData(format!("{e:?}")))
}

fn check_not_empty(width: u32, height: u32) -> Result<(), Error> {
    if width == 0 || height == 0 {
        Err(Error::EmptyImage { width, height })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device() -> Device {
        crate::device::cpu()
    }

    #[test]
    fn values_by_hand() {
        let pre = Preprocessing::gray(2, 1).with_mean_std(vec![0.5], vec![0.25]);
        let img = GrayImage::from_raw(2, 1, vec![0, 255]).unwrap();
        // (0/255 - 0.5)/0.25 = -2, (1 - 0.5)/0.25 = 2
        assert_eq!(pre.gray_values(&img).unwrap(), vec![-2.0, 2.0]);
    }

    #[test]
    fn rgb_values_are_planar_with_per_channel_stats() {
        let pre = Preprocessing {
            range: PixelRange::Byte,
            ..Preprocessing::rgb_imagenet(1, 2)
        }
        .with_mean_std(vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 4.0]);
        let img = RgbImage::from_raw(1, 2, vec![10, 20, 30, 40, 50, 60]).unwrap();
        let values = pre.values(&DynamicImage::ImageRgb8(img)).unwrap();
        // R plane: 10-1, 40-1; G plane: (20-2)/2, (50-2)/2; B plane: (30-3)/4, (60-3)/4.
        assert_eq!(values, vec![9.0, 39.0, 9.0, 24.0, 6.75, 14.25]);
    }

    #[test]
    fn invalid_descriptions_are_rejected_with_reasons() {
        let zero_std = Preprocessing::gray(48, 48).with_mean_std(vec![0.0], vec![0.0]);
        assert!(zero_std.validate().unwrap_err().to_string().contains("std"));
        let wrong_len = Preprocessing::gray(48, 48).with_mean_std(vec![0.0; 2], vec![1.0]);
        assert!(
            wrong_len
                .validate()
                .unwrap_err()
                .to_string()
                .contains("2 values")
        );
        assert!(Preprocessing::gray(0, 48).validate().is_err());
    }

    #[test]
    fn empty_inputs_are_errors_not_panics() {
        let pre = Preprocessing::default();
        assert!(matches!(
            pre.gray_values(&GrayImage::new(0, 5)),
            Err(Error::EmptyImage { .. })
        ));
        assert!(matches!(pre.batch(&[], &device()), Err(Error::EmptyBatch)));
        assert!(pre.tensor_from_values(vec![0.0; 47], &device()).is_err());
    }

    #[test]
    fn batch_has_nchw_shape_and_resizes() {
        let pre = Preprocessing::rgb_imagenet(32, 24);
        let images = vec![
            DynamicImage::ImageLuma8(GrayImage::new(100, 80)),
            DynamicImage::ImageRgb8(RgbImage::new(10, 10)),
        ];
        let batch = pre.batch(&images, &device()).unwrap();
        assert_eq!(batch.dims(), [2, 3, 24, 32]);
    }

    #[test]
    fn shape_mismatch_on_the_way_back_is_an_error() {
        let pre = Preprocessing::gray(4, 4);
        let t = Tensor::<4>::zeros([1, 1, 4, 5], &device());
        assert!(pre.images_from_tensor(t).is_err());
    }

    proptest! {
        #![proptest_config(crate::fuzzing::cases(32))]

        #[test]
        fn gray_image_to_tensor_and_back_is_identity(
            (w, h, n, raw) in (1u32..20, 1u32..20, 1usize..3).prop_flat_map(|(w, h, n)| {
                (Just(w), Just(h), Just(n), proptest::collection::vec(any::<u8>(), (w * h) as usize * n))
            }),
            mean in -1f32..1.0, std in 0.1f32..2.0,
        ) {
            let pre = Preprocessing::gray(w, h).with_mean_std(vec![mean], vec![std]);
            let images: Vec<GrayImage> = raw
                .chunks_exact((w * h) as usize)
                .map(|pixels| GrayImage::from_raw(w, h, pixels.to_vec()).unwrap())
                .collect();
            let tensor = pre.gray_batch(&images, &device()).unwrap();
            prop_assert_eq!(tensor.dims(), [n, 1, h as usize, w as usize]);
            let back = pre.images_from_tensor(tensor).unwrap();
            for (original, restored) in images.iter().zip(&back) {
                prop_assert_eq!(original, &restored.to_luma8());
            }
        }

        #[test]
        fn rgb_image_to_tensor_and_back_is_identity(raw in proptest::collection::vec(any::<u8>(), 3 * 6 * 5)) {
            let pre = Preprocessing::rgb_imagenet(6, 5);
            let image = RgbImage::from_raw(6, 5, raw).unwrap();
            let tensor = pre.batch(&[DynamicImage::ImageRgb8(image.clone())], &device()).unwrap();
            let back = pre.images_from_tensor(tensor).unwrap();
            prop_assert_eq!(image, back[0].to_rgb8());
        }
    }
}
