//! Evaluates a saved model on one split of a dataset:
//! `evaluate --model runs/mx/best.safetensors --data ../shared/fer2013 --split PublicTest --tta --out report.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mien_data::{LoadOptions, Split};
use mien_models::pretrained::Pretrained;
use mien_models::weights;
use mien_train::{Report, TtaConfig, predict};

/// Measure a model on a split: accuracy, macro-F1, per-class metrics, confusion matrix,
/// FER+ majority accuracy and smile-intensity agreement where the data has FER+ votes.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A weights file written by `train` (`*.safetensors`), or a bundled model's name.
    #[arg(long)]
    model: String,
    /// Dataset folder in any supported layout [default: $MIEN_DATA/fer2013].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The split to evaluate (Training, PublicTest, PrivateTest, or their FER+ / short names).
    #[arg(long, default_value = "PublicTest")]
    split: Split,
    /// Average the predictions of each face and its mirror image.
    #[arg(long)]
    tta: bool,
    /// Also average five crops leaving out this many pixels per side (implies nothing
    /// about --tta; both can be combined).
    #[arg(long)]
    tta_crop_margin: Option<u32>,
    /// Write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also draw the confusion matrix as PNG here.
    #[arg(long)]
    confusion_png: Option<PathBuf>,
    /// Faces per forward pass.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Keep the faces of the evaluated split whose pixels also occur in Training (by
    /// default they are left out, as in training's validation and the model cards).
    #[arg(long)]
    keep_duplicates: bool,
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = mien_core::select_device()?;
    let path = PathBuf::from(&args.model);
    let saved = if path.is_file() {
        weights::load(&path, &device)?
    } else {
        match args.model.parse::<Pretrained>() {
            Ok(pretrained) => pretrained.load(&device)?,
            Err(unknown) => {
                return Err(format!("{}: no such weights file, and {unknown}", args.model).into());
            }
        }
    };
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => mien_core::data_dir()?.join("fer2013"),
    };
    let mut loaded = mien_data::load(&data, &LoadOptions::default())?;
    if !args.keep_duplicates && args.split != Split::Training {
        let removed = loaded
            .dataset
            .remove_cross_split_duplicates(Split::Training);
        println!(
            "left out {removed} faces whose pixels also occur in Training (--keep-duplicates keeps them)"
        );
    }
    let faces = loaded.dataset.split(args.split);
    if faces.is_empty() {
        let present: Vec<String> = loaded
            .dataset
            .split_counts()
            .keys()
            .map(ToString::to_string)
            .collect();
        return Err(format!(
            "{} has no {} faces; splits present: {}",
            data.display(),
            args.split,
            present.join(", ")
        )
        .into());
    }
    let tta = TtaConfig {
        flip: args.tta,
        crop_margin: args.tta_crop_margin,
    };
    let predictions = predict(
        &saved.model,
        &saved.spec,
        &faces,
        tta,
        args.batch_size,
        &device,
    )?;
    let report = Report::new(&predictions, &faces, tta);
    println!(
        "{} on {} {} ({}):",
        path.display(),
        data.display(),
        args.split,
        saved.spec.backbone.architecture()
    );
    println!("{}", report.summary());
    if let Some(out) = &args.out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(out, json).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("report written to {}", out.display());
    }
    if let (Some(png), Some(rows), Some(set)) =
        (&args.confusion_png, &report.confusion, report.label_set)
    {
        let names: Vec<&str> = set.emotions().iter().map(|e| e.name()).collect();
        mien_train::plots::confusion_matrix(
            rows,
            &names,
            &format!("{} on {}", args.model, args.split),
            png,
        )?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
