//! FER2013's three splits, under every name the layouts give them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DataError;

/// A FER2013 split. FER+ calls them FER2013Train, FER2013Valid and FER2013Test; Kaggle's
/// folder layout calls them train and test (test holding both test splits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Split {
    /// The 28,709 training images (FER+ `FER2013Train`).
    Training,
    /// The 3,589 public test images, used for validation and model selection (FER+ `FER2013Valid`).
    PublicTest,
    /// The 3,589 private test images (FER+ `FER2013Test`).
    PrivateTest,
}

impl Split {
    /// All splits in FER2013's row order.
    pub const ALL: [Split; 3] = [Split::Training, Split::PublicTest, Split::PrivateTest];

    /// FER2013's own name (`Training`, `PublicTest`, `PrivateTest`).
    pub const fn name(self) -> &'static str {
        match self {
            Split::Training => "Training",
            Split::PublicTest => "PublicTest",
            Split::PrivateTest => "PrivateTest",
        }
    }

    /// The folder name of the FER+ layout (`FER2013Train`, `FER2013Valid`, `FER2013Test`).
    pub const fn ferplus_folder(self) -> &'static str {
        match self {
            Split::Training => "FER2013Train",
            Split::PublicTest => "FER2013Valid",
            Split::PrivateTest => "FER2013Test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Split {
    type Err = DataError;

    /// Accepts FER2013's, FER+'s and the usual short names, case-insensitively:
    /// `Training`/`train`/`FER2013Train`, `PublicTest`/`valid`/`val`/`FER2013Valid`,
    /// `PrivateTest`/`test`/`FER2013Test`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "training" | "train" | "fer2013train" => Ok(Split::Training),
            "publictest" | "valid" | "val" | "validation" | "fer2013valid" => Ok(Split::PublicTest),
            "privatetest" | "test" | "fer2013test" => Ok(Split::PrivateTest),
            _ => Err(DataError::UnknownSplit(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses() {
        for split in Split::ALL {
            assert_eq!(split.name().parse::<Split>().unwrap(), split);
            assert_eq!(split.ferplus_folder().parse::<Split>().unwrap(), split);
            assert_eq!(split.name().to_uppercase().parse::<Split>().unwrap(), split);
        }
        assert_eq!("valid".parse::<Split>().unwrap(), Split::PublicTest);
        assert!(matches!("dev".parse::<Split>(), Err(DataError::UnknownSplit(s)) if s == "dev"));
    }
}
