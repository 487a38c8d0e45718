//! The BlazeFace network (MediaPipe's full-range "back camera" model, 256×256 input) as a
//! burn module: a 5×5 stem, 32 depthwise-separable residual blocks and two anchor heads.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

/// Side of the square input the network takes.
pub const INPUT_SIZE: usize = 256;
/// Side of the stem's output (stride 2).
pub const STEM_SIZE: usize = INPUT_SIZE / 2;
/// Values in one stem patch: 3 channels × 5 × 5.
pub const STEM_PATCH: usize = 75;
/// Anchors over both feature maps: 16×16 cells × 2 plus 8×8 cells × 6.
pub const ANCHORS: usize = 896;
/// Numbers regressed per anchor: box centre offset and size (4), then six key points (12).
pub const BOX_VALUES: usize = 16;

/// Residual blocks before the 16×16 head, and those of them that halve the resolution.
const BLOCKS: usize = 31;
const STRIDE_TWO: [usize; 3] = [7, 15, 23];

/// Channels a block reads; it writes the next block's.
fn block_channels(block: usize) -> usize {
    match block {
        0..=15 => 24,
        16..=23 => 48,
        _ => 96,
    }
}

/// One BlazeFace block: 3×3 depthwise convolution, 1×1 pointwise convolution, plus the input
/// (max-pooled when the block halves the resolution, zero-padded when it adds channels), ReLU.
#[derive(Module, Debug)]
pub struct BlazeBlock {
    depthwise: Conv2d,
    pointwise: Conv2d,
    pool: Option<MaxPool2d>,
    #[module(skip)]
    residual: bool,
    activation: Relu,
}

impl BlazeBlock {
    fn new(
        channels_in: usize,
        channels_out: usize,
        stride: usize,
        residual: bool,
        device: &Device,
    ) -> Self {
        // TensorFlow's "same" padding for stride 2 pads only the bottom and right.
        let padding = if stride == 2 {
            PaddingConfig2d::Explicit(0, 0, 1, 1)
        } else {
            PaddingConfig2d::Explicit(1, 1, 1, 1)
        };
        Self {
            depthwise: Conv2dConfig::new([channels_in, channels_in], [3, 3])
                .with_stride([stride, stride])
                .with_groups(channels_in)
                .with_padding(padding)
                .with_bias(false)
                .init(device),
            pointwise: Conv2dConfig::new([channels_in, channels_out], [1, 1]).init(device),
            pool: (stride == 2).then(|| MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init()),
            residual,
            activation: Relu::new(),
        }
    }

    /// `[N, C_in, H, W]` → `[N, C_out, H / stride, W / stride]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.pointwise.forward(self.depthwise.forward(x.clone()));
        if !self.residual {
            return self.activation.forward(y);
        }
        let shortcut = match &self.pool {
            Some(pool) => pool.forward(x),
            None => x,
        };
        let [n, c_in, h, w] = shortcut.dims();
        let c_out = y.dims()[1];
        let shortcut = if c_out > c_in {
            let zeros = Tensor::zeros([n, c_out - c_in, h, w], &shortcut.device());
            Tensor::cat(vec![shortcut, zeros], 1)
        } else {
            shortcut
        };
        self.activation.forward(y + shortcut)
    }
}

/// A convolution's weight (burn's `[out, in / groups, kh, kw]`, flattened) and bias.
pub(super) type ConvWeights = (Vec<f32>, Vec<f32>);

/// One block's weights as plain numbers.
pub(super) struct BlockWeights {
    pub channels_in: usize,
    pub channels_out: usize,
    pub stride: usize,
    pub residual: bool,
    /// `[channels_in, 1, 3, 3]` flattened.
    pub depthwise: Vec<f32>,
    pub pointwise: ConvWeights,
}

/// Every weight of the network as plain numbers, for [`super::cpu::CpuBlazeFace`].
pub(super) struct NetWeights {
    pub stem: ConvWeights,
    pub blocks: Vec<BlockWeights>,
    pub last_block: BlockWeights,
    /// Scores, then boxes, of the 16×16 head.
    pub head16: [ConvWeights; 2],
    /// Scores, then boxes, of the 8×8 head.
    pub head8: [ConvWeights; 2],
}

fn conv_weights(conv: &Conv2d) -> Result<ConvWeights, crate::DetectError> {
    let error = |e: mien_core::Error| crate::DetectError::weights_from("BlazeFace", e);
    let bias = match &conv.bias {
        Some(bias) => mien_core::read_f32(bias.val()).map_err(error)?,
        None => Vec::new(),
    };
    Ok((mien_core::read_f32(conv.weight.val()).map_err(error)?, bias))
}

impl BlazeBlock {
    fn weights(&self) -> Result<BlockWeights, crate::DetectError> {
        let [channels_out, channels_in, _, _] = self.pointwise.weight.dims();
        Ok(BlockWeights {
            channels_in,
            channels_out,
            stride: self.depthwise.stride[0],
            residual: self.residual,
            depthwise: conv_weights(&self.depthwise)?.0,
            pointwise: conv_weights(&self.pointwise)?,
        })
    }
}

