//! Trains a model: `train --config configs/mini_xception_fer2013.json --out runs/mx`, or with
//! flags only: `train --arch mini_xception --labels fer2013 --epochs 30 --out runs/mx`.
//! Resume an interrupted run with `train --out runs/mx --resume`.

// Training allocates and frees tens of megabytes per layer and step; glibc's malloc returns
// them to the kernel and faults them in again (a fifth of the CPU time in `perf`), mimalloc
// keeps them for reuse (`docs/BENCHMARKS.md`, "Training kernels").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use mien_data::{LabelMode, MajorityRule};
use mien_models::registry::Architecture;
use mien_train::{ExperimentConfig, Progress, TrainError, TrainOptions, train};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Labels {
    /// FER2013's 7 hard labels.
    Fer2013,
    /// FER+ majority vote (8 classes).
    FerplusMajority,
    /// FER+ vote distributions as soft labels (8 classes).
    FerplusDistribution,
    /// Smile intensity (happiness vote fraction).
    Smile,
}

impl From<Labels> for LabelMode {
    fn from(labels: Labels) -> Self {
        match labels {
            Labels::Fer2013 => LabelMode::Fer2013,
            Labels::FerplusMajority => LabelMode::FerPlusMajority {
                rule: MajorityRule::Strict,
            },
            Labels::FerplusDistribution => LabelMode::FerPlusDistribution,
            Labels::Smile => LabelMode::SmileIntensity,
        }
    }
}

/// Train an expression or smile model; writes checkpoints, weights, metrics and plots.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Experiment config (JSON). Flags below override its values.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run folder for checkpoints, weights, metrics and plots [default: `runs/NAME`].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its last completed epoch.
    #[arg(long)]
    resume: bool,
    /// Architecture; one other than the config's replaces its backbone with this
    /// architecture's default settings [default: baseline_cnn].
    #[arg(long)]
    arch: Option<String>,
    /// Training target when no config is given.
    #[arg(long, value_enum, default_value = "fer2013")]
    labels: Labels,
    /// Dataset folder in any supported layout [default: $MIEN_DATA/fer2013].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Faces per epoch, in whole batches [default: the config's, or one pass over the
    /// training faces].
    #[arg(long)]
    epoch_faces: Option<usize>,
    /// Faces per step.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Use only the first N faces of each split.
    #[arg(long)]
    limit: Option<usize>,
    /// Experiment name [default: the config's, or `ARCH_LABELS`].
    #[arg(long)]
    name: Option<String>,
}

fn parse_arch(name: &str) -> Result<Architecture, TrainError> {
    name.parse().map_err(|e| TrainError::Config {
        location: "--arch".into(),
        problem: format!("{e}"),
    })
}

/// The architecture of the run `--resume` continues, from its saved config.
fn resumed_architecture(args: &Args) -> Result<Option<Architecture>, TrainError> {
    let saved = args
        .out
        .as_ref()
        .map(|out| out.join(mien_train::trainer::files::CONFIG))
        .filter(|path| args.resume && path.is_file());
    saved
        .map(|path| ExperimentConfig::from_file(path).map(|c| c.model.backbone.architecture()))
        .transpose()
}

fn config_from(args: &Args) -> Result<ExperimentConfig, TrainError> {
    let saved = args
        .out
        .as_ref()
        .map(|out| out.join(mien_train::trainer::files::CONFIG))
        .filter(|path| args.resume && args.config.is_none() && path.is_file());
    let mut config = match (&args.config, saved) {
        (Some(path), _) => ExperimentConfig::from_file(path)?,
        (None, Some(path)) => ExperimentConfig::from_file(path)?,
        (None, None) => {
            let arch_name = args.arch.as_deref().unwrap_or("baseline_cnn");
            let arch = parse_arch(arch_name)?;
            let labels = LabelMode::from(args.labels);
            let name = format!("{arch_name}_{:?}", args.labels).to_lowercase();
            let mut config = ExperimentConfig::new(name, arch, 30);
            config.data.labels = labels;
            if labels == LabelMode::SmileIntensity {
                config.monitor = mien_train::Monitor::SmileMae;
            }
            config
        }
    };
    if let Some(name) = &args.arch {
        let arch = parse_arch(name)?;
        if let Some(resumed) = resumed_architecture(args)?
            && resumed != arch
        {
            return Err(TrainError::Config {
                location: "--arch".into(),
                problem: format!(
                    "the run being resumed trains {resumed}; drop --arch or start a new --out"
                ),
            });
        }
        if arch != config.model.backbone.architecture() {
            config.model.backbone = arch.default_config();
        }
    }
    if let Some(name) = &args.name {
        config.name.clone_from(name);
    }
    if let Some(data) = &args.data {
        config.data.path = Some(data.clone());
    }
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    if args.epoch_faces.is_some() {
        config.epoch_faces = args.epoch_faces;
    }
    if let Some(batch_size) = args.batch_size {
        config.batch_size = batch_size;
    }
    if let Some(lr) = args.lr {
        config.optimizer = config.optimizer.with_lr(lr);
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if args.limit.is_some() {
        config.data.limit = args.limit;
    }
    config.validate()?;
    Ok(config)
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = config_from(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&config.name));
    let device = mien_core::select_device()?;
    eprintln!(
        "training {} ({}) on {device:?} into {}",
        config.name,
        config.model.backbone.architecture(),
        out.display()
    );
    let mut options = TrainOptions::new(device);
    options.resume = args.resume;
    options.progress = Progress::auto();
    let outcome = train(&config, &out, options)?;
    if let Some((epoch, value)) = outcome.best {
        println!("best epoch {epoch}: {value:.4} ({:?})", config.monitor);
    }
    if outcome.stopped_early {
        println!("stopped early: no improvement for the configured patience");
    }
    println!("{}", outcome.report.summary());
    println!("run folder: {}", out.display());
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
