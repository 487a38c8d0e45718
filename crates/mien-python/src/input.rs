//! What `Analyzer.analyze` accepts: a path, encoded bytes, or a numpy `uint8` array.

use std::path::PathBuf;

use mien::image::{DynamicImage, GrayImage, RgbImage, RgbaImage};
use numpy::{PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

/// A photo as the caller gave it, taken out of Python objects so that decoding and analysis
/// can run without the GIL.
pub enum Source {
    /// A file to open.
    Path(PathBuf),
    /// Encoded image bytes (PNG, JPEG, …).
    Bytes(Vec<u8>),
    /// Pixels already decoded (from a numpy array).
    Pixels(DynamicImage),
}

impl Source {
    /// Reads `object`: a `str` or `os.PathLike`, `bytes` / `bytearray`, or a numpy `uint8`
    /// array shaped H×W, H×W×1, H×W×3 (RGB) or H×W×4 (RGBA).
    ///
    /// # Errors
    /// `TypeError` for any other type or dtype, `ValueError` for another shape.
    pub fn extract(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = object.cast::<PyBytes>() {
            return Ok(Self::Bytes(bytes.as_bytes().to_vec()));
        }
        if let Ok(bytes) = object.cast::<PyByteArray>() {
            return Ok(Self::Bytes(bytes.to_vec()));
        }
        if let Ok(array) = object.cast::<PyUntypedArray>() {
            return pixels(array).map(Self::Pixels);
        }
        // After bytes: `os.fspath` would take bytes as a path too.
        if let Ok(path) = object.extract::<PathBuf>() {
            return Ok(Self::Path(path));
        }
        Err(PyTypeError::new_err(format!(
            "cannot read a photo from a {}: pass a path (str or os.PathLike), the file's bytes, \
             or a numpy uint8 array shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)",
            object.get_type().name()?
        )))
    }

    /// The path, for results that name their photo.
    pub fn path(&self) -> Option<String> {
        match self {
            Self::Path(path) => Some(path.display().to_string()),
            Self::Bytes(_) | Self::Pixels(_) => None,
        }
    }

    /// The decoded photo (files and bytes as `mien analyze` decodes them: EXIF orientation
    /// applied, bounded memory).
    pub fn decode(self) -> Result<DynamicImage, mien::core::Error> {
        match self {
            Self::Path(path) => mien::open_image(path),
            Self::Bytes(bytes) => mien::decode_image(&bytes, "<bytes>"),
            Self::Pixels(image) => Ok(image),
        }
    }
}

/// The image held by a numpy array, copied (any strides).
fn pixels(array: &Bound<'_, PyUntypedArray>) -> PyResult<DynamicImage> {
    let dtype = array.dtype();
    let shape = array.shape().to_vec();
    let typed: PyReadonlyArrayDyn<'_, u8> = array.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "numpy arrays must have dtype uint8 (got {dtype}); a float image in [0, 1] \
             converts with (image * 255).round().astype(numpy.uint8)"
        ))
    })?;
    let (height, width, channels) = match shape[..] {
        [h, w] => (h, w, 1),
        [h, w, c @ (1 | 3 | 4)] => (h, w, c),
        _ => {
            return Err(PyValueError::new_err(format!(
                "numpy arrays must be shaped (H, W) for gray, (H, W, 1), (H, W, 3) for RGB or \
                 (H, W, 4) for RGBA (got {shape:?})"
            )));
        }
    };
    let too_large = || {
        PyValueError::new_err(format!(
            "a {width}×{height} image is larger than mien reads ({} pixels at most)",
            mien::core::MAX_DECODED_PIXELS
        ))
    };
    let (w, h) = (
        u32::try_from(width).map_err(|_| too_large())?,
        u32::try_from(height).map_err(|_| too_large())?,
    );
    if (width as u64) * (height as u64) > mien::core::MAX_DECODED_PIXELS {
        return Err(too_large());
    }
    // Row-major H×W×C: one copy of a C-ordered array, element by element for other strides.
    // (`as_slice` also accepts Fortran order, whose bytes are in another order.)
    let c_order = if array.is_c_contiguous() {
        typed.as_slice().ok()
    } else {
        None
    };
    let values: Vec<u8> = match c_order {
        Some(contiguous) => contiguous.to_vec(),
        None => typed.as_array().iter().copied().collect(),
    };
    let image = match channels {
        1 => GrayImage::from_raw(w, h, values).map(DynamicImage::ImageLuma8),
        3 => RgbImage::from_raw(w, h, values).map(DynamicImage::ImageRgb8),
        _ => RgbaImage::from_raw(w, h, values).map(DynamicImage::ImageRgba8),
    };
    image.ok_or_else(|| PyValueError::new_err("the array's size does not match its shape"))
}
