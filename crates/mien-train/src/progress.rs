//! Progress reporting: a live bar on a terminal, plain log lines elsewhere (CI, `nohup`).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Where training progress goes.
#[derive(Debug)]
pub enum Progress {
    /// An indicatif bar per epoch: step, loss, accuracy, throughput, ETA.
    Bar(Option<ProgressBar>),
    /// A log line every `every` steps and one per epoch, on stderr.
    Log {
        /// Steps between lines.
        every: usize,
        /// When the current epoch started.
        started: Option<Instant>,
    },
    /// Nothing (tests and library use).
    Silent,
}

impl Progress {
    /// A bar when stderr is a terminal, log lines every 50 steps otherwise.
    pub fn auto() -> Self {
        if std::io::stderr().is_terminal() {
            Progress::Bar(None)
        } else {
            Progress::Log {
                every: 50,
                started: None,
            }
        }
    }

    /// Called when an epoch of `steps` steps starts.
    pub(crate) fn start_epoch(&mut self, epoch: usize, epochs: usize, steps: usize) {
        match self {
            Progress::Bar(bar) => {
                let b = ProgressBar::new(steps as u64);
                b.set_style(
                    ProgressStyle::with_template(
                        "epoch {prefix} [{bar:30}] {pos}/{len} {msg} {per_sec} eta {eta}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                b.set_prefix(format!("{epoch}/{epochs}"));
                *bar = Some(b);
            }
            Progress::Log { started, .. } => {
                *started = Some(Instant::now());
                eprintln!("epoch {epoch}/{epochs}: {steps} steps");
            }
            Progress::Silent => {}
        }
    }

    /// Called after each step with the running means of the epoch.
    pub(crate) fn step(
        &mut self,
        step: usize,
        steps: usize,
        loss: f64,
        accuracy: Option<f64>,
        faces: usize,
    ) {
        let metric = accuracy.map_or(String::new(), |a| format!(" acc {a:.4}"));
        match self {
            Progress::Bar(Some(bar)) => {
                bar.set_position(step as u64);
                bar.set_message(format!("loss {loss:.4}{metric}"));
            }
            Progress::Log { every, started } if step.is_multiple_of(*every) || step == steps => {
                let elapsed = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
                let rate = faces as f64 / elapsed.max(1e-9);
                let eta = elapsed / step as f64 * (steps - step) as f64;
                eprintln!(
                    "  step {step}/{steps} loss {loss:.4}{metric} {rate:.0} faces/s eta {eta:.0} s"
                );
            }
            _ => {}
        }
    }

    /// Called when the epoch is over, with a one-line summary.
    pub(crate) fn finish_epoch(&mut self, summary: &str) {
        match self {
            Progress::Bar(bar) => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                eprintln!("{summary}");
            }
            Progress::Log { .. } => eprintln!("{summary}"),
            Progress::Silent => {}
        }
    }
}