/// The score and box convolutions over one feature map.
#[derive(Module, Debug)]
pub struct AnchorHead {
    scores: Conv2d,
    boxes: Conv2d,
}

impl AnchorHead {
    fn new(channels: usize, anchors_per_cell: usize, device: &Device) -> Self {
        Self {
            scores: Conv2dConfig::new([channels, anchors_per_cell], [1, 1]).init(device),
            boxes: Conv2dConfig::new([channels, anchors_per_cell * BOX_VALUES], [1, 1])
                .init(device),
        }
    }

    /// `[N, C, G, G]` → score logits `[N, G·G·A]` and regressors `[N, G·G·A, 16]`, anchors
    /// ordered row, column, anchor (MediaPipe's order).
    fn forward(&self, features: Tensor<4>) -> (Tensor<2>, Tensor<3>) {
        let n = features.dims()[0];
        let scores = self
            .scores
            .forward(features.clone())
            .permute([0, 2, 3, 1])
            .reshape([n as i32, -1]);
        let boxes = self.boxes.forward(features).permute([0, 2, 3, 1]).reshape([
            n as i32,
            -1,
            BOX_VALUES as i32,
        ]);
        (scores, boxes)
    }
}

/// BlazeFace: `[N, 3, 256, 256]` RGB in `[-1, 1]` → 896 anchor logits and regressors.
#[derive(Module, Debug)]
pub struct BlazeFaceNet {
    stem: Conv2d,
    blocks: Vec<BlazeBlock>,
    /// Halves the 16×16 map to 8×8 for the coarse head (no residual connection).
    last_block: BlazeBlock,
    head16: AnchorHead,
    head8: AnchorHead,
    activation: Relu,
}

impl BlazeFaceNet {
    /// A network with fresh (untrained) weights; load the bundled ones with
    /// [`super::BlazeFaceDetector::bundled`].
    pub fn new(device: &Device) -> Self {
        let blocks = (0..BLOCKS)
            .map(|b| {
                let stride = if STRIDE_TWO.contains(&b) { 2 } else { 1 };
                BlazeBlock::new(
                    block_channels(b),
                    block_channels(b + 1),
                    stride,
                    true,
                    device,
                )
            })
            .collect();
        Self {
            stem: Conv2dConfig::new([3, 24], [5, 5])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 2, 2))
                .init(device),
            blocks,
            last_block: BlazeBlock::new(96, 96, 2, false, device),
            head16: AnchorHead::new(96, 2, device),
            head8: AnchorHead::new(96, 6, device),
            activation: Relu::new(),
        }
    }

    /// `[N, 3, 256, 256]` → score logits `[N, 896]` and regressors `[N, 896, 16]` (pixel
    /// offsets of the 256×256 input: centre x, y, width, height, six key points x, y).
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<3>) {
        self.forward_features(self.stem.forward(images))
    }

    /// The same as [`Self::forward`] from the stem's input patches, `[N, 75, 128, 128]` as
    /// [`super::stem_patches`] lays them out: the stem becomes one 1×1 convolution, which
    /// burn-flex runs about 6× faster than a 5×5 convolution over 3 channels.
    pub fn forward_patches(&self, patches: Tensor<4>) -> (Tensor<2>, Tensor<3>) {
        let weight = self.stem.weight.val().reshape([24, STEM_PATCH, 1, 1]);
        let bias = self.stem.bias.as_ref().map(|b| b.val());
        let stem = conv2d(
            patches,
            weight,
            bias,
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        );
        self.forward_features(stem)
    }

    /// Every weight, read back from the device.
    pub(super) fn weights(&self) -> Result<NetWeights, crate::DetectError> {
        Ok(NetWeights {
            stem: conv_weights(&self.stem)?,
            blocks: self
                .blocks
                .iter()
                .map(BlazeBlock::weights)
                .collect::<Result<_, _>>()?,
            last_block: self.last_block.weights()?,
            head16: [
                conv_weights(&self.head16.scores)?,
                conv_weights(&self.head16.boxes)?,
            ],
            head8: [
                conv_weights(&self.head8.scores)?,
                conv_weights(&self.head8.boxes)?,
            ],
        })
    }

    /// Everything after the stem convolution: `[N, 24, 128, 128]` (before its ReLU) → the
    /// outputs of [`Self::forward`].
    fn forward_features(&self, stem: Tensor<4>) -> (Tensor<2>, Tensor<3>) {
        let mut x = self.activation.forward(stem);
        for block in &self.blocks {
            x = block.forward(x);
        }
        // x: [N, 96, 16, 16]; the last block halves it to [N, 96, 8, 8].
        let coarse = self.last_block.forward(x.clone());
        let (scores16, boxes16) = self.head16.forward(x);
        let (scores8, boxes8) = self.head8.forward(coarse);
        (
            Tensor::cat(vec![scores16, scores8], 1),
            Tensor::cat(vec![boxes16, boxes8], 1),
        )
    }
}
