//! [`NativeNetwork`]: a [`Network`] run on the CPU by [`crate::native`]'s kernels, one image
//! at a time on the calling thread.
//!
//! Maps are stored channel-last (as [`Map`]), so that a pixel's channels are contiguous:
//! a map's tokens (`[H · W, C]`) and a `[C, 1, 1]` map's vector are then the same values in
//! the same order, and those ops cost nothing.

use std::borrow::Cow;

use pulp::{Simd, WithSimd};

use super::{Activation, Attention, Conv, Dense, GraphError, Network, Op, Shape};
use crate::InputShape;
use crate::native::{self, Map, fma_vv, matmul, vector_arch};

/// A [`Network`] compiled for mien's native CPU kernels: weights re-laid out for them once,
/// then [`NativeNetwork::run`] per image.
#[derive(Debug, Clone)]
pub struct NativeNetwork {
    input: InputShape,
    steps: Vec<Step>,
    outputs: Vec<usize>,
    /// For each value id, the last step that reads it (values are freed after it).
    last_use: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Step {
    inputs: Vec<usize>,
    kernel: Kernel,
    shape: Shape,
}

/// One op ready to run. Ops that only rename a layout (squeeze, unsqueeze, to tokens) are
/// [`Kernel::Same`].
#[derive(Debug, Clone)]
enum Kernel {
    Conv(native::Conv2d),
    Depthwise3x3(native::Depthwise3x3, Vec<f32>),
    Depthwise(Depthwise),
    Dense(Dense),
    Activation(Activation),
    PRelu(Vec<f32>),
    Pad([usize; 3]),
    /// A sum, with the activation that follows it folded in (one pass instead of two).
    Add(Epilogue),
    /// Nothing: a step whose work another step took over (its value is never read).
    Skip,
    Mul,
    MaxPool([usize; 3]),
    GlobalAveragePool,
    GlobalMaxPool,
    ChannelMean,
    ChannelMax,
    Same,
    Concat,
    Resize,
    CropRows(usize, usize),
    Slice(usize, usize),
    AddConstant(Vec<f32>),
    PrependToken(Vec<f32>),
    LayerNorm(Vec<f32>, Vec<f32>, f32),
    SelfAttention(Box<Attention>),
    MeanTokens,
    FirstToken,
    Softmax,
}

impl NativeNetwork {
    /// Compiles `network`.
    ///
    /// # Errors
    /// [`GraphError::Unsupported`] for an op the kernels do not cover (grouped convolutions
    /// other than dense and depthwise); [`GraphError::NoOutputs`] for a network without
    /// outputs.
    pub fn new(network: &Network) -> Result<Self, GraphError> {
        if network.outputs().is_empty() {
            return Err(GraphError::NoOutputs);
        }
        let steps = network
            .nodes()
            .iter()
            .map(|node| {
                let input_shape = network.shape_of(node.inputs[0]);
                Ok(Step {
                    inputs: node.inputs.clone(),
                    kernel: kernel(&node.name, &node.op, input_shape)?,
                    shape: node.shape,
                })
            })
            .collect::<Result<Vec<_>, GraphError>>()?;
        let outputs: Vec<usize> = network.outputs().iter().map(|&(_, id)| id).collect();
        let mut steps = steps;
        // How many steps read each value; neither fold changes it for a value it folds away.
        let mut readers = vec![0usize; steps.len() + 1];
        for step in &steps {
            step.inputs.iter().for_each(|&v| readers[v] += 1);
        }
        fuse_epilogues(&mut steps, &readers, &outputs);
        fold_padding(&mut steps, &readers, &outputs);
        let mut last_use = vec![0; steps.len() + 1];
        for (i, step) in steps.iter().enumerate() {
            step.inputs.iter().for_each(|&v| last_use[v] = i);
        }
        // Outputs live to the end.
        outputs.iter().for_each(|&v| last_use[v] = usize::MAX);
        Ok(Self {
            input: network.input(),
            steps,
            outputs,
            last_use,
        })
    }

