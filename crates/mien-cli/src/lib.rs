//! # mien-cli
//!
//! The `mien` command, and the two things it adds to the `mien` library: [`annotate`] draws an
//! analysis on its photo (text rendering), and [`batch`] analyses a whole folder into
//! `results.csv`, `summary.json` and annotated copies. They live here so that a program that
//! only needs `mien::Analyzer` builds without a font renderer, a CSV writer or a folder walker.
//!
//! ```text
//! cargo install --path crates/mien-cli
//! mien analyze photo.jpg --annotate annotated.png
//! mien batch photos/ --out results/
//! ```

pub mod annotate;
pub mod batch;
