//! Are the eyes open? A small CNN on 24×24 gray eye patches (the CEW format), trained by
//! `examples/train_eye_state.rs` on `$MIEN_DATA/eyes`, split by face id; the trained weights
//! are bundled (`weights/eye_state.safetensors`, 94 KB): 93.9 % accuracy on the 970 held-out
//! patches (`tests/eye_state_real.rs`).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::sigmoid;
use image::GrayImage;
use image::imageops::FilterType;
use mien_core::InputShape;
use mien_core::graph::layers::{activate, conv_activation, dense, max_pool};
use mien_core::graph::{Activation, GraphError, NativeNetwork, Network, Op};
use mien_core::kernels::{conv2d_layer, max_pool2d_layer};

/// The network's name in errors.
const NETWORK: &str = "eyes-open classifier";
use rayon::prelude::*;

use crate::DetectError;

/// Side of the square eye patches the network takes.
pub const PATCH: u32 = 24;

/// The eye-state network: three 3×3 convolutions (16, 32, 64 channels; max-pooling after
/// the first two), global average pooling and one logit for "open".
#[derive(Module, Debug)]
pub struct EyeStateNet {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    pool: MaxPool2d,
    global: AdaptiveAvgPool2d,
    head: Linear,
    activation: Relu,
}

impl EyeStateNet {
    /// A network with fresh weights.
    pub fn new(device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device)
        };
        Self {
            conv1: conv(1, 16),
            conv2: conv(16, 32),
            conv3: conv(32, 64),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            global: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            head: LinearConfig::new(64, 1).init(device),
            activation: Relu::new(),
        }
    }

    /// Logit of "open": `[N, 1, 24, 24]` (values in `[0, 1]`) → `[N]`.
    pub fn forward(&self, patches: Tensor<4>) -> Tensor<1> {
        let x = max_pool2d_layer(
            &self.pool,
            self.activation.forward(conv2d_layer(&self.conv1, patches)),
        );
        let x = max_pool2d_layer(
            &self.pool,
            self.activation.forward(conv2d_layer(&self.conv2, x)),
        );
        let x = self.activation.forward(conv2d_layer(&self.conv3, x));
        let x = self.global.forward(x).flatten::<2>(1, 3);
        self.head.forward(x).flatten::<1>(0, 1)
    }

    /// The network's inference pass as a [`Network`] from a `[1, 24, 24]` patch to its
    /// probability of being open (`[1]`, the sigmoid of [`EyeStateNet::forward`]), for mien's
    /// CPU interpreter.
    ///
    /// # Errors
    /// [`GraphError`] when the backend cannot hand over the weights.
    pub fn describe(&self) -> Result<Network, GraphError> {
        let side = PATCH as usize;
        let input = InputShape {
            channels: 1,
            height: side,
            width: side,
        };
        let (mut net, patch) = Network::new(input);
        let relu = Activation::Relu;
        let x = conv_activation(&mut net, "conv1", &self.conv1, None, relu, patch)?;
        let x = max_pool(&mut net, "conv1.pool", &self.pool, x)?;
        let x = conv_activation(&mut net, "conv2", &self.conv2, None, relu, x)?;
        let x = max_pool(&mut net, "conv2.pool", &self.pool, x)?;
        let x = conv_activation(&mut net, "conv3", &self.conv3, None, relu, x)?;
        let x = net.push("global", Op::GlobalAveragePool, &[x])?;
        let x = net.push("global.flatten", Op::Squeeze, &[x])?;
        let logit = dense(&mut net, "head", &self.head, x)?;
        let open = activate(&mut net, "head", Activation::Sigmoid, logit)?;
        net.output("open", open);
        Ok(net)
    }
}

/// The bundled eye-state classifier.
#[derive(Debug)]
pub struct EyeStateClassifier {
    net: EyeStateNet,
    /// [`EyeStateNet::describe`] run by mien's CPU interpreter, on the CPU device: the same
    /// probabilities up to float rounding (tested), without burn's per-operation dispatch,
    /// which dominates for 1.4 M multiply-adds a patch.
    native: Option<NativeNetwork>,
    device: Device,
}

impl EyeStateClassifier {
    /// The bundled weights on `device`.
    ///
    /// # Errors
    /// [`DetectError::Weights`] if the bundled file does not fit the network (a build error).
    pub fn bundled(device: &Device) -> Result<Self, DetectError> {
        Self::from_bytes(include_bytes!("../weights/eye_state.safetensors"), device)
    }

