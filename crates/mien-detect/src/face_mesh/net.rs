//! MediaPipe's face landmark network as a burn module that describes itself for mien's
//! interpreter: a 192×192 RGB face in, 468 points (x, y, z) and a face score out.
//!
//! Its layers are plain: 3×3 depthwise and 1×1 convolutions in residual blocks, PReLU
//! activations, 2×2 max pooling on the strided blocks' shortcuts (zero channels appended where
//! a block widens), and TensorFlow's "same" padding, which for a stride of 2 adds the extra
//! row and column after the map.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{PRelu, PReluConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use mien_core::InputShape;
use mien_core::graph::layers::{conv, max_pool, prelu};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{conv2d_layer, max_pool2d_layer};

/// Side of the square RGB input, in pixels.
pub const INPUT_SIDE: usize = 192;
/// Points of the mesh.
pub const POINTS: usize = 468;

/// A convolution then a PReLU.
#[derive(Module, Debug)]
pub struct ConvPRelu {
    conv: Conv2d,
    activation: PRelu,
}

impl ConvPRelu {
    fn new(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new(channels, [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            activation: PReluConfig::new()
                .with_num_parameters(channels[1])
                .init(device),
        }
    }

    /// `[N, C_in, H, W] → [N, C_out, H / stride, W / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.activation.forward(conv2d_layer(&self.conv, x))
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let y = conv(net, &format!("{name}.conv"), &self.conv, None, x)?;
        prelu(net, &format!("{name}.activation"), &self.activation, y)
    }
}

/// `PReLU(shortcut(x) + pointwise(depthwise(x)))`. A strided block's shortcut is a 2×2 max
/// pool; a widening block's shortcut gets zero channels appended.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    depthwise: Conv2d,
    pointwise: Conv2d,
    pool: Option<MaxPool2d>,
    activation: PRelu,
}

impl ResidualBlock {
    fn new(channels_in: usize, channels_out: usize, stride: usize, device: &Device) -> Self {
        Self {
            depthwise: Conv2dConfig::new([channels_in, channels_in], [3, 3])
                .with_stride([stride, stride])
                .with_groups(channels_in)
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            pointwise: Conv2dConfig::new([channels_in, channels_out], [1, 1]).init(device),
            pool: (stride > 1).then(|| {
                MaxPool2dConfig::new([stride, stride])
                    .with_strides([stride, stride])
                    .init()
            }),
            activation: PReluConfig::new()
                .with_num_parameters(channels_out)
                .init(device),
        }
    }

    /// Zero channels the shortcut gains.
    fn widening(&self) -> usize {
        self.pointwise.weight.dims()[0] - self.depthwise.weight.dims()[0]
    }

    /// `[N, C_in, H, W] → [N, C_out, H / stride, W / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = conv2d_layer(&self.pointwise, conv2d_layer(&self.depthwise, x.clone()));
        let mut shortcut = match &self.pool {
            Some(pool) => max_pool2d_layer(pool, x),
            None => x,
        };
        let extra = self.widening();
        if extra > 0 {
            let [n, _, h, w] = shortcut.dims();
            let zeros = Tensor::zeros([n, extra, h, w], &shortcut.device());
            shortcut = Tensor::cat(vec![shortcut, zeros], 1);
        }
        self.activation.forward(shortcut + y)
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let y = conv(net, &format!("{name}.depthwise"), &self.depthwise, None, x)?;
        let y = conv(net, &format!("{name}.pointwise"), &self.pointwise, None, y)?;
        let mut shortcut = x;
        if let Some(pool) = &self.pool {
            shortcut = max_pool(net, &format!("{name}.pool"), pool, shortcut)?;
        }
        let extra = self.widening();
        if extra > 0 {
            let widen = Op::Pad {
                before: [0; 3],
                after: [extra, 0, 0],
            };
            shortcut = net.push(format!("{name}.widen"), widen, &[shortcut])?;
        }
        let sum = net.push(format!("{name}.residual"), Op::Add, &[shortcut, y])?;
        prelu(net, &format!("{name}.activation"), &self.activation, sum)
    }
}