    /// The network `describe` gives, compiled, when `device` is the CPU, where mien runs
    /// networks on this interpreter; `None` on other devices (burn runs them there), without
    /// calling `describe`.
    ///
    /// # Errors
    /// Those of `describe` and [`NativeNetwork::new`].
    pub fn on_cpu(
        device: &burn::tensor::Device,
        describe: impl FnOnce() -> Result<Network, GraphError>,
    ) -> Result<Option<Self>, GraphError> {
        crate::device::is_cpu(device)
            .then(|| describe().and_then(|network| Self::new(&network)))
            .transpose()
    }

    /// The image shape it reads.
    pub fn input(&self) -> InputShape {
        self.input
    }

    /// The network's outputs for one image given channel-first (`[C, H, W]`, flattened, as
    /// preprocessing makes it), in the order they were named; maps come back channel-first
    /// too.
    ///
    /// # Errors
    /// [`GraphError::InputSize`] when `image` is not one image of the network's input shape.
    pub fn run(&self, image: &[f32]) -> Result<Vec<Vec<f32>>, GraphError> {
        self.check_input(image)?;
        let InputShape {
            channels,
            height,
            width,
        } = self.input;
        Ok(self.run_map(Map::from_chw(channels, height, width, image)))
    }

    /// [`NativeNetwork::run`] for an image given channel-last (`[H, W, C]`, flattened, as
    /// image buffers hold pixels), which saves reordering it.
    ///
    /// # Errors
    /// [`GraphError::InputSize`] when `image` is not one image of the network's input shape.
    pub fn run_channel_last(&self, image: Vec<f32>) -> Result<Vec<Vec<f32>>, GraphError> {
        self.check_input(&image)?;
        let input = self.input;
        Ok(self.run_map(Map::new(input.height, input.width, input.channels, image)))
    }

    fn check_input(&self, image: &[f32]) -> Result<(), GraphError> {
        let InputShape {
            channels,
            height,
            width,
        } = self.input;
        let expected = channels * height * width;
        if image.len() != expected {
            return Err(GraphError::InputSize {
                expected,
                shape: self.input,
                actual: image.len(),
            });
        }
        Ok(())
    }

    /// Each step's kernel as `Debug` prints it, for tests of what compiling folded.
    #[cfg(test)]
    pub(super) fn kernels(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("{:?}", s.kernel))
            .collect()
    }

    /// The outputs for an input map of the network's shape.
    fn run_map(&self, input: Map) -> Vec<Vec<f32>> {
        let mut values: Vec<Option<Map>> = vec![None; self.steps.len() + 1];
        let mut shapes: Vec<Shape> = Vec::with_capacity(self.steps.len() + 1);
        values[0] = Some(input);
        shapes.push(self.input.into());
        for (i, step) in self.steps.iter().enumerate() {
            let (&first, rest) = step.inputs.split_first().expect("every op reads a value");
            // The first input is handed over when nothing reads it later, so that
            // element-wise ops work in place.
            let x = if self.last_use[first] == i && !rest.contains(&first) {
                Cow::Owned(values[first].take().expect("computed before use"))
            } else {
                Cow::Borrowed(values[first].as_ref().expect("computed before use"))
            };
            let others: Vec<(&Map, Shape)> = rest
                .iter()
                .map(|&v| (values[v].as_ref().expect("computed before use"), shapes[v]))
                .collect();
            let out = execute(&step.kernel, x, shapes[first], &others, step.shape);
            debug_assert!(
                matches!(step.kernel, Kernel::Skip) || out.data.len() == step.shape.len(),
                "{:?}",
                step.kernel
            );
            for &v in &step.inputs {
                if self.last_use[v] == i {
                    values[v] = None;
                }
            }
            values[i + 1] = Some(out);
            shapes.push(step.shape);
        }
        self.outputs
            .iter()
            .map(|&v| {
                let data = values[v].as_ref().expect("outputs are kept").data.clone();
                match shapes[v] {
                    Shape::Spatial {
                        channels,
                        height,
                        width,
                    } if height * width > 1 => to_chw(&data, channels),
                    _ => data,
                }
            })
            .collect()
    }
}

/// What an [`Kernel::Add`] applies to its sum before storing it.
#[derive(Debug, Clone)]
enum Epilogue {
    None,
    Activation(Activation),
    PRelu(Vec<f32>),
}

