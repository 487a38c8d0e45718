//! One description of a network: a small graph of operations with their trained weights,
//! which every engine that runs a network reads.
//!
//! A burn module describes itself ([`crate::Backbone::describe`], with the helpers in
//! [`layers`]); the description then drives
//!
//! - [`NativeNetwork`], mien's CPU interpreter over [`crate::native`]'s kernels, which runs
//!   one image at a time without burn's per-operation dispatch;
//! - the ONNX exporter (`graph::onnx`, feature `onnx`), which writes the same graph for other
//!   runtimes.
//!
//! Shapes are checked as the graph is built ([`Network::push`]), so a description that does
//! not fit together is an error when it is made, not a panic when it runs. Values are
//! per image: the batch axis is implicit (the first axis in ONNX).
//!
//! ```
//! use mien_core::graph::{Activation, Network, Op};
//! use mien_core::InputShape;
//!
//! let (mut net, image) = Network::new(InputShape { channels: 1, height: 4, width: 4 });
//! let pooled = net.push("pool", Op::GlobalAveragePool, &[image])?;
//! let features = net.push("flatten", Op::Squeeze, &[pooled])?;
//! let out = net.push("relu", Op::Activation(Activation::Relu), &[features])?;
//! net.output("features", out);
//! let native = mien_core::graph::NativeNetwork::new(&net)?;
//! let outputs = native.run(&[1.0; 16])?;
//! assert_eq!(outputs, vec![vec![1.0]]);
//! # Ok::<(), mien_core::graph::GraphError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InputShape;

mod interpreter;
pub mod layers;
#[cfg(feature = "onnx")]
pub mod onnx;

pub use interpreter::NativeNetwork;

/// The shape of one image's value in a [`Network`] (the batch axis is left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Shape {
    /// A feature map, `[C, H, W]`.
    Spatial {
        /// Channels.
        channels: usize,
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
    },
    /// A sequence of tokens, `[T, D]`.
    Tokens {
        /// Tokens.
        tokens: usize,
        /// Values per token.
        width: usize,
    },
    /// A feature vector, `[D]`.
    Vector(usize),
}

impl Shape {
    /// The values one image's value holds.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Spatial {
                channels,
                height,
                width,
            } => channels * height * width,
            Shape::Tokens { tokens, width } => tokens * width,
            Shape::Vector(d) => d,
        }
    }

    /// Whether the value holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dimensions, batch axis left out: `[C, H, W]`, `[T, D]` or `[D]`.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Spatial {
                channels,
                height,
                width,
            } => vec![channels, height, width],
            Shape::Tokens { tokens, width } => vec![tokens, width],
            Shape::Vector(d) => vec![d],
        }
    }

    /// The innermost axis as mien's interpreter stores values: channels of a map (stored
    /// channel-last), width of tokens, length of a vector.
    fn innermost(&self) -> usize {
        match *self {
            Shape::Spatial { channels, .. } => channels,
            Shape::Tokens { width, .. } => width,
            Shape::Vector(d) => d,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl From<InputShape> for Shape {
    fn from(input: InputShape) -> Self {
        Shape::Spatial {
            channels: input.channels,
            height: input.height,
            width: input.width,
        }
    }
}

/// A value in a [`Network`] under construction: the network's input or a node's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    id: usize,
    shape: Shape,
}

impl Value {
    /// Its shape for one image.
    pub fn shape(&self) -> Shape {
        self.shape
    }
}

/// An element-wise activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `x · σ(x)`.
    Silu,
    /// `σ(x) = 1 / (1 + e^−x)`.
    Sigmoid,
    /// `x · Φ(x)`, exact (with the error function), as burn's and PyTorch's default.
    Gelu,
}

/// A 2-D convolution with square kernel and equal padding on every side; batch norm, when
/// the source has one, is folded into its weights and bias ([`layers::conv`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// `[out][in / groups][k][k]`, as burn and PyTorch store it.
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Step on both axes.
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
    /// Channel groups (1: dense; `channels_in`: depthwise).
    pub groups: usize,
}

/// A fully connected layer `y = x·W + b` on a vector or on each token.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// `[inputs][outputs]`, as burn stores it.
    pub weight: Vec<f32>,
    /// `[outputs]`.
    pub bias: Vec<f32>,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
}

/// Multi-head self-attention over tokens, as burn's `MultiHeadAttention` without masks:
/// `softmax(Q·Kᵀ / √d_k)·V` per head, heads concatenated, then the output projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Attention {
    /// Heads; the width divides evenly between them.
    pub heads: usize,
    /// Query projection.
    pub query: Dense,
    /// Key projection.
    pub key: Dense,
    /// Value projection.
    pub value: Dense,
    /// Output projection.
    pub output: Dense,
}

