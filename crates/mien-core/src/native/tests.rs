//! The native layers against hand-computed values and against burn's own operations.

use std::ops::Range;

use burn::prelude::*;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use proptest::prelude::*;

use super::*;

fn device() -> Device {
    crate::device::cpu()
}

/// A `[1, C, H, W]` tensor of `map`.
fn tensor_of(map: &Map) -> Tensor<4> {
    let (h, w, c) = (map.height, map.width, map.channels);
    let chw: Vec<f32> = (0..c * h * w)
        .map(|i| map.data[(i % (h * w)) * c + i / (h * w)])
        .collect();
    Tensor::from_data(TensorData::new(chw, [1, c, h, w]), &device())
}

/// The channel-last map of a `[1, C, H, W]` tensor.
fn map_of(tensor: Tensor<4>) -> Map {
    let [_, c, h, w] = tensor.dims();
    Map::from_chw(c, h, w, &crate::read_f32(tensor).unwrap())
}

/// burn's convolution of `input` with `[out][in / groups][k][k]` weights.
fn burn_conv(
    input: &Map,
    (weights, shape): (Vec<f32>, [usize; 4]),
    bias: Option<Vec<f32>>,
    options: ConvOptions<2>,
) -> Map {
    let bias = bias.map(|b| {
        let n = b.len();
        Tensor::from_data(TensorData::new(b, [n]), &device())
    });
    let weights = Tensor::from_data(TensorData::new(weights, shape), &device());
    map_of(conv2d(tensor_of(input), weights, bias, options))
}

/// Maps of `sides` × `sides` pixels and `channels` channels, filled with [`values`].
fn maps(sides: Range<usize>, channels: Range<usize>) -> impl Strategy<Value = Map> {
    (sides.clone(), sides, channels, any::<u32>())
        .prop_map(|(h, w, c, seed)| Map::new(h, w, c, values(h * w * c, seed)))
}

/// Deterministic values in `[-1, 1)`.
fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let x = (i ^ seed.wrapping_mul(0x9e37_79b9)).wrapping_mul(0x85eb_ca6b) >> 8;
            x as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn assert_close(a: &Map, b: &Map, tolerance: f32) {
    assert_eq!(
        (a.height, a.width, a.channels),
        (b.height, b.width, b.channels)
    );
    for (i, (x, y)) in a.data.iter().zip(&b.data).enumerate() {
        assert!((x - y).abs() <= tolerance, "value {i}: {x} vs {y}");
    }
}

#[test]
fn from_chw_interleaves_the_planes() {
    // Two channels of a 1×2 image: planes [1, 2] and [10, 20].
    let map = Map::from_chw(2, 1, 2, &[1.0, 2.0, 10.0, 20.0]);
    assert_eq!(map.data, [1.0, 10.0, 2.0, 20.0]);
}

#[test]
fn a_hand_computed_convolution() {
    // One 3×3 input channel of 1..9, a 2×2 kernel [[1, 0], [0, -1]], bias 0.5, no padding:
    // out(y, x) = in(y, x) − in(y + 1, x + 1) + 0.5 = −4 + 0.5 everywhere.
    let input = Map::new(3, 3, 1, (1..=9).map(|v| v as f32).collect());
    let conv = Conv2d::from_oihw(&[1.0, 0.0, 0.0, -1.0], 1, 1, 2, Some(&[0.5]), 1, 0);
    let out = conv.forward(&input);
    assert_eq!((out.height, out.width), (2, 2));
    assert_eq!(out.data, [-3.5; 4]);
}

#[test]
fn batch_norm_is_a_per_channel_affine_map() {
    // γ = 2, β = 1, mean 3, var 3 (ε = 1): y = (x − 3) / 2 · 2 + 1 = x − 2.
    let (scale, shift) = batch_norm_affine(&[2.0], &[1.0], &[3.0], &[3.0], 1.0);
    assert_eq!((scale[0], shift[0]), (1.0, -2.0));
}

#[test]
fn matmul_and_global_average() {
    let product = matmul(&[1.0, 10.0], &[1.0, 2.0, 3.0, 4.0], &[0.5, -0.5]);
    assert_eq!(product, [31.5, 41.5]);
    let map = Map::new(1, 2, 2, vec![1.0, 4.0, 3.0, 8.0]);
    assert_eq!(map.global_average(), [2.0, 6.0]);
}

#[test]
fn max_pool_ignores_the_padding() {
    // All-negative values: zero padding would win, −∞ padding never does.
    let map = Map::new(2, 2, 1, vec![-1.0, -2.0, -3.0, -4.0]);
    let out = map.max_pool(3, 2, 1);
    assert_eq!((out.height, out.width, out.data[0]), (1, 1, -1.0));
}

#[test]
#[should_panic(expected = "does not fit")]
fn a_map_smaller_than_the_kernel_is_refused() {
    let conv = Conv2d::from_oihw(&[0.0; 9], 1, 1, 3, None, 1, 0);
    conv.forward(&Map::new(2, 2, 1, vec![0.0; 4]));
}

proptest! {
    #![proptest_config(crate::fuzzing::cases(24))]

    #[test]
    fn conv_equals_burn(
        side in 3usize..12,
        channels_in in 1usize..10,
        channels_out in 1usize..40,
        kernel in prop::sample::select(vec![1usize, 3]),
        stride in 1usize..3,
        padding in 0usize..2,
        seed in any::<u32>(),
    ) {
        let input = Map::new(side, side, channels_in, values(side * side * channels_in, seed));
        let weights = values(channels_out * channels_in * kernel * kernel, seed ^ 1);
        let bias = values(channels_out, seed ^ 2);
        let conv = Conv2d::from_oihw(
            &weights, channels_out, channels_in, kernel, Some(&bias), stride, padding,
        );
        let expected = burn_conv(
            &input,
            (weights, [channels_out, channels_in, kernel, kernel]),
            Some(bias),
            ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1),
        );
        assert_close(&conv.forward(&input), &expected, 1e-4);
    }

    #[test]
    fn depthwise_equals_burn(input in maps(1..10, 1..40), seed in any::<u32>()) {
        let channels = input.channels;
        let weights = values(channels * 9, seed ^ 3);
        let expected = burn_conv(
            &input,
            (weights.clone(), [channels, 1, 3, 3]),
            None,
            ConvOptions::new([1, 1], [1, 1], [1, 1], channels),
        );
        assert_close(&Depthwise3x3::from_oihw(&weights, channels).forward(&input), &expected, 1e-5);
    }

    #[test]
    fn max_pool_equals_burn(input in maps(1..12, 1..5)) {
        let expected = map_of(max_pool2d(
            tensor_of(&input),
            MaxPoolOptions::new([3, 3]).with_stride([2, 2]).with_padding([1, 1]),
        ));
        assert_eq!(input.max_pool(3, 2, 1), expected);
    }
}
