//! Behaviour every architecture must have: shapes, parameter counts, determinism, learning,
//! any input size, and the registry's names and configs.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Distribution, Tolerance};
use mien_core::{Backbone, InputShape};

use crate::backbones::{BaselineCnnConfig, ResNet18Config, ResNet50Config, VitTinyConfig};
use crate::registry::{Architecture, BackboneConfig};
use crate::{ClassifierConfig, MultiTaskConfig, SmileRegressorConfig};

fn device() -> Device {
    mien_core::device::cpu()
}

/// A configuration small enough to train a few steps quickly in a debug build.
pub(crate) fn small_config(architecture: Architecture) -> BackboneConfig {
    match architecture {
        Architecture::ResNet18 => {
            BackboneConfig::ResNet18(ResNet18Config::new().with_stage_channels([8, 16, 16, 32]))
        }
        Architecture::BaselineCnn => {
            BackboneConfig::BaselineCnn(BaselineCnnConfig::new().with_dropout(0.0))
        }
        Architecture::VitTiny => {
            BackboneConfig::VitTiny(VitTinyConfig::new().with_depth(2).with_dropout(0.0))
        }
        Architecture::ResNet50 => BackboneConfig::ResNet50(
            ResNet50Config::new()
                .with_stage_widths([4, 8, 8, 16])
                .with_stage_blocks([1, 1, 1, 1]),
        ),
        other => other.default_config(),
    }
}

/// Trainable parameters (what PyTorch's `numel` over `requires_grad` parameters counts) and
/// the number of trainable tensors, on an autodiff device.
fn trainable<M: Module>(module: &M) -> (usize, usize) {
    #[derive(Default)]
    struct Count(usize, usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.val().is_require_grad() {
                self.0 += param.val().shape().num_elements();
                self.1 += 1;
            }
        }
    }
    let mut count = Count::default();
    module.visit(&mut count);
    (count.0, count.1)
}

#[test]
fn every_architecture_gives_features_and_logits_for_batch_1_and_4() {
    let device = device();
    for architecture in Architecture::ALL {
        let backbone = architecture.default_config().init(&device);
        assert_eq!(
            backbone.input_shape(),
            InputShape::FER2013,
            "{architecture}"
        );
        let dim = backbone.feature_dim();
        let model = ClassifierConfig::new(7).init(backbone, &device);
        for n in [1, 4] {
            let x = Tensor::<4>::random([n, 1, 48, 48], Distribution::Default, &device);
            assert_eq!(
                model.backbone.features(x.clone()).dims(),
                [n, dim],
                "{architecture}"
            );
            assert_eq!(model.forward(x).dims(), [n, 7], "{architecture}");
        }
    }
}

#[test]
fn parameter_counts_match_the_documented_figures() {
    let device = device().autodiff();
    // Hand-derived in each backbone's module docs (trainable parameters, grayscale 48×48).
    let baseline_convs = (9 + 1) * 32
        + (32 * 9 + 1) * 32
        + (32 * 9 + 1) * 64
        + (64 * 9 + 1) * 64
        + (64 * 9 + 1) * 128
        + (128 * 9 + 1) * 128;
    let baseline = baseline_convs + 2 * 2 * (32 + 64 + 128) + 128 * 512 + 512;
    let cbam = |c: usize| 2 * c * (c / 8) + c / 8 + c + 2 * 49 + 1;
    // Two conv blocks (32, 64 channels) from one input channel, with batch norm.
    let conv_stack = (9 + 1) * 32
        + (32 * 9 + 1) * 32
        + (32 * 9 + 1) * 64
        + (64 * 9 + 1) * 64
        + 2 * 2 * (32 + 64);
    let linear = |i: usize, o: usize| i * o + o;
    // A pre-norm Transformer layer: Q, K, V, O projections, the MLP, two layer norms.
    let layer = |d: usize, ff: usize| 4 * linear(d, d) + linear(d, ff) + linear(ff, d) + 4 * d;
    let expected = [
        (Architecture::BaselineCnn, baseline),
        (
            Architecture::AttentionCnn,
            baseline + cbam(32) + cbam(64) + cbam(128),
        ),
        (
            Architecture::MultiScale,
            3 * conv_stack + linear(3 * 64, 256),
        ),
        (
            Architecture::HybridTransformer,
            conv_stack + linear(64, 128) + 144 * 128 + 2 * layer(128, 256) + 2 * 128,
        ),
        (
            Architecture::RegionEnsemble,
            3 * conv_stack + 3 * linear(64, 128) + linear(3 * 128, 3),
        ),
        (
            Architecture::VitTiny,
            linear(36, 192) + 192 + 65 * 192 + 12 * layer(192, 768) + 2 * 192,
        ),
        // torchvision's counts for the same networks (1 input channel, 3×3 stride-1 stem,
        // no classifier): `sum(p.numel() for p in model.parameters())`.
        (Architecture::ResNet18, 11_167_680),
        (Architecture::MiniXception, 48_880),
        (Architecture::EfficientNetB0, 4_006_972),
        (Architecture::ResNet50, 23_499_200),
    ];
    // The figures quoted in the module docs.
    let documented = [
        353_376, 359_301, 245_536, 357_344, 222_243, 5_358_528, 11_167_680, 48_880, 4_006_972,
        23_499_200,
    ];
    assert_eq!(expected.map(|(_, p)| p), documented);
    for (architecture, params) in expected {
        let backbone = architecture.default_config().init(&device);
        assert_eq!(trainable(&backbone).0, params, "{architecture}");
    }
}

