//! Trains the eyes-open classifier on `$MIEN_DATA/eyes` (CEW eye patches, 24×24), split by
//! face id (the `_L` / `_R` patches of one face stay together; 20 % of faces held out by a
//! hash of the id), and writes `crates/mien-detect/weights/eye_state.safetensors`.
//!
//! `cargo run --release -p mien-detect --example train_eye_state -- [epochs]`

use burn::nn::loss::BinaryCrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use image::GrayImage;
use mien_detect::eye_state::{EyeStateClassifier, EyeStateNet, PATCH, held_out, save};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// One eye patch: pixels, label (1 = open), held out or not.
struct Patch {
    image: GrayImage,
    open: bool,
    test: bool,
}

fn load(root: &std::path::Path) -> Result<Vec<Patch>, Box<dyn std::error::Error>> {
    let mut patches = Vec::new();
    for (class, open) in [("open", true), ("closed", false)] {
        let dir = root.join(class);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let image = mien_core::open_image(&path)?.to_luma8();
            if image.dimensions() != (PATCH, PATCH) {
                return Err(format!("{}: not {PATCH}×{PATCH}", path.display()).into());
            }
            patches.push(Patch {
                image,
                open,
                test: held_out(name),
            });
        }
    }
    Ok(patches)
}

fn batch(patches: &[&Patch], flip: &[bool], device: &Device) -> (Tensor<4>, Tensor<2>) {
    let n = patches.len();
    let side = PATCH as usize;
    let mut values = Vec::with_capacity(n * side * side);
    for (p, &mirror) in patches.iter().zip(flip) {
        for y in 0..PATCH {
            for x in 0..PATCH {
                let sx = if mirror { PATCH - 1 - x } else { x };
                values.push(f32::from(p.image.get_pixel(sx, y).0[0]) / 255.0);
            }
        }
    }
    let labels: Vec<f32> = patches
        .iter()
        .map(|p| f32::from(u8::from(p.open)))
        .collect();
    (
        Tensor::from_data(TensorData::new(values, [n, 1, side, side]), device),
        Tensor::from_data(TensorData::new(labels, [n, 1]), device),
    )
}

fn accuracy(classifier: &EyeStateClassifier, patches: &[&Patch]) -> f64 {
    let images: Vec<GrayImage> = patches.iter().map(|p| p.image.clone()).collect();
    let probabilities = classifier.open_probability(&images);
    let right = patches
        .iter()
        .zip(probabilities)
        .filter(|(p, prob)| (*prob >= 0.5) == p.open)
        .count();
    right as f64 / patches.len() as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let root = mien_core::data_dir()?.join("eyes");
    let patches = load(&root)?;
    let (train, test): (Vec<&Patch>, Vec<&Patch>) = patches.iter().partition(|p| !p.test);
    println!("{} training patches, {} held out", train.len(), test.len());

    let device = mien_core::device::cpu().autodiff();
    device.seed(7);
    let mut net = EyeStateNet::new(&device);
    let mut optimizer = AdamWConfig::new().with_weight_decay(1e-4).init();
    let loss_fn = BinaryCrossEntropyLossConfig::new()
        .with_logits(true)
        .init(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/eye_state.safetensors");
    std::fs::create_dir_all(out.parent().expect("a file has a parent"))?;
    for epoch in 1..=epochs {
        order.shuffle(&mut rng);
        let lr =
            3e-3 * 0.5 * (1.0 + (std::f64::consts::PI * (epoch - 1) as f64 / epochs as f64).cos());
        let mut total = 0.0;
        for chunk in order.chunks(64) {
            let items: Vec<&Patch> = chunk.iter().map(|&i| train[i]).collect();
            let flip: Vec<bool> = chunk
                .iter()
                .map(|_| rand::Rng::random_bool(&mut rng, 0.5))
                .collect();
            let (images, labels) = batch(&items, &flip, &device);
            let logits = net.forward(images).unsqueeze_dim::<2>(1);
            let loss = loss_fn.forward(logits, labels.int());
            total += f64::from(loss.clone().into_scalar::<f32>()) * chunk.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optimizer.step(lr, net, grads);
        }
        save(&net.valid(), &out)?;
        let classifier =
            EyeStateClassifier::from_bytes(&std::fs::read(&out)?, &mien_core::device::cpu())?;
        println!(
            "epoch {epoch}/{epochs}: loss {:.4}, held-out accuracy {:.4}",
            total / train.len() as f64,
            accuracy(&classifier, &test)
        );
    }
    println!("weights written to {}", out.display());
    Ok(())
}
