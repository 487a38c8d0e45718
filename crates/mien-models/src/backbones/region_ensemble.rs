//! Region ensemble ("specialists"): one expert network for the eyes region, one for the
//! mouth region and one for the whole face, fused by learned attention weights — each face
//! decides how much to trust each region (the eyes of a surprised face, the mouth of a
//! smiling one).
//!
//! On an aligned face the eyes lie in the band from 15 % to 55 % of the height and the mouth
//! from 55 % to 95 %; each expert (convolution blocks of 32 and 64 channels, global pooling,
//! a linear projection to `d_expert`) reads its band. The gate scores the three experts'
//! concatenated features and a softmax turns the scores into weights for a weighted sum.
//!
//! With the defaults (48×48 grayscale, d_expert 128) the backbone has 222,243 trainable
//! parameters.

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use mien_core::graph::layers::{activate, dense};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::{Backbone, InputShape};

use super::blocks::ConvStack;

/// Configuration of [`RegionEnsemble`].
#[derive(Config, Debug)]
pub struct RegionEnsembleConfig {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Eyes band as fractions of the height `[top, bottom)`.
    #[config(default = "[0.15, 0.55]")]
    pub eyes: [f32; 2],
    /// Mouth band as fractions of the height `[top, bottom)`.
    #[config(default = "[0.55, 0.95]")]
    pub mouth: [f32; 2],
    /// Channels of each expert's convolution blocks.
    #[config(default = "vec![32, 64]")]
    pub expert_channels: Vec<usize>,
    /// Width of each expert's features; this is the feature dimension.
    #[config(default = 128)]
    pub d_expert: usize,
    /// Dropout in the experts.
    #[config(default = 0.25)]
    pub dropout: f64,
}

/// The three regions, in the order of the experts.
const REGIONS: usize = 3;

impl RegionEnsembleConfig {
    /// Rows `[top, bottom)` of the eyes, mouth and whole-face regions.
    pub fn region_rows(&self) -> [[usize; 2]; REGIONS] {
        let h = self.input.height;
        let rows = |[top, bottom]: [f32; 2]| {
            let start = ((top * h as f32) as usize).min(h.saturating_sub(1));
            [
                start,
                ((bottom * h as f32).ceil() as usize).clamp(start + 1, h),
            ]
        };
        [rows(self.eyes), rows(self.mouth), [0, h]]
    }

    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> RegionEnsemble {
        let experts: Vec<ConvStack> = (0..REGIONS)
            .map(|_| {
                ConvStack::new(
                    self.input.channels,
                    &self.expert_channels,
                    self.dropout,
                    device,
                )
            })
            .collect();
        let projections = experts
            .iter()
            .map(|e| LinearConfig::new(e.out_channels(), self.d_expert).init(device))
            .collect();
        RegionEnsemble {
            experts,
            projections,
            gate: LinearConfig::new(REGIONS * self.d_expert, REGIONS).init(device),
            activation: Relu::new(),
            rows: self.region_rows(),
            input: self.input,
        }
    }
}

/// The region ensemble backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct RegionEnsemble {
    experts: Vec<ConvStack>,
    projections: Vec<Linear>,
    gate: Linear,
    activation: Relu,
    #[module(skip)]
    rows: [[usize; 2]; REGIONS],
    #[module(skip)]
    input: InputShape,
}

impl RegionEnsemble {
    /// The weight each face gives to the eyes, mouth and whole-face experts: `[N, C, H, W] ->
    /// [N, 3]`, rows summing to 1. Also what [`Backbone::features`] uses.
    pub fn region_weights(&self, images: Tensor<4>) -> Tensor<2> {
        self.experts_and_weights(images).1
    }

    /// Each expert's features `[N, 3, d_expert]` and the attention weights `[N, 3]`.
    fn experts_and_weights(&self, images: Tensor<4>) -> (Tensor<3>, Tensor<2>) {
        let [n, ..] = images.dims();
        let features: Vec<Tensor<2>> = self
            .experts
            .iter()
            .zip(&self.projections)
            .zip(self.rows)
            .map(|((expert, projection), [top, bottom])| {
                let region = images.clone().narrow(2, top, bottom - top);
                self.activation
                    .forward(projection.forward(expert.forward_pooled(region)))
            })
            .collect();
        let d = features[0].dims()[1];
        let weights = softmax(self.gate.forward(Tensor::cat(features.clone(), 1)), 1); // [N, 3]
        (
            Tensor::stack::<3>(features, 1).reshape([n, REGIONS, d]),
            weights,
        )
    }
}

impl Backbone for RegionEnsemble {
    /// `[N, C, H, W] -> [N, d_expert]`: the attention-weighted sum of the experts' features.
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let (features, weights) = self.experts_and_weights(images);
        let [n, r, d] = features.dims();
        (features * weights.reshape([n, r, 1]))
            .sum_dim(1)
            .reshape([n, d])
    }

    fn feature_dim(&self) -> usize {
        self.gate.weight.dims()[0] / REGIONS
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let mut features = Vec::with_capacity(REGIONS);
        let experts = self.experts.iter().zip(&self.projections).zip(self.rows);
        for (i, ((expert, projection), [start, end])) in experts.enumerate() {
            let region = net.push(
                format!("regions.{i}"),
                Op::CropRows { start, end },
                &[image],
            )?;
            let pooled = expert.describe_pooled(net, &format!("experts.{i}"), region)?;
            let name = format!("projections.{i}");
            let projected = dense(net, &name, projection, pooled)?;
            features.push(activate(net, &name, Activation::Relu, projected)?);
        }
        let joined = net.push("gate_input", Op::Concat, &features)?;
        let scores = dense(net, "gate", &self.gate, joined)?;
        let weights = net.push("gate.softmax", Op::Softmax, &[scores])?;
        let mut sum = None;
        for (i, feature) in features.into_iter().enumerate() {
            let slice = Op::Slice {
                start: i,
                end: i + 1,
            };
            let weight = net.push(format!("weights.{i}"), slice, &[weights])?;
            let weighted = net.push(format!("weighted.{i}"), Op::Mul, &[feature, weight])?;
            sum = Some(match sum {
                None => weighted,
                Some(sum) => net.push(format!("sum.{i}"), Op::Add, &[sum, weighted])?,
            });
        }
        sum.ok_or_else(|| GraphError::Unsupported {
            layer: "experts".into(),
            problem: "no experts".into(),
        })
    }
}
