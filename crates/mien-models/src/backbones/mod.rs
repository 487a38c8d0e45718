//! Feature extractors, one architecture per file.

pub mod baseline_cnn;

pub use baseline_cnn::{BaselineCnn, BaselineCnnConfig};