impl Epilogue {
    fn apply(&self, values: &mut [f32]) {
        match self {
            Epilogue::None => {}
            Epilogue::Activation(a) => activation(*a, values),
            Epilogue::PRelu(alpha) => prelu(values, alpha),
        }
    }
}

/// Folds an activation or PReLU into the sum before it when nothing else reads the sum (a
/// residual block's `activation(x + f(x))`): the step after becomes a pass-through.
fn fuse_epilogues(steps: &mut [Step], readers: &[usize], outputs: &[usize]) {
    for i in 0..steps.len().saturating_sub(1) {
        let sum = i + 1;
        let single_reader = steps[i + 1].inputs == [sum] && readers[sum] == 1;
        if !matches!(steps[i].kernel, Kernel::Add(Epilogue::None))
            || !single_reader
            || outputs.contains(&sum)
        {
            continue;
        }
        let epilogue = match &steps[i + 1].kernel {
            Kernel::Activation(a) => Epilogue::Activation(*a),
            Kernel::PRelu(alpha) => Epilogue::PRelu(alpha.clone()),
            _ => continue,
        };
        steps[i].kernel = Kernel::Add(epilogue);
        steps[i + 1].kernel = Kernel::Same;
    }
}

/// Lets a depthwise convolution pad its input itself when the padding before it is the
/// same on both axes (TensorFlow's "same" for a stride of 2 pads only after the map, which
/// the kernel's bounds already cover): the padded copy is never made.
fn fold_padding(steps: &mut [Step], readers: &[usize], outputs: &[usize]) {
    for j in 0..steps.len() {
        let padded = steps[j].inputs[0];
        if padded == 0 || readers[padded] != 1 || outputs.contains(&padded) {
            continue;
        }
        let pad_step = padded - 1;
        let Kernel::Pad([0, top, left]) = steps[pad_step].kernel else {
            continue;
        };
        let source = steps[pad_step].inputs[0];
        let same_channels = steps[pad_step].shape.innermost() == steps[j].shape.innermost();
        let Kernel::Depthwise(conv) = &mut steps[j].kernel else {
            continue;
        };
        if top != left || conv.padding != 0 || !same_channels {
            continue;
        }
        conv.padding = top;
        steps[j].inputs[0] = source;
        steps[pad_step].kernel = Kernel::Skip;
    }
}

/// The kernel of node `name` running `op` on an input of `input` shape.
fn kernel(name: &str, op: &Op, input: Shape) -> Result<Kernel, GraphError> {
    Ok(match op {
        Op::Conv(conv) => conv_kernel(name, conv)?,
        Op::Dense(dense) => Kernel::Dense(dense.clone()),
        Op::Activation(a) => Kernel::Activation(*a),
        Op::PRelu(alpha) => Kernel::PRelu(alpha.clone()),
        &Op::Pad { before, .. } => Kernel::Pad(before),
        Op::Add => Kernel::Add(Epilogue::None),
        Op::Mul => Kernel::Mul,
        &Op::MaxPool {
            kernel,
            stride,
            padding,
        } => Kernel::MaxPool([kernel, stride, padding]),
        Op::GlobalAveragePool => Kernel::GlobalAveragePool,
        Op::GlobalMaxPool => Kernel::GlobalMaxPool,
        Op::ChannelMean => Kernel::ChannelMean,
        Op::ChannelMax => Kernel::ChannelMax,
        Op::Squeeze | Op::Unsqueeze | Op::ToTokens => Kernel::Same,
        Op::Concat => Kernel::Concat,
        Op::Resize { .. } => Kernel::Resize,
        &Op::CropRows { start, end } => Kernel::CropRows(start, end),
        &Op::Slice { start, end } => Kernel::Slice(start, end),
        Op::AddConstant(values) => Kernel::AddConstant(match input {
            Shape::Spatial { channels, .. } => {
                Map::from_chw(channels, 1, input.len() / channels.max(1), values).data
            }
            _ => values.clone(),
        }),
        Op::PrependToken(token) => Kernel::PrependToken(token.clone()),
        Op::LayerNorm {
            gamma,
            beta,
            epsilon,
        } => Kernel::LayerNorm(gamma.clone(), beta.clone(), *epsilon),
        Op::SelfAttention(a) => Kernel::SelfAttention(a.clone()),
        Op::MeanTokens => Kernel::MeanTokens,
        Op::FirstToken => Kernel::FirstToken,
        Op::Softmax => Kernel::Softmax,
    })
}

