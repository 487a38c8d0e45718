//! The [`Backbone`] trait: what every feature extractor offers so that any head, trainer
//! and pipeline can use it.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::graph::{GraphError, Network, Value};
use crate::{ColorMode, Error, Preprocessing};

/// The input a backbone was built for: `[C, H, W]` of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InputShape {
    /// Channels: 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl InputShape {
    /// FER2013's native input: one channel, 48×48.
    pub const FER2013: InputShape = InputShape {
        channels: 1,
        height: 48,
        width: 48,
    };

    /// The default preprocessing for this input (values in `[0, 1]`, no mean/std shift):
    /// grayscale for one channel, RGB for three.
    pub fn default_preprocessing(&self) -> Preprocessing {
        let (w, h) = (self.width as u32, self.height as u32);
        match self.channels {
            3 => Preprocessing {
                color: ColorMode::Rgb,
                mean: vec![0.0],
                std: vec![1.0],
                ..Preprocessing::gray(w, h)
            },
            _ => Preprocessing::gray(w, h),
        }
    }

    /// Checks that `preprocessing` produces tensors of this shape.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming both shapes.
    pub fn check(&self, preprocessing: &Preprocessing) -> Result<(), Error> {
        let produced = InputShape {
            channels: preprocessing.channels(),
            height: preprocessing.height as usize,
            width: preprocessing.width as usize,
        };
        if produced == *self {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                expected: format!("model input {self}"),
                actual: format!("preprocessing output {produced}"),
            })
        }
    }
}

impl Default for InputShape {
    fn default() -> Self {
        Self::FER2013
    }
}

impl std::fmt::Display for InputShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {}, {}]", self.channels, self.height, self.width)
    }
}

/// A feature extractor: images in, one feature vector per image out.
///
/// Heads (emotion classification, smile intensity) are generic over `Backbone`, so a new
/// architecture is one type implementing this trait. Implementors derive burn's
/// [`Module`], which gives them parameters, devices, training mode and records.
pub trait Backbone: Module + ModuleDisplay {
    /// Extracts features: `[N, C, H, W] -> [N, feature_dim]`.
    fn features(&self, images: Tensor<4>) -> Tensor<2>;

    /// Length of the feature vector `F`.
    fn feature_dim(&self) -> usize;

    /// The input size and channel count the backbone was configured for.
    fn input_shape(&self) -> InputShape;

    /// Appends the backbone's inference pass to `net`, from `image` (`[C, H, W]`) to the
    /// feature vector it returns (`[feature_dim]`): the one description of the network
    /// that mien's CPU interpreter and ONNX export run ([`crate::graph`]).
    ///
    /// # Errors
    /// [`GraphError`] when a layer cannot be described or its weights read.
    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_preprocessing_matches_its_shape() {
        for shape in [
            InputShape::FER2013,
            InputShape {
                channels: 3,
                height: 96,
                width: 64,
            },
        ] {
            shape.check(&shape.default_preprocessing()).unwrap();
        }
        let err = InputShape::FER2013
            .check(&Preprocessing::rgb_imagenet(48, 48))
            .unwrap_err();
        assert!(err.to_string().contains("[3, 48, 48]"), "{err}");
    }
}
