//! # mien-cli
//!
//! The `mien` command, and what it adds to the `mien` library: [`annotate`] draws an
//! analysis on its photo (text rendering), [`batch`] analyses a whole folder into
//! `results.csv`, `summary.json` and annotated copies, and [`video`] writes a video's
//! per-frame results, tracks, timeline and annotated copy. They live here so that a program that
//! only needs `mien::Analyzer` builds without a font renderer, a CSV writer or a folder walker.
//!
//! ```text
//! cargo install --path crates/mien-cli
//! mien analyze photo.jpg --annotate annotated.png
//! mien batch photos/ --out results/
//! mien video clip.mp4 --out results/ --annotate
//! ```

pub mod annotate;
pub mod batch;
pub mod video;