/// One operation of a [`Network`]. Inputs are given to [`Network::push`]; each op says what it
/// takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Map → map.
    Conv(Conv),
    /// Vector → vector, or tokens → tokens.
    Dense(Dense),
    /// Element-wise, any shape.
    Activation(Activation),
    /// Parametric ReLU, `max(0, x) + α · min(0, x)`: one `α` for every channel of a map (or
    /// value of a vector, or width of tokens), or a single `α` for all.
    PRelu(Vec<f32>),
    /// Map → the map with zeros added around it: `before` and `after` cells on each axis of
    /// `[C, H, W]`. Padding channels appends empty feature maps (a residual path that widens);
    /// padding rows and columns unequally gives TensorFlow's "same" padding for strided
    /// layers.
    Pad {
        /// Cells added before the first channel, row and column.
        before: [usize; 3],
        /// Cells added after the last channel, row and column.
        after: [usize; 3],
    },
    /// Two values of one shape → their sum.
    Add,
    /// A value times a second that is the same shape or broadcasts over it: a `[C, 1, 1]`
    /// gate over a `[C, H, W]` map, a `[1, H, W]` gate, or a `[1]` vector over a vector.
    Mul,
    /// Max pooling, square window, padding that never wins.
    MaxPool {
        /// Window side.
        kernel: usize,
        /// Step.
        stride: usize,
        /// −∞ cells on every side.
        padding: usize,
    },
    /// Map `[C, H, W]` → `[C, 1, 1]`, the mean of each channel.
    GlobalAveragePool,
    /// Map `[C, H, W]` → `[C, 1, 1]`, the largest value of each channel.
    GlobalMaxPool,
    /// Map `[C, H, W]` → `[1, H, W]`, the mean over channels at each pixel.
    ChannelMean,
    /// Map `[C, H, W]` → `[1, H, W]`, the largest channel at each pixel.
    ChannelMax,
    /// Map `[C, 1, 1]` → vector `[C]`.
    Squeeze,
    /// Vector `[C]` → map `[C, 1, 1]`.
    Unsqueeze,
    /// Values of one kind joined along channels (maps of one size), features (vectors) or
    /// tokens (tokens of one width).
    Concat,
    /// Map → map of `height × width`, bilinear with corners aligned (burn's default).
    Resize {
        /// Output rows.
        height: usize,
        /// Output columns.
        width: usize,
    },
    /// Map → rows `start..end` of it.
    CropRows {
        /// First row kept.
        start: usize,
        /// One past the last row kept.
        end: usize,
    },
    /// Vector → values `start..end` of it.
    Slice {
        /// First value kept.
        start: usize,
        /// One past the last value kept.
        end: usize,
    },
    /// Map `[C, H, W]` → tokens `[H · W, C]`, one per pixel in row-major order.
    ToTokens,
    /// A learned constant of the value's shape added to it (position embeddings).
    AddConstant(Vec<f32>),
    /// Tokens `[T, D]` → `[T + 1, D]` with a learned token first (a class token).
    PrependToken(Vec<f32>),
    /// Normalisation over the last axis of a vector or of each token, then `· γ + β`.
    LayerNorm {
        /// `γ`, one per value of the last axis.
        gamma: Vec<f32>,
        /// `β`, one per value of the last axis.
        beta: Vec<f32>,
        /// Added to the variance.
        epsilon: f32,
    },
    /// Tokens → tokens.
    SelfAttention(Box<Attention>),
    /// Tokens `[T, D]` → vector `[D]`, their mean.
    MeanTokens,
    /// Tokens `[T, D]` → vector `[D]`, the first.
    FirstToken,
    /// Vector → probabilities.
    Softmax,
}

impl Op {
    /// A short name of the kind of operation, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv(_) => "convolution",
            Op::Dense(_) => "dense",
            Op::Activation(_) => "activation",
            Op::PRelu(_) => "parametric ReLU",
            Op::Pad { .. } => "pad",
            Op::Add => "add",
            Op::Mul => "multiply",
            Op::MaxPool { .. } => "max pool",
            Op::GlobalAveragePool => "global average pool",
            Op::GlobalMaxPool => "global max pool",
            Op::ChannelMean => "channel mean",
            Op::ChannelMax => "channel max",
            Op::Squeeze => "squeeze",
            Op::Unsqueeze => "unsqueeze",
            Op::Concat => "concat",
            Op::Resize { .. } => "resize",
            Op::CropRows { .. } => "crop rows",
            Op::Slice { .. } => "slice",
            Op::ToTokens => "to tokens",
            Op::AddConstant(_) => "add constant",
            Op::PrependToken(_) => "prepend token",
            Op::LayerNorm { .. } => "layer norm",
            Op::SelfAttention(_) => "self-attention",
            Op::MeanTokens => "mean of tokens",
            Op::FirstToken => "first token",
            Op::Softmax => "softmax",
        }
    }
}