fn conv_kernel(name: &str, conv: &Conv) -> Result<Kernel, GraphError> {
    let depthwise = conv.groups == conv.channels_in && conv.channels_out == conv.channels_in;
    if conv.groups == 1 {
        return Ok(Kernel::Conv(native::Conv2d::from_oihw(
            &conv.weight,
            conv.channels_out,
            conv.channels_in,
            conv.kernel,
            Some(&conv.bias),
            conv.stride,
            conv.padding,
        )));
    }
    if !depthwise {
        return Err(GraphError::Unsupported {
            layer: name.into(),
            problem: format!(
                "a convolution in {} groups of {} channels: the native kernels run dense and depthwise ones",
                conv.groups,
                conv.channels_in / conv.groups
            ),
        });
    }
    if (conv.kernel, conv.stride, conv.padding) == (3, 1, 1) {
        let layer = native::Depthwise3x3::from_oihw(&conv.weight, conv.channels_in);
        return Ok(Kernel::Depthwise3x3(layer, conv.bias.clone()));
    }
    Ok(Kernel::Depthwise(Depthwise::new(conv)))
}

/// A value of `shape` over `data`, laid out as the interpreter stores it: maps channel-last,
/// tokens as one row of pixels, vectors as one pixel.
fn stored(shape: Shape, data: Vec<f32>) -> Map {
    let (height, width, channels) = layout(shape);
    Map::new(height, width, channels, data)
}

/// `(height, width, channels)` of a value of `shape` as it is stored.
fn layout(shape: Shape) -> (usize, usize, usize) {
    match shape {
        Shape::Spatial {
            channels,
            height,
            width,
        } => (height, width, channels),
        Shape::Tokens { tokens, width } => (1, tokens, width),
        Shape::Vector(d) => (1, 1, d),
    }
}

/// Runs `kernel` on `x` (of `x_shape`) and the `others` it reads, making a value of `shape`.
/// Element-wise kernels work in place when `x` is handed over.
fn execute(
    kernel: &Kernel,
    x: Cow<'_, Map>,
    x_shape: Shape,
    others: &[(&Map, Shape)],
    shape: Shape,
) -> Map {
    let (height, width, channels) = layout(x_shape);
    let in_place = |x: Cow<'_, Map>, f: &dyn Fn(&mut [f32])| {
        let mut x = x.into_owned();
        f(&mut x.data);
        stored(shape, x.data)
    };
    let new = |data: Vec<f32>| stored(shape, data);
    match kernel {
        Kernel::Conv(conv) => conv.forward(&x),
        Kernel::Depthwise3x3(conv, bias) => {
            let mut out = conv.forward(&x);
            add_per_channel(&mut out.data, bias);
            out
        }
        Kernel::Depthwise(conv) => new(conv.forward(&x.data, height, width, shape)),
        Kernel::Dense(dense) => new(matmul(&x.data, &dense.weight, &dense.bias)),
        Kernel::Activation(a) => in_place(x, &|v| activation(*a, v)),
        Kernel::PRelu(alpha) => in_place(x, &|v| prelu(v, alpha)),
        Kernel::Pad(before) => new(pad(&x.data, [height, width, channels], *before, shape)),
        Kernel::Add(epilogue) => in_place(x, &|v| add(v, &others[0].0.data, channels, epilogue)),
        Kernel::Mul => in_place(x, &|v| multiply(v, &others[0].0.data, others[0].1)),
        Kernel::MaxPool([kernel, stride, padding]) => x.max_pool(*kernel, *stride, *padding),
        Kernel::GlobalAveragePool => new(x.global_average()),
        Kernel::GlobalMaxPool => new(x.data.chunks_exact(channels).fold(
            vec![f32::NEG_INFINITY; channels],
            |mut m, pixel| {
                m.iter_mut().zip(pixel).for_each(|(m, &v)| *m = m.max(v));
                m
            },
        )),
        Kernel::ChannelMean => new(x
            .data
            .chunks_exact(channels)
            .map(|pixel| pixel.iter().sum::<f32>() / channels as f32)
            .collect()),
        Kernel::ChannelMax => new(x
            .data
            .chunks_exact(channels)
            .map(|pixel| pixel.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            .collect()),
        Kernel::Same => in_place(x, &|_| {}),
        Kernel::Skip => Map::new(0, 0, 0, Vec::new()),
        Kernel::Concat => {
            let mut all = vec![(&*x, x_shape)];
            all.extend_from_slice(others);
            new(concat(&all))
        }
        Kernel::Resize => new(resize(&x.data, height, width, channels, shape)),
        Kernel::CropRows(start, end) => {
            new(x.data[start * width * channels..end * width * channels].to_vec())
        }
        Kernel::Slice(start, end) => new(x.data[*start..*end].to_vec()),
        Kernel::AddConstant(values) => {
            in_place(x, &|v| v.iter_mut().zip(values).for_each(|(a, b)| *a += b))
        }
        Kernel::PrependToken(token) => new([token.as_slice(), &x.data].concat()),
        Kernel::LayerNorm(gamma, beta, epsilon) => new(layer_norm(&x.data, gamma, beta, *epsilon)),
        Kernel::SelfAttention(attention) => new(self_attention(attention, &x.data, channels)),
        Kernel::MeanTokens => {
            let mut sums = vec![0.0; channels];
            for token in x.data.chunks_exact(channels) {
                sums.iter_mut().zip(token).for_each(|(s, &v)| *s += v);
            }
            sums.iter_mut().for_each(|s| *s /= width as f32);
            new(sums)
        }
        Kernel::FirstToken => new(x.data[..channels].to_vec()),
        Kernel::Softmax => new(softmax(&x.data)),
    }
}