/// One of the two heads on the trunk's 6×6 map: residual blocks down to 3×3, a 1×1
/// reduction to 32 channels, one more block, and a 3×3 convolution to `outputs` values.
#[derive(Module, Debug)]
pub struct Head {
    blocks: Vec<ResidualBlock>,
    reduce: ConvPRelu,
    last: ResidualBlock,
    out: Conv2d,
}

impl Head {
    fn new(blocks: usize, outputs: usize, device: &Device) -> Self {
        Self {
            blocks: (0..blocks)
                .map(|i| ResidualBlock::new(128, 128, if i == 0 { 2 } else { 1 }, device))
                .collect(),
            reduce: ConvPRelu::new([128, 32], 1, 1, device),
            last: ResidualBlock::new(32, 32, 1, device),
            out: Conv2dConfig::new([32, outputs], [3, 3]).init(device),
        }
    }

    /// `[N, 128, 6, 6] → [N, outputs]`
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        let x = self.last.forward(self.reduce.forward(x));
        conv2d_layer(&self.out, x).flatten(1, 3)
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let mut x = x;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.describe(net, &format!("{name}.blocks.{i}"), x)?;
        }
        let x = self.reduce.describe(net, &format!("{name}.reduce"), x)?;
        let x = self.last.describe(net, &format!("{name}.last"), x)?;
        let x = conv(net, &format!("{name}.out"), &self.out, None, x)?;
        net.push(format!("{name}.flatten"), Op::Squeeze, &[x])
    }
}

/// MediaPipe's face landmark network (`face_landmark.tflite`, 604,709 weights).
#[derive(Module, Debug)]
pub struct FaceMeshNet {
    stem: ConvPRelu,
    trunk: Vec<ResidualBlock>,
    mesh: Head,
    score: Head,
}

impl FaceMeshNet {
    /// A network with fresh weights (load the bundled ones with
    /// [`super::FaceMesh::bundled`]).
    pub fn new(device: &Device) -> Self {
        // (in, out, stride) of the trunk's blocks: 96×96 down to 6×6.
        const TRUNK: [(usize, usize, usize); 14] = [
            (16, 16, 1),
            (16, 16, 1),
            (16, 32, 2),
            (32, 32, 1),
            (32, 32, 1),
            (32, 64, 2),
            (64, 64, 1),
            (64, 64, 1),
            (64, 128, 2),
            (128, 128, 1),
            (128, 128, 1),
            (128, 128, 2),
            (128, 128, 1),
            (128, 128, 1),
        ];
        Self {
            stem: ConvPRelu::new([3, 16], 3, 2, device),
            trunk: TRUNK
                .iter()
                .map(|&(i, o, s)| ResidualBlock::new(i, o, s, device))
                .collect(),
            mesh: Head::new(3, 3 * POINTS, device),
            score: Head::new(1, 1, device),
        }
    }

    /// RGB faces in `[0, 1]`, `[N, 3, 192, 192]` → the points `[N, 1404]` (x, y, z of each
    /// point in input pixels) and the probability that the input is a face, `[N]`.
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<1>) {
        let x = self.stem.forward(images);
        let x = self.trunk.iter().fold(x, |x, block| block.forward(x));
        let points = self.mesh.forward(x.clone());
        let score = sigmoid(self.score.forward(x)).flatten(0, 1);
        (points, score)
    }

    /// The network's inference pass as a [`Network`] from a `[3, 192, 192]` face to its
    /// outputs `"points"` (`[1404]`) and `"score"` (`[1]`, a probability), as
    /// [`FaceMeshNet::forward`].
    ///
    /// # Errors
    /// [`GraphError`] when the backend cannot hand over the weights.
    pub fn describe(&self) -> Result<Network, GraphError> {
        let input = InputShape {
            channels: 3,
            height: INPUT_SIDE,
            width: INPUT_SIDE,
        };
        let (mut net, image) = Network::new(input);
        let mut x = self.stem.describe(&mut net, "stem", image)?;
        for (i, block) in self.trunk.iter().enumerate() {
            x = block.describe(&mut net, &format!("trunk.{i}"), x)?;
        }
        let points = self.mesh.describe(&mut net, "mesh", x)?;
        let logit = self.score.describe(&mut net, "score", x)?;
        let score = net.push(
            "score.sigmoid",
            Op::Activation(Activation::Sigmoid),
            &[logit],
        )?;
        net.output("points", points);
        net.output("score", score);
        Ok(net)
    }
}
