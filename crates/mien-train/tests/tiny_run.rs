//! End-to-end training on small generated data: the run folder's files, learning, same seed
//! same weights, resuming after an interruption (in process and after `kill -9`) ends with
//! the weights of an uninterrupted run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use image::GrayImage;
use mien_data::{FaceDataset, FaceRecord, LabelMode, Split, Votes};
use mien_models::registry::Architecture;
use mien_train::config::TtaConfig;
use mien_train::trainer::files;
use mien_train::{ExperimentConfig, Progress, TrainOptions, train_on};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A face of class `class` (0..7): a bright horizontal bar whose row depends on the class,
/// on noise. Easy to learn, impossible to learn without looking.
fn face(class: usize, rng: &mut ChaCha8Rng) -> GrayImage {
    let row = 4 + class * 6;
    GrayImage::from_fn(48, 48, |_, y| {
        let bar = if (row..row + 4).contains(&(y as usize)) {
            160
        } else {
            0
        };
        image::Luma([bar + rng.random_range(0..90u8)])
    })
}

/// Votes that put `class`'s FER+ counterpart in the majority; happy faces get 8 of 10
/// happiness votes, others 1.
fn votes(class: usize) -> Votes {
    // FER2013 order: angry disgust fear happy sad surprise neutral
    // FER+ votes order: neutral happiness surprise sadness anger disgust fear contempt unknown NF
    let ferplus = [4, 5, 6, 1, 3, 2, 0][class];
    let mut v = [0u8; 10];
    if class == 3 {
        v[1] = 8;
        v[0] = 2;
    } else {
        v[ferplus] = 9;
        v[1] = 1;
    }
    Votes(v)
}

fn dataset(train: usize, valid: usize) -> FaceDataset {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut data = FaceDataset::new(48, 48);
    for (split, n) in [(Split::Training, train), (Split::PublicTest, valid)] {
        for i in 0..n {
            let class = i % 7;
            let record = FaceRecord {
                split,
                source: format!("generated {split} {i}"),
                fer2013: Some(class as u8),
                votes: Some(votes(class)),
            };
            data.push(&face(class, &mut rng), record).unwrap();
        }
    }
    data
}

