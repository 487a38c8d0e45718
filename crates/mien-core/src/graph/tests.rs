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

#[test]
fn a_strided_same_convolution_and_prelu_match_burn() {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::{PReluConfig, PaddingConfig2d};

    let device = device::cpu();
    let input = InputShape {
        channels: 3,
        height: 7,
        width: 6,
    };
    // TensorFlow's "same" with stride 2: 7 rows need 2 padded rows (one on each side), 6
    // columns need 1 (after).
    let conv = Conv2dConfig::new([3, 4], [3, 3])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    let mut prelu = PReluConfig::new().with_num_parameters(4).init(&device);
    prelu.alpha =
        burn::module::Param::from_tensor(Tensor::from_floats([0.1, -0.5, 0.0, 2.0], &device));
    let image = values(input.channels * input.height * input.width, 11);
    let tensor = Tensor::<1>::from_floats(image.as_slice(), &device).reshape([1, 3, 7, 6]);
    let expected = prelu.forward(crate::kernels::conv2d_layer(&conv, tensor));
    let expected = crate::read_f32(expected).unwrap();
    let (mut net, x) = Network::new(input);
    let y = layers::conv(&mut net, "conv", &conv, None, x).unwrap();
    assert!(
        matches!(
            net.nodes()[0].op,
            Op::Pad {
                before: [0, 1, 0],
                after: [0, 1, 1]
            }
        ),
        "{:?}",
        net.nodes()[0].op
    );
    let y = layers::prelu(&mut net, "prelu", &prelu, y).unwrap();
    assert_eq!(y.shape().dims(), [4, 4, 3]);
    net.output("out", y);
    let got = NativeNetwork::new(&net)
        .unwrap()
        .run(&image)
        .unwrap()
        .remove(0);
    assert_close(&got, &expected, 1e-5);
}

#[test]
fn padding_adds_zero_channels_rows_and_columns_around_a_map() {
    let input = InputShape {
        channels: 2,
        height: 2,
        width: 2,
    };
    let image: Vec<f32> = (1..=8).map(|v| v as f32).collect();
    let pad = Op::Pad {
        before: [1, 0, 1],
        after: [2, 1, 0],
    };
    let out = run_native(input, &image, |net, x| net.push("pad", pad, &[x]));
    // [5, 3, 3] channel-first: channel 0 and the last two are zeros; channel 1 holds the
    // first input channel with a zero column before and a zero row after.
    assert_eq!(out.len(), 5 * 3 * 3);
    assert!(out[..9].iter().all(|&v| v == 0.0));
    assert_eq!(&out[9..18], &[0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0]);
    assert_eq!(&out[18..27], &[0.0, 5.0, 6.0, 0.0, 7.0, 8.0, 0.0, 0.0, 0.0]);
    assert!(out[27..].iter().all(|&v| v == 0.0));
}

#[test]
fn prelu_slopes_must_be_one_per_channel_or_one() {
    let input = InputShape {
        channels: 3,
        height: 1,
        width: 2,
    };
    let (mut net, x) = Network::new(input);
    let error = net
        .push("prelu", Op::PRelu(vec![0.1, 0.2]), &[x])
        .unwrap_err();
    assert!(
        error.to_string().contains("2 slopes for 3 channels"),
        "{error}"
    );
    let shared = net.push("shared", Op::PRelu(vec![0.5]), &[x]).unwrap();
    net.output("out", shared);
    let out = NativeNetwork::new(&net)
        .unwrap()
        .run(&[-2.0, 1.0, -4.0, 0.0, 3.0, -1.0])
        .unwrap()
        .remove(0);
    assert_eq!(out, [-1.0, 1.0, -2.0, 0.0, 3.0, -0.5]);
}

#[test]
fn a_strided_depthwise_convolution_takes_over_its_padding_and_a_sum_its_activation() {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;

    let device = device::cpu();
    let input = InputShape {
        channels: 4,
        height: 8,
        width: 8,
    };
    // Stride 2 on 8 pixels: "same" pads one row and column after the map only.
    let depthwise = Conv2dConfig::new([4, 4], [3, 3])
        .with_stride([2, 2])
        .with_groups(4)
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    let pool = burn::nn::pool::MaxPool2dConfig::new([2, 2])
        .with_strides([2, 2])
        .init();
    let image = values(4 * 8 * 8, 5);
    let tensor = Tensor::<1>::from_floats(image.as_slice(), &device).reshape([1, 4, 8, 8]);
    let expected = burn::tensor::activation::relu(
        crate::kernels::conv2d_layer(&depthwise, tensor.clone())
            + crate::kernels::max_pool2d_layer(&pool, tensor),
    );
    let expected = crate::read_f32(expected).unwrap();
    let (mut net, x) = Network::new(input);
    let y = layers::conv(&mut net, "depthwise", &depthwise, None, x).unwrap();
    let shortcut = layers::max_pool(&mut net, "pool", &pool, x).unwrap();
    let sum = net.push("sum", Op::Add, &[y, shortcut]).unwrap();
    let out = layers::activate(&mut net, "sum", Activation::Relu, sum).unwrap();
    net.output("out", out);
    let native = NativeNetwork::new(&net).unwrap();
    // The padded copy and the separate activation pass are gone.
    let kernels = native.kernels();
    assert!(kernels[0].starts_with("Skip"), "{kernels:?}");
    assert!(
        kernels[3].starts_with("Add(Activation(Relu))"),
        "{kernels:?}"
    );
    let got = native.run(&image).unwrap().remove(0);
    assert_close(&got, &expected, 1e-5);
}
