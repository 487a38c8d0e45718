//! Where research data (FER2013, face photos, eye patches) is read from: `$MIEN_DATA`.
//!
//! The data is never part of the project; tests and tools that need real faces find it here.

use std::path::{Path, PathBuf};

use crate::Error;

/// The environment variable naming the data folder.
pub const DATA_ENV: &str = "MIEN_DATA";

/// The data folder: `$MIEN_DATA` when set, else the first `shared/` folder beside the
/// current directory or one of its ancestors (so `../shared` from the workspace root, also
/// when `cargo test` runs inside a crate's folder).
///
/// # Errors
/// [`Error::DataDirNotFound`] when `MIEN_DATA` names no folder, or it is unset and no
/// `shared/` folder is found.
pub fn data_dir() -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    resolve_data_dir(std::env::var_os(DATA_ENV).map(PathBuf::from), &cwd)
}

/// [`data_dir`]'s rule with its inputs given: an explicit folder, or a search from `cwd`.
pub fn resolve_data_dir(explicit: Option<PathBuf>, cwd: &Path) -> Result<PathBuf, Error> {
    if let Some(dir) = explicit {
        return if dir.is_dir() {
            Ok(dir)
        } else {
            Err(Error::DataDirNotFound(format!(
                "{DATA_ENV}={} is not a folder",
                dir.display()
            )))
        };
    }
    cwd.ancestors()
        .filter_map(Path::parent)
        .map(|parent| parent.join("shared"))
        .find(|candidate| candidate.is_dir())
        .ok_or_else(|| {
            Error::DataDirNotFound(format!(
                "{DATA_ENV} is unset and no shared/ folder is beside {} or its parents",
                cwd.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_folder_wins_and_missing_one_is_an_error() {
        let tmp = std::env::temp_dir();
        assert_eq!(
            resolve_data_dir(Some(tmp.clone()), Path::new("/")).unwrap(),
            tmp
        );
        let missing = tmp.join("mien-no-such-folder");
        let err = resolve_data_dir(Some(missing), Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("MIEN_DATA="), "{err}");
    }

    #[test]
    fn search_finds_shared_beside_an_ancestor() {
        let root = std::env::temp_dir().join(format!("mien-data-dir-{}", std::process::id()));
        let crate_dir = root.join("project/crates/some-crate");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::create_dir_all(root.join("shared")).unwrap();
        assert_eq!(
            resolve_data_dir(None, &crate_dir).unwrap(),
            root.join("shared")
        );
        std::fs::remove_dir_all(&root).ok();
    }
}
