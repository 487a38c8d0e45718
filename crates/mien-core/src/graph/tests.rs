//! Tests of the network description and its interpreter: shapes checked when a network is
//! built, and layers run by the interpreter against burn's.

use burn::nn::LayerNormConfig;
use burn::nn::transformer::{TransformerEncoderConfig, TransformerEncoderInput};
use burn::tensor::Tensor;

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

fn conv(channels_in: usize, channels_out: usize, groups: usize) -> Op {
    Op::Conv(Conv {
        weight: vec![0.5; channels_out * channels_in / groups * 9],
        bias: vec![0.0; channels_out],
        channels_in,
        channels_out,
        kernel: 3,
        stride: 1,
        padding: 1,
        groups,
    })
}

#[test]
fn shapes_that_do_not_fit_are_refused_when_the_network_is_built() {
    let input = InputShape {
        channels: 2,
        height: 4,
        width: 4,
    };
    let (mut net, image) = Network::new(input);
    let wrong = net.push("conv", conv(3, 4, 1), &[image]).unwrap_err();
    assert!(wrong.to_string().contains("\"conv\""), "{wrong}");
    let map = net.push("conv", conv(2, 4, 1), &[image]).unwrap();
    assert_eq!(
        map.shape(),
        Shape::Spatial {
            channels: 4,
            height: 4,
            width: 4
        }
    );
    let error = net.push("add", Op::Add, &[map, image]).unwrap_err();
    assert!(error.to_string().contains("cannot add"), "{error}");
    let tokens = net.push("tokens", Op::ToTokens, &[map]).unwrap();
    assert!(net.push("pool", Op::GlobalAveragePool, &[tokens]).is_err());
    assert!(
        net.push("crop", Op::CropRows { start: 3, end: 5 }, &[map])
            .is_err()
    );
    let pooled = net.push("pool", Op::GlobalAveragePool, &[map]).unwrap();
    let gate = net.push("gate", Op::Mul, &[map, pooled]).unwrap();
    assert_eq!(gate.shape(), map.shape());
    assert!(net.push("gate", Op::Mul, &[pooled, map]).is_err());
}

#[test]
fn the_interpreter_refuses_what_it_cannot_run_before_running() {
    let input = InputShape {
        channels: 4,
        height: 3,
        width: 3,
    };
    let (mut net, image) = Network::new(input);
    assert!(matches!(
        NativeNetwork::new(&net),
        Err(GraphError::NoOutputs)
    ));
    let grouped = net.push("grouped", conv(4, 4, 2), &[image]).unwrap();
    net.output("out", grouped);
    let error = NativeNetwork::new(&net).unwrap_err();
    assert!(matches!(error, GraphError::Unsupported { .. }), "{error}");

    let (mut net, image) = Network::new(input);
    let depthwise = net.push("depthwise", conv(4, 4, 4), &[image]).unwrap();
    net.output("out", depthwise);
    let native = NativeNetwork::new(&net).unwrap();
    let error = native.run(&[1.0; 35]).unwrap_err();
    assert!(matches!(
        error,
        GraphError::InputSize {
            expected: 36,
            actual: 35,
            ..
        }
    ));
    // A depthwise 3×3 of weights 0.5 over ones: the centre sees 9 taps, a corner 4.
    let out = native.run(&[1.0; 36]).unwrap().remove(0);
    assert_eq!(out.len(), 36);
    assert_eq!((out[4], out[0]), (4.5, 2.0));
}
