//! Compares finished (or interrupted) training runs: a Markdown table of each run's best
//! validation accuracy, macro-F1 at that epoch, parameters, CPU latency at batch 1 (burn-flex,
//! and mien's native interpreter), epochs, training faces and time,
//! plus one plot of every run's validation curve against epochs and against training hours.
//!
//! ```text
//! for arch in baseline_cnn attention_cnn multi_scale hybrid_transformer region_ensemble \
//!             vit_tiny resnet18 mini_xception; do
//!   train --config configs/compare.json --arch $arch --name $arch --out runs/compare/$arch
//! done
//! compare runs/compare/*/ --table docs/results_table.md --plot docs/results_curves.png
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::module::Module;
use burn::prelude::*;
use clap::Parser;
use mien_models::native::NativeModel;
use mien_models::weights;
use mien_train::ExperimentConfig;
use mien_train::trainer::{EpochRecord, files};

/// Compare training runs.
#[derive(Parser, Debug)]
struct Args {
    /// Run folders (each with history.json, config.json and usually best.safetensors).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Write the Markdown table here (printed either way).
    #[arg(long)]
    table: Option<PathBuf>,
    /// Write the learning-curve plot (PNG) here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Forward passes timed for the batch-1 latency (median).
    #[arg(long, default_value_t = 30)]
    latency_runs: usize,
}

/// One run's line of the table.
struct Row {
    name: String,
    params: usize,
    best_epoch: usize,
    accuracy: f64,
    macro_f1: Option<f64>,
    epochs: usize,
    hours: f64,
    /// Training faces over all epochs.
    faces: usize,
    latency_ms: f64,
    /// Batch-1 latency of mien's native CPU interpreter.
    native_ms: f64,
}

fn read_history(run: &Path) -> Result<Vec<EpochRecord>, Box<dyn std::error::Error>> {
    let path = run.join(files::HISTORY);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// The run's best model; when its weights were not kept (large models trained elsewhere),
/// the same network freshly initialised from the run's `config.json`, which has the same
/// parameters and latency.
fn best_or_initialised(
    run: &Path,
    device: &Device,
) -> Result<weights::SavedModel, Box<dyn std::error::Error>> {
    let best = run.join(files::BEST);
    if best.is_file() {
        return Ok(weights::load(best, device)?);
    }
    eprintln!(
        "{}: no {}; parameters and latency from a freshly initialised copy",
        run.display(),
        files::BEST
    );
    let config = ExperimentConfig::from_file(run.join(files::CONFIG))?;
    let spec = config.model_spec();
    let model = spec.init(device)?;
    Ok(weights::SavedModel { spec, model })
}

/// Median batch-1 forward time of the run's model on the CPU, in milliseconds.
fn latency_ms(model: &weights::SavedModel, runs: usize, device: &Device) -> f64 {
    let input = &model.spec.backbone.input();
    let x = Tensor::<4>::zeros([1, input.channels, input.height, input.width], device);
    let model = model.model.valid();
    median_ms(runs, || {
        let prediction = model.predict(x.clone());
        if let Some(p) = prediction.probabilities {
            let _ = mien_core::read_f32(p);
        }
    })
}

/// Median batch-1 time of the run's model through mien's native CPU interpreter.
fn native_latency_ms(
    model: &weights::SavedModel,
    runs: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let native = NativeModel::from_model(&model.model)?;
    let face = vec![0.0; model.spec.preprocessing.values_per_image()];
    Ok(median_ms(runs, || {
        native.predict(&face);
    }))
}

/// The median of `runs` timed calls of `f` after three untimed ones, in milliseconds.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs.max(1) + 3)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .skip(3)
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn row(
    run: &Path,
    history: &[EpochRecord],
    latency_runs: usize,
) -> Result<Row, Box<dyn std::error::Error>> {
    let best = history
        .iter()
        .max_by(|a, b| a.monitored.total_cmp(&b.monitored))
        .ok_or_else(|| format!("{}: empty history", run.display()))?;
    let device = mien_core::device::cpu();
    let saved = best_or_initialised(run, &device)?;
    Ok(Row {
        name: run.file_name().map_or_else(
            || run.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        params: saved.model.num_params(),
        best_epoch: best.epoch,
        accuracy: best.valid.accuracy.unwrap_or(best.monitored),
        macro_f1: best.valid.macro_f1,
        epochs: history.len(),
        hours: history.iter().map(|r| r.train_seconds).sum::<f64>() / 3600.0,
        faces: history.iter().map(|r| r.faces).sum(),
        latency_ms: latency_ms(&saved, latency_runs, &device),
        native_ms: native_latency_ms(&saved, latency_runs)?,
    })
}

fn table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| run | params | PublicTest accuracy | macro-F1 | best epoch / epochs | training faces | training hours | CPU latency b1, burn-flex (ms) | native (ms) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        text.push_str(&format!(
            "| {} | {} | {:.2} % | {} | {} / {} | {} | {:.2} | {:.2} | {:.2} |\n",
            r.name,
            r.params,
            100.0 * r.accuracy,
            r.macro_f1.map_or("-".into(), |f| format!("{f:.3}")),
            r.best_epoch,
            r.epochs,
            r.faces,
            r.hours,
            r.latency_ms,
            r.native_ms,
        ));
    }
    text
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut histories = Vec::new();
    let mut rows = Vec::new();
    for run in &args.runs {
        if !run.join(files::HISTORY).is_file() {
            eprintln!(
                "skipping {}: no {} (not a run folder, or no epoch finished)",
                run.display(),
                files::HISTORY
            );
            continue;
        }
        let history = read_history(run)?;
        let row = row(run, &history, args.latency_runs)?;
        histories.push((row.name.clone(), history));
        rows.push(row);
    }
    if rows.is_empty() {
        return Err("none of the folders holds a run with a finished epoch".into());
    }
    rows.sort_by(|a, b| b.accuracy.total_cmp(&a.accuracy));
    let text = table(&rows);
    print!("{text}");
    if let Some(path) = &args.table {
        std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        mien_train::plots::comparison_curves(&histories, "accuracy", path)?;
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