/// One operation in a [`Network`], with what it reads and the shape it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A name unique in the network, the module path it comes from (`blocks.0.conv1`).
    pub name: String,
    /// What it does.
    pub op: Op,
    /// Value ids it reads: 0 is the network's input, `i + 1` node `i`'s output.
    pub inputs: Vec<usize>,
    /// The shape of its output.
    pub shape: Shape,
}

/// A network as a graph of [`Op`]s in execution order, from one image input to named
/// outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    input: InputShape,
    nodes: Vec<Node>,
    outputs: Vec<(String, usize)>,
}

/// Why a [`Network`] could not be built, run or exported.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// An op was given inputs it cannot take.
    #[error("node {node:?} ({op}): {problem}")]
    Shape {
        /// The node's name.
        node: String,
        /// Its kind of operation.
        op: &'static str,
        /// What did not fit.
        problem: String,
    },
    /// A layer has settings the description does not cover.
    #[error("layer {layer:?} cannot be described: {problem}")]
    Unsupported {
        /// The layer's module path.
        layer: String,
        /// The setting.
        problem: String,
    },
    /// The backend could not hand over a layer's weights.
    #[error("cannot read the weights of {layer:?}")]
    Weights {
        /// The layer's module path.
        layer: String,
        /// The backend's error.
        #[source]
        source: crate::Error,
    },
    /// Input of the wrong size given to a running network.
    #[error("the network takes {expected} values per image ({shape}); {actual} were given")]
    InputSize {
        /// Values per image.
        expected: usize,
        /// `[C, H, W]`.
        shape: InputShape,
        /// Values given.
        actual: usize,
    },
    /// The ONNX model could not be encoded.
    #[cfg(feature = "onnx")]
    #[error("cannot encode the ONNX model")]
    Encode(#[source] protobuf::Error),
    /// The network has no outputs.
    #[error("the network has no outputs: call `Network::output` before running it")]
    NoOutputs,
}

impl Network {
    /// An empty network over images of `input`, and the value standing for that input.
    pub fn new(input: InputShape) -> (Self, Value) {
        let net = Self {
            input,
            nodes: Vec::new(),
            outputs: Vec::new(),
        };
        let image = Value {
            id: 0,
            shape: input.into(),
        };
        (net, image)
    }

    /// The image shape it reads.
    pub fn input(&self) -> InputShape {
        self.input
    }

    /// Its operations in execution order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Its outputs: names and value ids.
    pub fn outputs(&self) -> &[(String, usize)] {
        &self.outputs
    }

    /// The shape of value `id` (0: the input).
    ///
    /// # Panics
    /// When `id` is not a value of this network.
    pub fn shape_of(&self, id: usize) -> Shape {
        match id {
            0 => self.input.into(),
            id => self.nodes[id - 1].shape,
        }
    }

    /// Appends `op` reading `inputs`, checking that they fit it, and returns its output.
    ///
    /// # Errors
    /// [`GraphError::Shape`] when the inputs' number or shapes do not fit the op, or its
    /// weights do not have the sizes its settings give.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: &[Value],
    ) -> Result<Value, GraphError> {
        let name = name.into();
        let shapes: Vec<Shape> = inputs.iter().map(|v| v.shape).collect();
        let shape = output_shape(&op, &shapes).map_err(|problem| GraphError::Shape {
            node: name.clone(),
            op: op.kind(),
            problem,
        })?;
        self.nodes.push(Node {
            name,
            op,
            inputs: inputs.iter().map(|v| v.id).collect(),
            shape,
        });
        Ok(Value {
            id: self.nodes.len(),
            shape,
        })
    }

    /// Names `value` an output of the network.
    pub fn output(&mut self, name: impl Into<String>, value: Value) {
        self.outputs.push((name.into(), value.id));
    }
}

