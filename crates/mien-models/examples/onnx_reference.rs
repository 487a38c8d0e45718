//! Writes, for every architecture and every bundled model, the ONNX export and mien's own
//! outputs on fixed faces, for `tools/onnx_check.py` to run through onnxruntime and compare.
//!
//! Each architecture gets its default configuration with both heads (FER+ classes and smile),
//! freshly initialised and with batch-norm statistics moved by one training-mode pass, so
//! that folding them is exercised. Every model is also written as its backbone alone
//! (`<name>.features.onnx`), whose output is the feature vector. And the bundled face mesh
//! (`face_mesh.onnx`, mien-detect's network with PReLU and padding), outputs `points` and
//! `score`.
//!
//! ```text
//! cargo run --release -p mien-models --features onnx --example onnx_reference -- OUT_DIR
//! ```

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::Tensor;
use clap::Parser;
use mien_core::graph::NativeNetwork;
use mien_core::{Backbone, LabelSet, Preprocessing};
use mien_models::native::NativeModel;
use mien_models::pretrained::Pretrained;
use mien_models::registry::Architecture;
use mien_models::weights::{HeadSpec, ModelSpec, SavedModel};
use serde_json::json;

/// Exports every architecture and bundled model with reference outputs.
#[derive(Parser)]
struct Args {
    /// Where `<name>.onnx` and `<name>.json` go (created if missing).
    out: PathBuf,
    /// Faces per reference batch.
    #[arg(long, default_value_t = 2)]
    faces: usize,
}

/// `n` deterministic faces of `size` values in `[0, 1]`.
fn faces(n: usize, size: usize) -> Vec<f32> {
    (0..n * size)
        .map(|i| ((i * 7919) % 1000) as f32 / 999.0)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let cpu = mien_core::device::cpu();
    let training = cpu.clone().autodiff();
    let mut models: Vec<(String, SavedModel)> = Vec::new();
    for architecture in Architecture::ALL {
        let spec = ModelSpec::new(
            architecture.default_config(),
            HeadSpec::MultiTask {
                label_set: LabelSet::FerPlus,
            },
            Preprocessing::default(),
        );
        let model = spec.init(&training)?;
        let batch = Tensor::<1>::from_floats(faces(4, 48 * 48).as_slice(), &training);
        let _ = model.predict(batch.reshape([4, 1, 48, 48]));
        models.push((
            architecture.name().into(),
            SavedModel {
                spec,
                model: model.valid(),
            },
        ));
    }
    for pretrained in Pretrained::ALL {
        let saved = pretrained.load(&cpu)?;
        let model = saved.model.valid();
        models.push((pretrained.name().into(), SavedModel { model, ..saved }));
    }
    for (name, saved) in &models {
        let input = saved.spec.backbone.input();
        let size = input.channels * input.height * input.width;
        let images = faces(args.faces, size);
        let native = NativeModel::from_model(&saved.model)?.predict(&images);
        let shape = [args.faces, input.channels, input.height, input.width];
        let tensor = Tensor::<1>::from_floats(images.as_slice(), &cpu).reshape(shape);
        let burn = saved.model.predict(tensor);
        let read = |t: Option<Tensor<2>>| t.map(mien_core::read_f32).transpose();
        let bytes = mien_models::onnx::export_to(saved, args.out.join(format!("{name}.onnx")))?;
        let reference = json!({
            "input": images,
            "shape": shape,
            "probabilities": native.probabilities,
            "smile": native.smile,
            "burn_probabilities": read(burn.probabilities)?,
            "burn_smile": burn.smile.map(mien_core::read_f32).transpose()?,
        });
        std::fs::write(
            args.out.join(format!("{name}.json")),
            serde_json::to_string(&reference)?,
        )?;
        println!("{name}: {bytes} bytes");
        // The backbone alone: unnormalised features show a wrong layer far more plainly than
        // the near-uniform probabilities of an untrained head.
        let description = saved.model.describe_features()?;
        let network = NativeNetwork::new(&description)?;
        let native_features = images
            .chunks_exact(size)
            .map(|image| network.run(image).map(|mut outputs| outputs.remove(0)))
            .collect::<Result<Vec<_>, _>>()?
            .concat();
        let tensor = Tensor::<1>::from_floats(images.as_slice(), &cpu).reshape(shape);
        let burn_features = mien_core::read_f32(saved.model.backbone().features(tensor))?;
        let onnx = mien_core::graph::onnx::export(&description, &[])?;
        std::fs::write(args.out.join(format!("{name}.features.onnx")), onnx)?;
        let reference = json!({
            "input": images,
            "shape": shape,
            "features": native_features,
            "burn_features": burn_features,
        });
        std::fs::write(
            args.out.join(format!("{name}.features.json")),
            serde_json::to_string(&reference)?,
        )?;
    }
    write_face_mesh(&args)?;
    Ok(())
}

/// The bundled face mesh network's export and outputs (interpreter and burn) on fixed inputs.
fn write_face_mesh(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    use mien_detect::face_mesh::{FaceMesh, INPUT_SIDE};
    let cpu = mien_core::device::cpu();
    let mesh = FaceMesh::bundled(&cpu)?;
    let description = mesh.net().describe()?;
    let network = NativeNetwork::new(&description)?;
    let size = 3 * INPUT_SIDE * INPUT_SIDE;
    let images = faces(args.faces, size);
    let (mut points, mut score) = (Vec::new(), Vec::new());
    for image in images.chunks_exact(size) {
        let outputs = network.run(image)?;
        points.extend_from_slice(&outputs[0]);
        score.extend_from_slice(&outputs[1]);
    }
    let shape = [args.faces, 3, INPUT_SIDE, INPUT_SIDE];
    let tensor = Tensor::<1>::from_floats(images.as_slice(), &cpu).reshape(shape);
    let (burn_points, burn_score) = mesh.net().forward(tensor);
    let onnx = mien_core::graph::onnx::export(&description, &[])?;
    std::fs::write(args.out.join("face_mesh.onnx"), &onnx)?;
    let reference = json!({
        "input": images,
        "shape": shape,
        "points": points,
        "score": score,
        "burn_points": mien_core::read_f32(burn_points)?,
        "burn_score": mien_core::read_f32(burn_score)?,
    });
    std::fs::write(
        args.out.join("face_mesh.json"),
        serde_json::to_string(&reference)?,
    )?;
    println!("face_mesh: {} bytes", onnx.len());
    Ok(())
}