/// `values[p · C + c] += per_channel[c]`.
fn add_per_channel(values: &mut [f32], per_channel: &[f32]) {
    for pixel in values.chunks_exact_mut(per_channel.len()) {
        pixel.iter_mut().zip(per_channel).for_each(|(v, b)| *v += b);
    }
}

fn activation(activation: Activation, x: &mut [f32]) {
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    match activation {
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Silu => x.iter_mut().for_each(|v| *v *= sigmoid(*v)),
        Activation::Sigmoid => x.iter_mut().for_each(|v| *v = sigmoid(*v)),
        Activation::Gelu => x
            .iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + libm::erff(*v * std::f32::consts::FRAC_1_SQRT_2))),
    }
}

/// `x += y`, then `epilogue` on the sum, a cache-sized block at a time; `channels` is the
/// innermost axis (blocks hold whole pixels, for per-channel epilogues).
fn add(x: &mut [f32], y: &[f32], channels: usize, epilogue: &Epilogue) {
    let block = channels.max(1) * 2048_usize.div_ceil(channels.max(1));
    for (xs, ys) in x.chunks_mut(block).zip(y.chunks(block)) {
        xs.iter_mut().zip(ys).for_each(|(a, b)| *a += b);
        epilogue.apply(xs);
    }
}

/// `max(0, x) + α · min(0, x)`, `α` per channel (the innermost axis) or one for all.
/// Branch-free, so that it vectorises and signs do not cost mispredictions.
fn prelu(x: &mut [f32], alpha: &[f32]) {
    let leak = |v: &mut f32, a: f32| *v = v.max(0.0) + a * v.min(0.0);
    match alpha {
        [] => {}
        [a] => x.iter_mut().for_each(|v| leak(v, *a)),
        _ => x
            .chunks_exact_mut(alpha.len())
            .for_each(|pixel| pixel.iter_mut().zip(alpha).for_each(|(v, &a)| leak(v, a))),
    }
}

/// A channel-last `[height, width, channels]` map with zeros around it: `before` cells
/// before its first channel, row and column, making a map of `shape`.
fn pad(
    x: &[f32],
    [height, width, channels]: [usize; 3],
    before: [usize; 3],
    shape: Shape,
) -> Vec<f32> {
    let (out_h, out_w, out_c) = layout(shape);
    let mut out = vec![0.0; out_h * out_w * out_c];
    if channels == 0 {
        return out;
    }
    for y in 0..height {
        for (col, pixel) in x[y * width * channels..][..width * channels]
            .chunks_exact(channels)
            .enumerate()
        {
            let at = ((y + before[1]) * out_w + col + before[2]) * out_c + before[0];
            out[at..at + channels].copy_from_slice(pixel);
        }
    }
    out
}