fn tiny_config(epochs: usize) -> ExperimentConfig {
    let mut config = ExperimentConfig::new("tiny", Architecture::MiniXception, epochs);
    config.batch_size = 8;
    config.seed = 3;
    config.optimizer = serde_json::from_str(r#"{"kind": "adamw", "lr": 0.01}"#).unwrap();
    config.schedule = serde_json::from_str(
        r#"{"warmup_epochs": 1, "decay": {"kind": "cosine"}, "plateau": {"patience": 1}}"#,
    )
    .unwrap();
    config.augment =
        serde_json::from_str(r#"{"steps": [{"kind": "horizontal_flip", "p": 0.5}], "mix": null}"#)
            .unwrap();
    config.validation_tta = TtaConfig::FLIP;
    config
}

/// Runs in one process share the device's random generator (dropout, initial weights), so
/// the in-process runs of these tests take turns; each test holds this while it trains.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn options() -> TrainOptions {
    let mut options = TrainOptions::new(mien_core::device::cpu());
    options.progress = Progress::Silent;
    options
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mien-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether two safetensors files hold the same tensors, bit for bit, and the same metadata
/// (whose key order in the header varies from writer to writer).
fn same_weights(a: &Path, b: &Path) -> bool {
    let split = |bytes: Vec<u8>| {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        (header, bytes[8 + n..].to_vec())
    };
    split(bytes(a)) == split(bytes(b))
}

#[test]
fn tiny_run_learns_writes_its_folder_and_repeats_exactly() {
    let _turn = serial();
    let dir = scratch("tiny");
    let outcome = train_on(&tiny_config(3), dataset(112, 28), &dir, options()).unwrap();

    for file in [
        files::CONFIG,
        files::BEST,
        files::FINAL,
        files::HISTORY,
        files::REPORT,
        files::CURVES,
        files::CONFUSION,
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert_eq!(outcome.history.len(), 3);
    // 112 faces / 8 = 14 steps per epoch; batch norm's running statistics need a few
    // dozen steps before validation (which uses them) beats chance.
    assert!(outcome.history.iter().all(|r| r.faces == 112));
    let first = &outcome.history[0];
    let last = &outcome.history[2];
    assert!(
        last.train_loss < first.train_loss,
        "{} → {}",
        first.train_loss,
        last.train_loss
    );
    assert!(
        outcome.report.accuracy.unwrap() > 2.0 / 7.0,
        "better than chance on bars: {:?}",
        outcome.report.accuracy
    );
    // The report JSON has the documented keys.
    let report: serde_json::Value =
        serde_json::from_slice(&bytes(&dir.join(files::REPORT))).unwrap();
    for key in [
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion",
        "n",
        "ferplus_majority_accuracy",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(report["n"], 28);
    // A saved run cannot be overwritten by accident.
    let again = train_on(&tiny_config(3), dataset(112, 28), &dir, options());
    assert!(matches!(again, Err(mien_train::TrainError::RunExists(_))));

    // Same seed, same data: the same weights, bit for bit.
    let dir2 = scratch("tiny-repeat");
    train_on(&tiny_config(3), dataset(112, 28), &dir2, options()).unwrap();
    assert!(same_weights(
        &dir.join(files::FINAL),
        &dir2.join(files::FINAL)
    ));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&dir2).ok();
}

#[test]
fn resuming_after_an_interruption_gives_the_uninterrupted_weights() {
    let _turn = serial();
    let straight = scratch("straight");
    let outcome = train_on(&tiny_config(3), dataset(64, 14), &straight, options()).unwrap();

    let resumed = scratch("resumed");
    let mut first = options();
    first.stop_after = Some(1);
    train_on(&tiny_config(3), dataset(64, 14), &resumed, first).unwrap();
    assert!(
        !resumed.join(files::FINAL).exists(),
        "an interrupted run has no final weights"
    );
    let mut second = options();
    second.resume = true;
    let continued = train_on(&tiny_config(3), dataset(64, 14), &resumed, second).unwrap();

    assert_eq!(continued.history.len(), 3);
    // A damaged checkpoint is an error that names the file, not a panic.
    let damaged = scratch("damaged");
    let mut first = options();
    first.stop_after = Some(1);
    train_on(&tiny_config(3), dataset(64, 14), &damaged, first).unwrap();
    let model_file = damaged.join("checkpoint/model.bpk");
    let bytes_before = bytes(&model_file);
    std::fs::write(&model_file, &bytes_before[..bytes_before.len() / 2]).unwrap();
    let mut again = options();
    again.resume = true;
    match train_on(&tiny_config(3), dataset(64, 14), &damaged, again) {
        Err(mien_train::TrainError::Checkpoint { path, .. }) => assert_eq!(path, model_file),
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    std::fs::remove_dir_all(&damaged).ok();

    for (a, b) in continued.history.iter().zip(&outcome.history) {
        assert_eq!(
            (a.train_loss, a.learning_rate),
            (b.train_loss, b.learning_rate)
        );
        assert_eq!(a.valid.loss, b.valid.loss);
    }
    assert!(same_weights(
        &straight.join(files::FINAL),
        &resumed.join(files::FINAL)
    ));
    std::fs::remove_dir_all(&straight).ok();
    std::fs::remove_dir_all(&resumed).ok();
}

/// A run stopped at any point of writing a checkpoint, or whose newest checkpoint was damaged
/// later, resumes and loses at most one epoch: it ends with the uninterrupted run's weights.
#[test]
fn a_half_written_or_damaged_checkpoint_costs_at_most_one_epoch() {
    let _turn = serial();
    let straight = scratch("straight-3");
    train_on(&tiny_config(3), dataset(64, 14), &straight, options()).unwrap();
    let interrupted_after = |epochs: usize, name: &str| {
        let dir = scratch(name);
        let mut first = options();
        first.stop_after = Some(epochs);
        train_on(&tiny_config(3), dataset(64, 14), &dir, first).unwrap();
        dir
    };
    let resume = |dir: &Path| {
        let mut again = options();
        again.resume = true;
        train_on(&tiny_config(3), dataset(64, 14), dir, again)
    };
    let completed_epochs = |dir: &Path| -> u64 {
        let state: serde_json::Value =
            serde_json::from_slice(&bytes(&dir.join("state.json"))).unwrap();
        state["completed_epochs"].as_u64().unwrap()
    };

    // Killed while writing: a half-written `checkpoint.tmp/` is ignored.
    let writing = interrupted_after(2, "killed-writing");
    std::fs::create_dir_all(writing.join("checkpoint.tmp")).unwrap();
    std::fs::write(writing.join("checkpoint.tmp/model.bpk"), b"half a file").unwrap();
    // Killed between the two renames: only the previous epoch's checkpoint is in place.
    let swapping = interrupted_after(2, "killed-swapping");
    assert_eq!(completed_epochs(&swapping.join("checkpoint.old")), 1);
    std::fs::remove_dir_all(swapping.join("checkpoint")).unwrap();
    for dir in [&writing, &swapping] {
        let outcome = resume(dir).unwrap();
        assert_eq!(outcome.history.len(), 3);
        assert!(same_weights(
            &straight.join(files::FINAL),
            &dir.join(files::FINAL)
        ));
    }

    // Damaged after it was written: the error names the file and offers the previous one,
    // which resumes.
    let damaged = interrupted_after(2, "damaged-later");
    let model_file = damaged.join("checkpoint/model.bpk");
    std::fs::write(&model_file, &bytes(&model_file)[..100]).unwrap();
    match resume(&damaged) {
        Err(mien_train::TrainError::Checkpoint { path, problem }) => {
            assert_eq!(path, model_file);
            assert!(
                problem.contains("checkpoint.old") && problem.contains("(1 epochs)"),
                "{problem}"
            );
        }
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    std::fs::remove_dir_all(damaged.join("checkpoint")).unwrap();
    std::fs::rename(damaged.join("checkpoint.old"), damaged.join("checkpoint")).unwrap();
    resume(&damaged).unwrap();
    assert!(same_weights(
        &straight.join(files::FINAL),
        &damaged.join(files::FINAL)
    ));

    for dir in [straight, writing, swapping, damaged] {
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn smile_and_soft_label_runs_train_their_heads() {
    let _turn = serial();
    let dir = scratch("smile");
    let mut config = tiny_config(1);
    config.data.labels = LabelMode::SmileIntensity;
    config.monitor = mien_train::Monitor::SmileMae;
    config.augment.mix = None;
    let outcome = train_on(&config, dataset(64, 14), &dir, options()).unwrap();
    assert!(outcome.report.smile_mae.is_some());
    assert!(outcome.report.accuracy.is_none());
    std::fs::remove_dir_all(&dir).ok();

    let dir = scratch("multi");
    let mut config = tiny_config(1);
    config.model.multi_task = true;
    config.monitor = mien_train::Monitor::SmilePearson;
    let outcome = train_on(&config, dataset(64, 14), &dir, options()).unwrap();
    assert!(outcome.report.smile_pearson.is_some() && outcome.report.accuracy.is_some());
    let saved =
        mien_models::weights::load(dir.join(files::BEST), &mien_core::device::cpu()).unwrap();
    assert!(matches!(
        saved.model,
        mien_models::weights::Model::MultiTask(_)
    ));
    std::fs::remove_dir_all(&dir).ok();

    let dir = scratch("soft");
    let mut config = tiny_config(1);
    config.data.labels = LabelMode::FerPlusDistribution;
    let outcome = train_on(&config, dataset(64, 14), &dir, options()).unwrap();
    assert_eq!(outcome.report.truth.as_deref(), Some("ferplus_majority"));
    assert_eq!(outcome.report.confusion.as_ref().unwrap().len(), 8);
    std::fs::remove_dir_all(&dir).ok();
}

/// Writes the generated faces as a Kaggle `fer2013.csv` for the binaries.
fn write_csv(dir: &Path, data: &FaceDataset) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = String::from("emotion,pixels,Usage\n");
    for i in 0..data.len() {
        let record = data.record(i).unwrap();
        let pixels: Vec<String> = data.pixels(i).unwrap().iter().map(u8::to_string).collect();
        writeln!(
            csv,
            "{},{},{}",
            record.fer2013.unwrap(),
            pixels.join(" "),
            record.split.name()
        )
        .unwrap();
    }
    let path = dir.join("fer2013.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn train_command(config: &Path, out: &Path, resume: bool) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_train"));
    command
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .env("MIEN_DEVICE", "cpu");
    if resume {
        command.arg("--resume");
    }
    command
}

#[test]
fn kill_9_then_resume_equals_an_uninterrupted_run_and_evaluate_reads_the_result() {
    let dir = scratch("kill");
    let csv = write_csv(&dir.join("data"), &dataset(64, 14));
    let mut config = tiny_config(4);
    config.data.path = Some(csv.clone());
    let config_path = dir.join("experiment.json");
    config.save(&config_path).unwrap();

    let straight = dir.join("straight");
    let status = train_command(&config_path, &straight, false)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // Kill the second run as soon as its first checkpoint exists (mid-epoch 2 at the latest).
    let killed = dir.join("killed");
    let mut child = train_command(&config_path, &killed, false).spawn().unwrap();
    let started = Instant::now();
    while !killed.join("checkpoint/state.json").is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(!killed.join(files::FINAL).exists(), "killed before the end");

    let resumed = train_command(&config_path, &killed, true).output().unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(same_weights(
        &straight.join(files::FINAL),
        &killed.join(files::FINAL)
    ));

    // The evaluate binary reads the weights and the CSV and writes the JSON report.
    let report_path = dir.join("report.json");
    let evaluated = Command::new(env!("CARGO_BIN_EXE_evaluate"))
        .args(["--model"])
        .arg(killed.join(files::BEST))
        .arg("--data")
        .arg(&csv)
        .args(["--split", "PublicTest", "--tta", "--out"])
        .arg(&report_path)
        .env("MIEN_DEVICE", "cpu")
        .output()
        .unwrap();
    assert!(
        evaluated.status.success(),
        "{}",
        String::from_utf8_lossy(&evaluated.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&bytes(&report_path)).unwrap();
    assert_eq!(report["n"], 14);
    assert_eq!(report["tta"]["flip"], true);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flags_override_the_configs_architecture_name_and_epochs() {
    let dir = scratch("flags");
    let csv = write_csv(&dir.join("data"), &dataset(16, 8));
    let mut config = tiny_config(4);
    config.data.path = Some(csv);
    let config_path = dir.join("experiment.json");
    config.save(&config_path).unwrap();

    let out = dir.join("run");
    let run = train_command(&config_path, &out, false)
        .args([
            "--arch",
            "baseline_cnn",
            "--name",
            "flagged",
            "--epochs",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&bytes(&out.join(files::CONFIG))).unwrap();
    assert_eq!(saved["name"], "flagged");
    assert_eq!(saved["model"]["backbone"]["architecture"], "baseline_cnn");
    assert_eq!(saved["epochs"], 1);
    // Everything the flags leave alone comes from the config file.
    assert_eq!(saved["batch_size"], 8);
    assert_eq!(saved["seed"], 3);

    // A resumed run keeps its architecture.
    let resumed = train_command(&config_path, &out, true)
        .args(["--arch", "mini_xception"])
        .output()
        .unwrap();
    assert!(!resumed.status.success());
    let message = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        message.contains("--arch") && message.contains("baseline_cnn"),
        "{message}"
    );

    // `compare` reads the run; without its weights it rebuilds the network from
    // config.json, with the same parameter count.
    let compare = || {
        let output = Command::new(env!("CARGO_BIN_EXE_compare"))
            .arg(&out)
            .args(["--latency-runs", "1"])
            .env("MIEN_DEVICE", "cpu")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let row = stdout.lines().nth(2).expect("a table row").to_owned();
        row.split('|')
            .map(|cell| cell.trim().to_owned())
            .collect::<Vec<_>>()
    };
    let with_weights = compare();
    assert_eq!(with_weights[1], "run");
    std::fs::remove_file(out.join(files::BEST)).unwrap();
    let without_weights = compare();
    assert_eq!(without_weights[1], "run");
    assert_eq!(with_weights[2], without_weights[2], "parameter counts");
    assert!(with_weights[2].parse::<usize>().unwrap() > 300_000);
    assert!(
        with_weights[6].parse::<usize>().unwrap() > 0,
        "training faces"
    );
    let native_ms: f64 = with_weights[9]
        .parse()
        .expect("every architecture runs natively");
    assert!(native_ms > 0.0, "{native_ms}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn epoch_faces_sets_the_faces_each_epoch_trains() {
    let _turn = serial();
    // 64 training faces, batches of 8: a 20-face epoch is 2 whole batches (16 faces), a
    // 100-face epoch chains two shuffled passes into 12 batches (96 faces).
    for (epoch_faces, trained) in [(20, 16), (100, 96)] {
        let dir = scratch(&format!("epoch-faces-{epoch_faces}"));
        let mut config = tiny_config(2);
        config.epoch_faces = Some(epoch_faces);
        train_on(&config, dataset(64, 14), &dir, options()).unwrap();
        let history: serde_json::Value =
            serde_json::from_slice(&bytes(&dir.join(files::HISTORY))).unwrap();
        let faces: Vec<u64> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|epoch| epoch["faces"].as_u64().unwrap())
            .collect();
        assert_eq!(faces, [trained, trained], "epoch_faces {epoch_faces}");
        std::fs::remove_dir_all(&dir).ok();
    }
    let mut config = tiny_config(1);
    config.epoch_faces = Some(0);
    assert!(config.validate().is_err());
}
