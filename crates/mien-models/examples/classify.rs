//! Runs a backbone (the baseline CNN by default) with an emotion head on face images and
//! prints each one's emotion probabilities.
//!
//! ```text
//! cargo run --release -p mien-models --example classify -- [IMAGE]...
//! MIEN_DEVICE=wgpu cargo run --release -p mien-models --features wgpu --example classify -- face.png
//! ```
//!
//! Until the model zoo ships trained weights, the network is freshly initialised from
//! `--seed`: the probabilities show the whole path (file → preprocessing → device → backbone
//! → head → probabilities) working, not a real reading of the face. Without an image
//! argument it draws a synthetic smiley face to classify.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mien_core::burn::module::Module;
use mien_core::image::{DynamicImage, GrayImage, Luma};
use mien_core::{
    EmotionProbabilities, LabelSet, Preprocessing, open_image, read_f32, select_device,
};
use mien_models::ClassifierConfig;
use mien_models::registry::Architecture;

/// Classify the expression of face images with any mien backbone.
#[derive(Parser, Debug)]
struct Args {
    /// Face images (PNG or JPEG, any size or colour); a synthetic face when none are given.
    images: Vec<PathBuf>,
    /// Class set of the head: fer2013 (7 classes) or ferplus (8).
    #[arg(long, default_value = "fer2013")]
    label_set: LabelSet,
    /// Backbone architecture (baseline_cnn, attention_cnn, multi_scale, hybrid_transformer,
    /// region_ensemble, vit_tiny, resnet18, mini_xception).
    #[arg(long, default_value = "baseline_cnn")]
    arch: Architecture,
    /// Seed of the weight initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), mien_core::Error> {
    let device = select_device()?;
    device.seed(args.seed);
    let backbone = args.arch.default_config().init(&device);
    let model = ClassifierConfig::new(args.label_set.num_classes()).init(backbone, &device);
    let preprocessing = Preprocessing::default();
    println!(
        "device {device:?}; {}, {} parameters, random weights (seed {})",
        args.arch,
        model.num_params(),
        args.seed
    );

    let (names, images): (Vec<String>, Vec<DynamicImage>) = if args.images.is_empty() {
        (vec!["<synthetic smiley>".into()], vec![synthetic_face(96)])
    } else {
        let images = args
            .images
            .iter()
            .map(open_image)
            .collect::<Result<_, _>>()?;
        (
            args.images
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            images,
        )
    };

    let batch = preprocessing.batch(&images, &device)?;
    let probabilities = read_f32(model.probabilities(batch))?;

    let header: Vec<_> = args
        .label_set
        .emotions()
        .iter()
        .map(|e| format!("{e:>9}"))
        .collect();
    println!("{:<40} {:>8} {}", "image", "top", header.join(""));
    for (name, row) in names
        .iter()
        .zip(probabilities.chunks(args.label_set.num_classes()))
    {
        let probs = EmotionProbabilities::new(args.label_set, row.to_vec())?;
        let (top, _) = probs.top();
        let cells: Vec<_> = probs
            .as_slice()
            .iter()
            .map(|p| format!("{p:>9.3}"))
            .collect();
        println!("{name:<40} {top:>8} {}", cells.join(""));
    }
    Ok(())
}

/// A `size`×`size` grayscale cartoon face: a light oval, two dark eyes and a smiling mouth.
fn synthetic_face(size: u32) -> DynamicImage {
    let s = size as f32;
    let image = GrayImage::from_fn(size, size, |x, y| {
        let (u, v) = ((x as f32 + 0.5) / s - 0.5, (y as f32 + 0.5) / s - 0.5);
        let in_face = (u / 0.38).powi(2) + (v / 0.46).powi(2) <= 1.0;
        let in_eye = [-0.15f32, 0.15]
            .iter()
            .any(|ex| (u - ex).powi(2) + (v + 0.12).powi(2) <= 0.05f32.powi(2));
        let mouth_radius = (u.powi(2) + (v - 0.02).powi(2)).sqrt();
        let in_mouth = v > 0.1 && (mouth_radius - 0.22).abs() < 0.025;
        Luma([match (in_face, in_eye || in_mouth) {
            (true, true) => 40,
            (true, false) => 200,
            (false, _) => 90,
        }])
    });
    DynamicImage::ImageLuma8(image)
}