    /// Weights from safetensors bytes written by `examples/train_eye_state.rs`.
    ///
    /// # Errors
    /// [`DetectError::Weights`] when tensors are missing or mis-shaped.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, DetectError> {
        let net = mien_core::weights::load_module(EyeStateNet::new(device), bytes)
            .map_err(|e| DetectError::weights_from(NETWORK, e))?;
        let native = NativeNetwork::on_cpu(device, || net.describe())
            .map_err(|e| DetectError::weights_from(NETWORK, e))?;
        Ok(Self {
            net,
            native,
            device: device.clone(),
        })
    }

    /// P(open) for each eye patch (any size; resized to 24×24). An empty slice gives an
    /// empty vector.
    pub fn open_probability(&self, patches: &[GrayImage]) -> Vec<f32> {
        if patches.is_empty() {
            return Vec::new();
        }
        let values: Vec<f32> = patches
            .iter()
            .flat_map(|p| {
                let p = if p.dimensions() == (PATCH, PATCH) {
                    p.clone()
                } else {
                    image::imageops::resize(p, PATCH, PATCH, FilterType::Triangle)
                };
                p.into_raw().into_iter().map(|v| f32::from(v) / 255.0)
            })
            .collect();
        let side = PATCH as usize;
        if let Some(net) = &self.native {
            return values
                .par_chunks_exact(side * side)
                .map(|patch| match net.run(patch) {
                    Ok(outputs) => outputs[0][0],
                    Err(_) => f32::NAN,
                })
                .collect();
        }
        let n = patches.len();
        let input =
            Tensor::<4>::from_data(TensorData::new(values, [n, 1, side, side]), &self.device);
        let probabilities = sigmoid(self.net.forward(input));
        mien_core::read_f32(probabilities).unwrap_or_else(|_| vec![f32::NAN; n])
    }
}

impl EyeStateClassifier {
    /// P(eyes open) of a face: the mean P(open) of its two eye patches, squares of a quarter
    /// of the face width centred on `eyes` when known, else where eyes sit in a frontal
    /// face box (30 % and 70 % across, 38 % down).
    pub fn face_open_probability(
        &self,
        gray: &GrayImage,
        face: &mien_core::FaceBox,
        eyes: Option<&crate::align::Eyes>,
    ) -> f32 {
        let centres = match eyes {
            Some(e) => [e.left, e.right],
            None => [0.3, 0.7].map(|fx| (face.x + fx * face.width, face.y + 0.38 * face.height)),
        };
        let side = (face.width * 0.25).max(2.0);
        let (w, h) = gray.dimensions();
        let patches: Vec<GrayImage> = centres
            .iter()
            .filter_map(|&(cx, cy)| {
                let x0 = (cx - side / 2.0).max(0.0) as u32;
                let y0 = (cy - side / 2.0).max(0.0) as u32;
                let x1 = ((cx + side / 2.0) as u32).min(w);
                let y1 = ((cy + side / 2.0) as u32).min(h);
                (x1 > x0 && y1 > y0)
                    .then(|| image::imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image())
            })
            .collect();
        let p = self.open_probability(&patches);
        if p.is_empty() {
            f32::NAN
        } else {
            p.iter().sum::<f32>() / p.len() as f32
        }
    }
}

/// Whether a CEW patch (by file stem, e.g. `Aaron_Eckhart_0001_L`) belongs to the held-out
/// fifth of faces: both patches of a face (`_L`, `_R`) share the face id, and the id's FNV-1a
/// hash decides, so the split never changes and never leaks a face across it.
pub fn held_out(file_stem: &str) -> bool {
    let face_id = file_stem
        .strip_suffix("_L")
        .or_else(|| file_stem.strip_suffix("_R"))
        .unwrap_or(file_stem);
    let hash = face_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % 5 == 0
}

/// Saves a trained network as safetensors at `path`.
///
/// # Errors
/// [`DetectError::Weights`] when the file cannot be written.
pub fn save(net: &EyeStateNet, path: impl AsRef<std::path::Path>) -> Result<(), DetectError> {
    let mut store = SafetensorsStore::from_file(path.as_ref()).overwrite(true);
    net.save_into(&mut store)
        .map_err(|e| DetectError::weights_from(NETWORK, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_pass_equals_burns() {
        let mut classifier = EyeStateClassifier::bundled(&mien_core::device::cpu()).unwrap();
        assert!(classifier.native.is_some(), "the CPU device runs natively");
        // Dark discs of several sizes on light grounds, and one plain patch: eye-like and not.
        let patches: Vec<GrayImage> = (0..6u32)
            .map(|k| {
                GrayImage::from_fn(PATCH, PATCH, |x, y| {
                    let d2 = (x as i32 - 12).pow(2) + (y as i32 - 12).pow(2);
                    let dark = d2 < (k as i32 * 2).pow(2);
                    image::Luma([if dark { 30 } else { 200 - 10 * k as u8 }])
                })
            })
            .collect();
        let native = classifier.open_probability(&patches);
        classifier.native = None;
        let burn = classifier.open_probability(&patches);
        assert_eq!(native.len(), 6);
        for (a, b) in native.iter().zip(&burn) {
            assert!((a - b).abs() < 1e-5, "native {a}, burn {b}");
        }
    }
}