/// `x · gate`, the gate broadcast over `x`: the same shape, one value per pixel (a
/// `[1, H, W]` gate, or `[1]` over a vector), or a `[C, 1, 1]` gate over every pixel of a
/// channel-last map.
fn multiply(x: &mut [f32], gate: &[f32], gate_shape: Shape) {
    if gate.len() == x.len() {
        x.iter_mut().zip(gate).for_each(|(v, g)| *v *= g);
    } else if matches!(
        gate_shape,
        Shape::Spatial { channels: 1, .. } | Shape::Vector(1)
    ) {
        let per_pixel = x.len() / gate.len();
        x.chunks_exact_mut(per_pixel)
            .zip(gate)
            .for_each(|(pixel, g)| pixel.iter_mut().for_each(|v| *v *= g));
    } else {
        for pixel in x.chunks_exact_mut(gate.len()) {
            pixel.iter_mut().zip(gate).for_each(|(v, g)| *v *= g);
        }
    }
}

/// Values joined along the last axis of maps (channels, per pixel) or appended (vectors,
/// tokens).
fn concat(inputs: &[(&Map, Shape)]) -> Vec<f32> {
    match inputs[0].1 {
        Shape::Spatial { height, width, .. } => {
            let mut out = Vec::with_capacity(inputs.iter().map(|(x, _)| x.data.len()).sum());
            for p in 0..height * width {
                for (x, shape) in inputs {
                    let c = shape.innermost();
                    out.extend_from_slice(&x.data[p * c..(p + 1) * c]);
                }
            }
            out
        }
        _ => inputs
            .iter()
            .flat_map(|(x, _)| x.data.iter().copied())
            .collect(),
    }
}

/// Bilinear resizing with corners aligned (burn's `Interpolate2d` default), channel-last.
fn resize(x: &[f32], height: usize, width: usize, channels: usize, shape: Shape) -> Vec<f32> {
    let Shape::Spatial {
        height: out_h,
        width: out_w,
        ..
    } = shape
    else {
        unreachable!("checked when the network was built")
    };
    let ratio = |from: usize, to: usize| (from as f64 - 1.0) / (to.max(2) - 1) as f64;
    let (ry, rx) = (ratio(height, out_h), ratio(width, out_w));
    let taps = |o: usize, r: f64, side: usize| {
        let at = o as f64 * r;
        let low = (at.floor().max(0.0) as usize).min(side - 1);
        let high = (low + 1).min(side - 1);
        (low, high, (at - low as f64).max(0.0) as f32)
    };
    let mut out = Vec::with_capacity(out_h * out_w * channels);
    for oy in 0..out_h {
        let (y0, y1, wy) = taps(oy, ry, height);
        for ox in 0..out_w {
            let (x0, x1, wx) = taps(ox, rx, width);
            for c in 0..channels {
                let a = x[(y0 * width + x0) * channels + c];
                let b = x[(y0 * width + x1) * channels + c];
                let d = x[(y1 * width + x0) * channels + c];
                let e = x[(y1 * width + x1) * channels + c];
                out.push(
                    a * (1.0 - wx) * (1.0 - wy)
                        + b * wx * (1.0 - wy)
                        + d * (1.0 - wx) * wy
                        + e * wx * wy,
                );
            }
        }
    }
    out
}

fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f32) -> Vec<f32> {
    let width = gamma.len();
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(width) {
        let mean = row.iter().sum::<f32>() / width as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
        let scale = 1.0 / (var + epsilon).sqrt();
        out.extend(
            row.iter()
                .zip(gamma)
                .zip(beta)
                .map(|((v, g), b)| (v - mean) * scale * g + b),
        );
    }
    out
}