#[test]
fn every_architecture_learns_and_every_parameter_gets_a_gradient() {
    let device = device().autodiff();
    for architecture in Architecture::ALL {
        device.seed(7);
        let mut model =
            ClassifierConfig::new(7).init(small_config(architecture).init(&device), &device);
        let images = Tensor::<4>::random([8, 1, 48, 48], Distribution::Default, &device);
        let labels =
            Tensor::<1, Int>::from_data(TensorData::from([0i64, 1, 2, 3, 4, 5, 6, 3]), &device);
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let mut optim = AdamWConfig::new().init();
        let (_, tensors) = trainable(&model);
        // Transformers want a smaller learning rate than convolutional networks, as usual.
        let lr = match architecture {
            Architecture::VitTiny | Architecture::HybridTransformer => 1e-4,
            _ => 1e-3,
        };
        let mut losses = Vec::new();
        for step in 0..10 {
            let loss = loss_fn.forward(model.forward(images.clone()), labels.clone());
            losses.push(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            if step == 0 {
                assert_eq!(
                    grads.len(),
                    tensors,
                    "{architecture}: every trainable tensor gets a gradient"
                );
            }
            model = optim.step(lr, model, grads);
        }
        // Dropout and the kernels' parallel sums make single steps noisy (multi-scale's
        // sixth loss once came out above its first), so the last three are averaged.
        let last = losses[7..].iter().sum::<f32>() / 3.0;
        assert!(
            last < losses[0],
            "{architecture}: loss did not fall: {losses:?}"
        );
    }
}

#[test]
fn eval_mode_is_deterministic() {
    let device = device();
    for architecture in Architecture::ALL {
        let model =
            ClassifierConfig::new(8).init(small_config(architecture).init(&device), &device);
        let x = Tensor::<4>::random([2, 1, 48, 48], Distribution::Default, &device);
        let a = model.probabilities(x.clone()).into_data();
        let b = model.probabilities(x).into_data();
        a.assert_eq(&b, true);
        let sums = Tensor::<2>::from_data(a, &device).sum_dim(1).into_data();
        sums.assert_approx_eq::<f32>(&TensorData::from([[1.0f32], [1.0]]), Tolerance::default());
    }
}

#[test]
fn rgb_and_larger_inputs_work_for_every_architecture() {
    let device = device();
    let input = InputShape {
        channels: 3,
        height: 96,
        width: 80,
    };
    for architecture in Architecture::ALL {
        let backbone = small_config(architecture).with_input(input).init(&device);
        assert_eq!(backbone.input_shape(), input);
        let features = backbone.features(Tensor::zeros([2, 3, 96, 80], &device));
        assert_eq!(
            features.dims(),
            [2, backbone.feature_dim()],
            "{architecture}"
        );
    }
}

#[test]
fn smile_and_multi_task_heads_share_any_backbone() {
    let device = device();
    let x = Tensor::<4>::random([3, 1, 48, 48], Distribution::Default, &device);
    let smile = SmileRegressorConfig::new().init(
        Architecture::MiniXception.default_config().init(&device),
        &device,
    );
    let intensity = mien_core::read_f32(smile.intensity(x.clone())).unwrap();
    assert_eq!(intensity.len(), 3);
    assert!(
        intensity.iter().all(|v| (0.0..=1.0).contains(v)),
        "{intensity:?}"
    );

    let multi = MultiTaskConfig::new(8).init(
        Architecture::BaselineCnn.default_config().init(&device),
        &device,
    );
    let out = multi.forward(x);
    assert_eq!(out.emotion_logits.dims(), [3, 8]);
    assert_eq!(out.smile_logits.dims(), [3]);
}

#[test]
fn registry_names_and_configs_round_trip() {
    for architecture in Architecture::ALL {
        assert_eq!(
            architecture.name().parse::<Architecture>().unwrap(),
            architecture
        );
        let config = architecture.default_config();
        let json = serde_json::to_string(&config).unwrap();
        assert!(
            json.contains(&format!("\"architecture\":\"{architecture}\"")),
            "{json}"
        );
        let back: BackboneConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.architecture(), architecture);
        assert_eq!(back.input(), InputShape::FER2013);
    }
    assert_eq!(
        "ResNet-18".parse::<Architecture>().unwrap(),
        Architecture::ResNet18
    );
    let err = "vgg16".parse::<Architecture>().unwrap_err();
    assert!(err.to_string().contains("mini_xception"), "{err}");
}
