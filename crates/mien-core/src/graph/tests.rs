//! Tests of the network description and its interpreter: shapes checked when a network is
//! built, and layers run by the interpreter against burn's.

use burn::nn::LayerNormConfig;
use burn::nn::transformer::{TransformerEncoderConfig, TransformerEncoderInput};
use burn::prelude::*;

use super::*;
use crate::device;

/// Deterministic values in `[-1, 1]`.
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i + seed) * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn assert_close(native: &[f32], burn: &[f32], tolerance: f32) {
    assert_eq!(native.len(), burn.len());
    for (i, (a, b)) in native.iter().zip(burn).enumerate() {
        assert!(
            (a - b).abs() <= tolerance,
            "value {i}: native {a}, burn {b}"
        );
    }
}

/// Runs `describe` on an image-shaped `[C, H, W]` input through the interpreter.
fn run_native(
    input: InputShape,
    image: &[f32],
    describe: impl FnOnce(&mut Network, Value) -> Result<Value, GraphError>,
) -> Vec<f32> {
    let (mut net, x) = Network::new(input);
    let out = describe(&mut net, x).unwrap();
    net.output("out", out);
    NativeNetwork::new(&net)
        .unwrap()
        .run(image)
        .unwrap()
        .remove(0)
}

#[test]
fn a_pre_norm_encoder_matches_burn() {
    let device = device::cpu();
    let (tokens, width) = (5, 8);
    let encoder = TransformerEncoderConfig::new(width, 16, 2, 2)
        .with_norm_first(true)
        .with_dropout(0.0)
        .init(&device);
    let norm = LayerNormConfig::new(width).init(&device);
    let x = values(tokens * width, 3);
    let input = Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, tokens, width]);
    let expected = norm.forward(encoder.forward(TransformerEncoderInput::new(input)));
    let expected = crate::read_f32(expected).unwrap();
    // The input as a [width, 1, tokens] map: its tokens are the pixels.
    let shape = InputShape {
        channels: width,
        height: 1,
        width: tokens,
    };
    let chw: Vec<f32> = (0..tokens * width)
        .map(|i| x[(i % tokens) * width + i / tokens])
        .collect();
    let got = run_native(shape, &chw, |net, image| {
        let t = net.push("tokens", Op::ToTokens, &[image])?;
        let t = layers::encoder(net, "encoder", &encoder, t)?;
        layers::layer_norm(net, "norm", &norm, t)
    });
    assert_close(&got, &expected, 1e-5);
}
