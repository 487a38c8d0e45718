//! Where research data (FER2013, face photos, eye patches) is read from: `$MIEN_DATA`.
//!
//! The data is never part of the project, and mien does not guess where it is: a program is
//! given a path, or `MIEN_DATA` names the folder that holds the datasets. Tests and benches that
//! need real faces ask [`test_data`], which skips them with one line when the data is absent
//! (and fails them under `MIEN_REQUIRE_DATA=1`, as CI runs).

use std::io::Write;
use std::path::PathBuf;

use crate::Error;

/// The environment variable naming the data folder.
pub const DATA_ENV: &str = "MIEN_DATA";

/// The environment variable that turns a skipped real-data test into a failure: `1` (CI sets
/// it, so that a dataset missing there is never mistaken for a pass).
pub const REQUIRE_DATA_ENV: &str = "MIEN_REQUIRE_DATA";

/// How to get the datasets: appended to every "not found" error.
const HOW_TO_GET_DATA: &str = "Set MIEN_DATA to the folder that holds the datasets: \
    fer2013/ is FER2013 from Kaggle (the challenge \"Challenges in Representation Learning: \
    Facial Expression Recognition Challenge\", file fer2013.csv, or the dataset msambare/fer2013 \
    with folders train/<emotion>/ and test/<emotion>/; mien-data reads either, the FER+ folders \
    FER2013Train/ with fer2013new.csv, and row-indexed <Split>/<class>/<row>.png with \
    labels.csv); faces_wild/ holds photos with face boxes and eyes/ the CEW eye patches \
    (closed/ and open/)";

/// The data folder, `$MIEN_DATA`.
///
/// # Errors
/// [`Error::DataDirNotFound`] when `MIEN_DATA` is unset or names no folder; the message says
/// how to get the datasets.
pub fn data_dir() -> Result<PathBuf, Error> {
    resolve_data_dir(std::env::var_os(DATA_ENV).map(PathBuf::from))
}

/// [`data_dir`]'s rule with the variable's value given.
pub fn resolve_data_dir(explicit: Option<PathBuf>) -> Result<PathBuf, Error> {
    match explicit {
        Some(dir) if dir.is_dir() => Ok(dir),
        Some(dir) => Err(Error::DataDirNotFound(format!(
            "{DATA_ENV}={} is not a folder. {HOW_TO_GET_DATA}",
            dir.display()
        ))),
        None => Err(Error::DataDirNotFound(format!(
            "{DATA_ENV} is unset. {HOW_TO_GET_DATA}"
        ))),
    }
}

/// For tests and benches: `$MIEN_DATA/<dataset>` when it is there. When it is not, `Ok(None)`
/// after one line on standard error naming the test and how to run it (written past the test
/// harness's capture, so `cargo test` shows it) — or, under `MIEN_REQUIRE_DATA=1`, the error.
///
/// ```
/// # fn main() -> Result<(), mien_core::Error> {
/// let Some(fer2013) = mien_core::data_dir::test_data("fer2013")? else {
///     return Ok(()); // skipped: the line says so
/// };
/// assert!(fer2013.join("labels.csv").is_file());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::DataDirNotFound`] when the dataset is missing and `MIEN_REQUIRE_DATA=1`.
pub fn test_data(dataset: &str) -> Result<Option<PathBuf>, Error> {
    let required = std::env::var(REQUIRE_DATA_ENV).is_ok_and(|v| v.trim() == "1");
    let found = data_dir().and_then(|dir| {
        let path = dir.join(dataset);
        match path.is_dir() {
            true => Ok(path),
            false => Err(Error::DataDirNotFound(format!(
                "{} has no {dataset}/ folder. {HOW_TO_GET_DATA}",
                dir.display()
            ))),
        }
    });
    match found {
        Ok(path) => Ok(Some(path)),
        Err(e) if required => Err(e),
        Err(_) => {
            let thread = std::thread::current();
            let test = thread.name().unwrap_or("a test");
            // Straight to the stream: the harness captures `eprintln!`, not this.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: it needs ${DATA_ENV}/{dataset}/ (research data, not in the \
                 repository); set {DATA_ENV} to the folder holding {dataset}/ to run it"
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_folder_is_used_and_a_missing_one_is_an_error() {
        let tmp = std::env::temp_dir();
        assert_eq!(resolve_data_dir(Some(tmp.clone())).unwrap(), tmp);
        let missing = tmp.join("mien-no-such-folder");
        let err = resolve_data_dir(Some(missing)).unwrap_err().to_string();
        assert!(
            err.contains("MIEN_DATA=") && err.contains("not a folder"),
            "{err}"
        );
    }

    #[test]
    fn no_folder_is_guessed_and_the_error_says_how_to_get_fer2013() {
        let err = resolve_data_dir(None).unwrap_err().to_string();
        assert!(err.contains("MIEN_DATA is unset"), "{err}");
        for hint in ["Kaggle", "fer2013.csv", "msambare/fer2013", "labels.csv"] {
            assert!(err.contains(hint), "no {hint:?} in {err}");
        }
    }
}
