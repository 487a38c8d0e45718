//! `mien batch <dir> --out <dir>`: `mien_cli::batch` with a progress bar.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use mien_cli::batch::{Summary, analyze_all, find_images, write_results_csv};

/// Runs the batch; `Err` only for what stops the whole run.
pub fn run(
    dir: &Path,
    out: &Path,
    annotate: bool,
    options: &super::AnalyzerArgs,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let images = find_images(dir)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let analyzer = options.build()?;
    let annotated = out.join("annotated");
    let bar = ProgressBar::new(images.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let outcomes = analyze_all(
        &analyzer,
        dir,
        &images,
        annotate.then_some(annotated.as_path()),
        |_| bar.inc(1),
    );
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    write_results_csv(&outcomes, &out.join("results.csv"))?;
    let summary = Summary::new(&outcomes);
    summary.write(&out.join("summary.json"))?;

    for failed in &summary.unreadable {
        eprintln!(
            "skipped {}: {}",
            failed.path.display(),
            failed.error.as_deref().unwrap_or("unknown error")
        );
    }
    println!(
        "{} of {} photos analysed in {seconds:.1} s ({:.1} photos/s), {} faces, mean smile {}; results in {}",
        summary.analysed,
        summary.photos,
        summary.photos as f64 / seconds.max(1e-9),
        summary.faces,
        summary
            .mean_smile
            .map_or("-".to_owned(), |s| format!("{s:.1}")),
        out.display()
    );
    Ok(if summary.analysed == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