/// The shape `op` makes from inputs of `shapes`, or what does not fit.
fn output_shape(op: &Op, shapes: &[Shape]) -> Result<Shape, String> {
    let arity = match op {
        Op::Add | Op::Mul => 2,
        Op::Concat => shapes.len().max(1),
        _ => 1,
    };
    if shapes.len() != arity {
        return Err(format!("takes {arity} inputs, {} given", shapes.len()));
    }
    let x = shapes[0];
    let spatial = || match x {
        Shape::Spatial {
            channels,
            height,
            width,
        } => Ok((channels, height, width)),
        other => Err(format!("takes a feature map, not {other}")),
    };
    let tokens = || match x {
        Shape::Tokens { tokens, width } => Ok((tokens, width)),
        other => Err(format!("takes tokens, not {other}")),
    };
    let vector = || match x {
        Shape::Vector(d) => Ok(d),
        other => Err(format!("takes a vector, not {other}")),
    };
    let window = |side: usize, kernel: usize, stride: usize, padding: usize| {
        if stride == 0 || kernel == 0 || side + 2 * padding < kernel {
            Err(format!(
                "a {kernel}-wide window with stride {stride} does not fit {side} cells padded by {padding}"
            ))
        } else {
            Ok((side + 2 * padding - kernel) / stride + 1)
        }
    };
    let dense_fits = |d: &Dense, width: usize| {
        if d.inputs != width {
            Err(format!("takes width {}, not {width}", d.inputs))
        } else if d.weight.len() != d.inputs * d.outputs || d.bias.len() != d.outputs {
            Err(format!(
                "{} weights and {} biases do not make a {}→{} layer",
                d.weight.len(),
                d.bias.len(),
                d.inputs,
                d.outputs
            ))
        } else {
            Ok(())
        }
    };
    match op {
        Op::Conv(c) => {
            let (channels, height, width) = spatial()?;
            let per_group = c.channels_in / c.groups.max(1);
            let expected = c.channels_out * per_group * c.kernel * c.kernel;
            if channels != c.channels_in
                || c.groups == 0
                || c.channels_in % c.groups != 0
                || c.channels_out % c.groups != 0
            {
                return Err(format!(
                    "a {}→{} convolution in {} groups cannot take {channels} channels",
                    c.channels_in, c.channels_out, c.groups
                ));
            }
            if c.weight.len() != expected || c.bias.len() != c.channels_out {
                return Err(format!(
                    "{} weights and {} biases do not make a {}×{} {}→{} convolution",
                    c.weight.len(),
                    c.bias.len(),
                    c.kernel,
                    c.kernel,
                    c.channels_in,
                    c.channels_out
                ));
            }
            Ok(Shape::Spatial {
                channels: c.channels_out,
                height: window(height, c.kernel, c.stride, c.padding)?,
                width: window(width, c.kernel, c.stride, c.padding)?,
            })
        }
        Op::Dense(d) => match x {
            Shape::Vector(width) => dense_fits(d, width).map(|()| Shape::Vector(d.outputs)),
            Shape::Tokens { tokens, width } => dense_fits(d, width).map(|()| Shape::Tokens {
                tokens,
                width: d.outputs,
            }),
            other => Err(format!("takes a vector or tokens, not {other}")),
        },
        Op::Activation(_) => Ok(x),
        Op::PRelu(alpha) if alpha.len() == 1 || alpha.len() == x.innermost() => Ok(x),
        Op::PRelu(alpha) => Err(format!(
            "{} slopes for {} channels: give one per channel or one for all",
            alpha.len(),
            x.innermost()
        )),
        Op::Pad { before, after } => {
            let (channels, height, width) = spatial()?;
            Ok(Shape::Spatial {
                channels: channels + before[0] + after[0],
                height: height + before[1] + after[1],
                width: width + before[2] + after[2],
            })
        }
        Op::Softmax => vector().map(Shape::Vector),
        Op::Add if shapes[1] == x => Ok(x),
        Op::Add => Err(format!("cannot add {} to {x}", shapes[1])),
        Op::Mul => {
            let gate = shapes[1];
            let broadcasts = gate == x
                || match (x, gate) {
                    (
                        Shape::Spatial {
                            channels,
                            height,
                            width,
                        },
                        Shape::Spatial {
                            channels: gc,
                            height: gh,
                            width: gw,
                        },
                    ) => (gc, gh, gw) == (channels, 1, 1) || (gc, gh, gw) == (1, height, width),
                    (Shape::Vector(_), Shape::Vector(1)) => true,
                    _ => false,
                };
            if broadcasts {
                Ok(x)
            } else {
                Err(format!("{gate} does not broadcast over {x}"))
            }
        }
        Op::MaxPool {
            kernel,
            stride,
            padding,
        } => {
            let (channels, height, width) = spatial()?;
            if 2 * padding > *kernel {
                return Err(format!(
                    "padding {padding} exceeds half the {kernel}-wide window"
                ));
            }
            Ok(Shape::Spatial {
                channels,
                height: window(height, *kernel, *stride, *padding)?,
                width: window(width, *kernel, *stride, *padding)?,
            })
        }
        Op::GlobalAveragePool | Op::GlobalMaxPool => {
            let (channels, ..) = spatial()?;
            Ok(Shape::Spatial {
                channels,
                height: 1,
                width: 1,
            })
        }
        Op::ChannelMean | Op::ChannelMax => {
            let (_, height, width) = spatial()?;
            Ok(Shape::Spatial {
                channels: 1,
                height,
                width,
            })
        }
        Op::Squeeze => match spatial()? {
            (channels, 1, 1) => Ok(Shape::Vector(channels)),
            _ => Err(format!("takes a [C, 1, 1] map, not {x}")),
        },
        Op::Unsqueeze => vector().map(|channels| Shape::Spatial {
            channels,
            height: 1,
            width: 1,
        }),
        Op::Concat => concat_shape(shapes),
        Op::Resize { height, width } => {
            let (channels, ..) = spatial()?;
            if *height == 0 || *width == 0 {
                return Err("resizes to nothing".into());
            }
            Ok(Shape::Spatial {
                channels,
                height: *height,
                width: *width,
            })
        }
        Op::CropRows { start, end } => {
            let (channels, height, width) = spatial()?;
            if start >= end || *end > height {
                return Err(format!("rows {start}..{end} are not inside {height}"));
            }
            Ok(Shape::Spatial {
                channels,
                height: end - start,
                width,
            })
        }
        Op::Slice { start, end } => {
            let d = vector()?;
            if start >= end || *end > d {
                return Err(format!("values {start}..{end} are not inside {d}"));
            }
            Ok(Shape::Vector(end - start))
        }
        Op::ToTokens => {
            let (channels, height, width) = spatial()?;
            Ok(Shape::Tokens {
                tokens: height * width,
                width: channels,
            })
        }
        Op::AddConstant(values) if values.len() == x.len() => Ok(x),
        Op::AddConstant(values) => Err(format!("{} values cannot be added to {x}", values.len())),
        Op::PrependToken(token) => {
            let (t, width) = tokens()?;
            if token.len() != width {
                return Err(format!("a {}-wide token cannot join {x}", token.len()));
            }
            Ok(Shape::Tokens {
                tokens: t + 1,
                width,
            })
        }
        Op::LayerNorm { gamma, beta, .. } => {
            if matches!(x, Shape::Spatial { .. }) {
                return Err(format!("takes a vector or tokens, not {x}"));
            }
            if gamma.len() != x.innermost() || beta.len() != x.innermost() {
                return Err(format!(
                    "{} scales and {} shifts for width {}",
                    gamma.len(),
                    beta.len(),
                    x.innermost()
                ));
            }
            Ok(x)
        }
        Op::SelfAttention(a) => {
            let (_, width) = tokens()?;
            if a.heads == 0 || width % a.heads != 0 {
                return Err(format!(
                    "width {width} does not split into {} heads",
                    a.heads
                ));
            }
            for d in [&a.query, &a.key, &a.value, &a.output] {
                dense_fits(d, width)?;
                if d.outputs != width {
                    return Err(format!("projections must keep width {width}"));
                }
            }
            Ok(x)
        }
        Op::MeanTokens | Op::FirstToken => {
            let (t, width) = tokens()?;
            if t == 0 {
                return Err("takes at least one token".into());
            }
            Ok(Shape::Vector(width))
        }
    }
}

/// The shape [`Op::Concat`] makes of `shapes`.
fn concat_shape(shapes: &[Shape]) -> Result<Shape, String> {
    let mismatch = || format!("cannot join {shapes:?}");
    let mut joined = shapes[0];
    for &next in &shapes[1..] {
        joined = match (joined, next) {
            (
                Shape::Spatial {
                    channels,
                    height,
                    width,
                },
                Shape::Spatial {
                    channels: c,
                    height: h,
                    width: w,
                },
            ) if (h, w) == (height, width) => Shape::Spatial {
                channels: channels + c,
                height,
                width,
            },
            (Shape::Vector(a), Shape::Vector(b)) => Shape::Vector(a + b),
            (
                Shape::Tokens { tokens, width },
                Shape::Tokens {
                    tokens: t,
                    width: w,
                },
            ) if w == width => Shape::Tokens {
                tokens: tokens + t,
                width,
            },
            _ => return Err(mismatch()),
        };
    }
    Ok(joined)
}

#[cfg(test)]
mod tests;
