//! The one place that turns Cargo features and `MIEN_DEVICE` into a burn [`Device`].
//!
//! Library code never names a backend: it takes a `&Device`. Binaries, benches and tests call
//! [`select_device`] (or [`device_for`]) once.
//!
//! | `MIEN_DEVICE` | backend | Cargo feature |
//! | --- | --- | --- |
//! | unset, `cpu`, `flex` | burn-flex on the CPU (default) | `flex` (default) |
//! | `wgpu`, `wgpu:cpu` | wgpu: the default GPU adapter, or a CPU adapter such as Mesa's lavapipe | `wgpu` |
//! | `cuda`, `cuda:N` | CUDA device N (0 by default) | `cuda` |
//! | `ndarray` | burn-ndarray (deprecated; kept for backend comparisons) | `ndarray` |

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The environment variable that picks the backend at run time.
pub const DEVICE_ENV: &str = "MIEN_DEVICE";

/// A backend and device choice, parsed from `MIEN_DEVICE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeviceChoice {
    /// burn-flex, the CPU default.
    #[default]
    Cpu,
    /// wgpu's default adapter (a discrete GPU when there is one).
    Wgpu,
    /// wgpu on a CPU adapter (Mesa lavapipe): slow, but runs the GPU code path without a GPU.
    WgpuCpu,
    /// CUDA device with the given index.
    Cuda(usize),
    /// burn-ndarray (deprecated since burn 0.22; slow to train).
    Ndarray,
}

impl DeviceChoice {
    /// The Cargo feature that compiles this backend in.
    pub const fn feature(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "flex",
            DeviceChoice::Wgpu | DeviceChoice::WgpuCpu => "wgpu",
            DeviceChoice::Cuda(_) => "cuda",
            DeviceChoice::Ndarray => "ndarray",
        }
    }

    /// Whether this build has the backend compiled in.
    pub const fn is_compiled(self) -> bool {
        match self {
            DeviceChoice::Cpu => cfg!(feature = "flex"),
            DeviceChoice::Wgpu | DeviceChoice::WgpuCpu => cfg!(feature = "wgpu"),
            DeviceChoice::Cuda(_) => cfg!(feature = "cuda"),
            DeviceChoice::Ndarray => cfg!(feature = "ndarray"),
        }
    }

    /// Every choice whose backend this build has, for messages and listings.
    pub fn compiled() -> Vec<DeviceChoice> {
        [
            DeviceChoice::Cpu,
            DeviceChoice::Wgpu,
            DeviceChoice::WgpuCpu,
            DeviceChoice::Cuda(0),
            DeviceChoice::Ndarray,
        ]
        .into_iter()
        .filter(|c| c.is_compiled())
        .collect()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Wgpu => f.write_str("wgpu"),
            DeviceChoice::WgpuCpu => f.write_str("wgpu:cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceChoice::Ndarray => f.write_str("ndarray"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let choice = match lower.as_str() {
            "" | "cpu" | "flex" => DeviceChoice::Cpu,
            "wgpu" | "gpu" => DeviceChoice::Wgpu,
            "wgpu:cpu" => DeviceChoice::WgpuCpu,
            "cuda" => DeviceChoice::Cuda(0),
            "ndarray" => DeviceChoice::Ndarray,
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(index)) => DeviceChoice::Cuda(index),
                _ => return Err(Error::UnknownDevice(s.to_owned())),
            },
        };
        Ok(choice)
    }
}

/// The device named by `MIEN_DEVICE` (the CPU when unset).
///
/// # Errors
/// [`Error::UnknownDevice`] for a value that names no backend, and
/// [`Error::BackendNotCompiled`] when the backend's Cargo feature is off.
pub fn select_device() -> Result<Device, Error> {
    let choice = match std::env::var(DEVICE_ENV) {
        Ok(value) => value.parse()?,
        Err(_) => DeviceChoice::default(),
    };
    device_for(choice)
}

/// The device for an explicit choice.
///
/// # Errors
/// [`Error::BackendNotCompiled`] when the backend's Cargo feature is off.
pub fn device_for(choice: DeviceChoice) -> Result<Device, Error> {
    if !choice.is_compiled() {
        return Err(Error::BackendNotCompiled {
            choice,
            feature: choice.feature(),
            compiled: DeviceChoice::compiled()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    // Without any backend feature every arm below is compiled out and `Ok(…)` is unreachable.
    #[allow(unreachable_code)]
    Ok(match choice {
        #[cfg(feature = "flex")]
        DeviceChoice::Cpu => Device::flex(),
        #[cfg(feature = "wgpu")]
        DeviceChoice::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[cfg(feature = "wgpu")]
        DeviceChoice::WgpuCpu => Device::wgpu(burn::tensor::DeviceKind::Cpu),
        #[cfg(feature = "cuda")]
        DeviceChoice::Cuda(index) => Device::cuda(index),
        #[cfg(feature = "ndarray")]
        DeviceChoice::Ndarray => Device::ndarray(),
        #[allow(unreachable_patterns)]
        _ => unreachable!("is_compiled() returned true for {choice}"),
    })
}

/// The CPU device (burn-flex); what tests and CPU-only tools use.
///
/// # Panics
/// Only in a build with the `flex` feature turned off, which is a programming error in the
/// calling crate's features, not a user error.
pub fn cpu() -> Device {
    device_for(DeviceChoice::Cpu).expect("mien-core was built without its `flex` feature")
}

/// Whether `device` is the CPU (burn-flex), where mien's native CPU passes
/// ([`crate::native`]) beat burn's per-operation kernels.
pub fn is_cpu(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    return *device == Device::flex();
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for (text, choice) in [
            ("cpu", DeviceChoice::Cpu),
            ("FLEX", DeviceChoice::Cpu),
            ("wgpu", DeviceChoice::Wgpu),
            ("wgpu:cpu", DeviceChoice::WgpuCpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
            ("ndarray", DeviceChoice::Ndarray),
        ] {
            assert_eq!(text.parse::<DeviceChoice>().unwrap(), choice);
            assert_eq!(choice.to_string().parse::<DeviceChoice>().unwrap(), choice);
        }
        assert!(matches!(
            "tpu".parse::<DeviceChoice>(),
            Err(Error::UnknownDevice(_))
        ));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn cpu_is_compiled_by_default() {
        assert!(DeviceChoice::Cpu.is_compiled());
        assert!(device_for(DeviceChoice::Cpu).is_ok());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn missing_backend_error_names_the_feature() {
        let err = device_for(DeviceChoice::Cuda(0)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("--features cuda"), "{message}");
        assert!(message.contains("cpu"), "{message}");
    }
}