/// Multi-head self-attention on `[T, D]` tokens.
fn self_attention(attention: &Attention, x: &[f32], width: usize) -> Vec<f32> {
    let tokens = x.len() / width;
    let heads = attention.heads;
    let d_k = width / heads;
    let project = |dense: &Dense| matmul(x, &dense.weight, &dense.bias);
    let (query, key, value) = (
        project(&attention.query),
        project(&attention.key),
        project(&attention.value),
    );
    let scale = 1.0 / (d_k as f32).sqrt();
    let mut context = vec![0.0; tokens * width];
    let no_bias_t = vec![0.0; tokens];
    let no_bias_k = vec![0.0; d_k];
    for h in 0..heads {
        let columns = h * d_k..(h + 1) * d_k;
        let q: Vec<f32> = query
            .chunks_exact(width)
            .flat_map(|row| row[columns.clone()].iter().map(|v| v * scale))
            .collect();
        // Kᵀ: [d_k][T].
        let mut key_t = vec![0.0; d_k * tokens];
        for (t, row) in key.chunks_exact(width).enumerate() {
            for (i, &v) in row[columns.clone()].iter().enumerate() {
                key_t[i * tokens + t] = v;
            }
        }
        let v: Vec<f32> = value
            .chunks_exact(width)
            .flat_map(|row| row[columns.clone()].iter().copied())
            .collect();
        let mut scores = matmul(&q, &key_t, &no_bias_t);
        for row in scores.chunks_exact_mut(tokens) {
            row.copy_from_slice(&softmax(row));
        }
        let head = matmul(&scores, &v, &no_bias_k);
        for (out, row) in context.chunks_exact_mut(width).zip(head.chunks_exact(d_k)) {
            out[columns.clone()].copy_from_slice(row);
        }
    }
    matmul(&context, &attention.output.weight, &attention.output.bias)
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// A channel-last map back to channel-first order.
fn to_chw(data: &[f32], channels: usize) -> Vec<f32> {
    let pixels = data.len() / channels.max(1);
    (0..data.len())
        .map(|i| data[(i % pixels) * channels + i / pixels])
        .collect()
}

/// A depthwise convolution of any square kernel, stride and padding, with bias, over a
/// channel-last map: each output pixel sums its taps' pixels times the taps' weights, a
/// vector of channels at a time.
#[derive(Debug, Clone)]
struct Depthwise {
    kernel: usize,
    stride: usize,
    padding: usize,
    /// `[k · k][C]`: tap, then channel.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Depthwise {
    fn new(conv: &Conv) -> Self {
        let (c, taps) = (conv.channels_in, conv.kernel * conv.kernel);
        let weights = (0..taps * c)
            .map(|i| conv.weight[(i % c) * taps + i / c])
            .collect();
        Self {
            kernel: conv.kernel,
            stride: conv.stride,
            padding: conv.padding,
            weights,
            bias: conv.bias.clone(),
        }
    }

    fn forward(&self, x: &[f32], height: usize, width: usize, shape: Shape) -> Vec<f32> {
        let Shape::Spatial {
            height: out_h,
            width: out_w,
            channels,
        } = shape
        else {
            unreachable!("checked when the network was built")
        };
        struct Pass<'a> {
            layer: &'a Depthwise,
            x: &'a [f32],
            sides: [usize; 5],
        }
        impl WithSimd for Pass<'_> {
            type Output = Vec<f32>;

            #[inline(always)]
            fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
                let Self {
                    layer,
                    x,
                    sides: [height, width, channels, out_h, out_w],
                } = self;
                let (k, s, p) = (layer.kernel, layer.stride, layer.padding);
                let mut out = layer.bias.repeat(out_h * out_w);
                for (o, pixel) in out.chunks_exact_mut(channels).enumerate() {
                    let (oy, ox) = (o / out_w, o % out_w);
                    for ky in 0..k {
                        let Some(iy) = (oy * s + ky).checked_sub(p).filter(|&y| y < height) else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ix) = (ox * s + kx).checked_sub(p).filter(|&x| x < width)
                            else {
                                continue;
                            };
                            let input = &x[(iy * width + ix) * channels..][..channels];
                            let tap = &layer.weights[(ky * k + kx) * channels..][..channels];
                            fma_vv(simd, pixel, input, tap);
                        }
                    }
                }
                out
            }
        }
        vector_arch().dispatch(Pass {
            layer: self,
            x,
            sides: [height, width, channels, out_h, out_w],
        })
    }
}
