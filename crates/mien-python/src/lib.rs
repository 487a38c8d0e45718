//! mien for Python: the native module `mien._mien` behind the `mien` package.
//!
//! ```python
//! import mien
//! analyzer = mien.Analyzer()                      # BlazeFace + bundled FER+ model, CPU
//! for face in analyzer.analyze("group.jpg").faces:
//!     print(face.emoji, face.emotion, face.smile)
//! ```
//!
//! The Python side (`python/mien/`) adds `to_dataframe`, the type stubs and `mien.ray`. Build
//! the wheel with `maturin build --release -m crates/mien-python/Cargo.toml`; see
//! `docs/PYTHON.md`.

use mien::detect::haar::HaarFaceDetector;
use mien::{AnalyzeError, Pretrained};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use rayon::prelude::*;

mod input;
mod results;

use input::Source;
use results::{Analysis, Face};

create_exception!(
    mien,
    MienError,
    PyException,
    "What mien could not do: a file it cannot read, a model it cannot load, a backend failure."
);

/// `error`'s message followed by each of its sources' not already in it, e.g. "cannot read
/// x.jpg: …: No such file or directory (os error 2)".
fn message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// `error` as a `MienError` with [`message`].
fn mien_error(error: &(dyn std::error::Error + 'static)) -> PyErr {
    MienError::new_err(message(error))
}

/// Finds faces, reads their expressions and smiles, rates the photo. One analyzer serves any
/// number of threads at once; its calls release the GIL while mien works.
#[pyclass(module = "mien", name = "Analyzer", frozen)]
struct Analyzer {
    /// Boxed: Python allocates objects 16-byte aligned, and the analyzer holds 64-byte
    /// aligned buffers.
    inner: Box<mien::Analyzer>,
}

#[pymethods]
impl Analyzer {
    /// `model`: a bundled model (`"ferplus-smile"`: 8 emotions and a smile head;
    /// `"default"`: 7 FER2013 emotions) or a `.safetensors` file written by mien's `train`.
    /// `detector`: `"blazeface"` or `"haar"` (OpenCV's frontal-face cascade).
    /// `whole_image`: each image is one pre-cropped face. `single_pass`: read each face
    /// once instead of averaging it with its mirror image. `eye_state`: run the eyes-open
    /// classifier.
    #[new]
    #[pyo3(signature = (model = "ferplus-smile", detector = "blazeface", whole_image = false, single_pass = false, eye_state = true))]
    fn new(
        py: Python<'_>,
        model: &str,
        detector: &str,
        whole_image: bool,
        single_pass: bool,
        eye_state: bool,
    ) -> PyResult<Self> {
        let device = mien::core::device::cpu();
        let mut builder = mien::Analyzer::builder()
            .device(device.clone())
            .whole_image(whole_image)
            .mirror_average(!single_pass)
            .eye_state(eye_state);
        builder = match model.parse::<Pretrained>() {
            Ok(pretrained) => builder.pretrained(pretrained),
            Err(unknown) if !model.ends_with(".safetensors") => {
                return Err(PyValueError::new_err(format!(
                    "{unknown}, or pass the path of a .safetensors file written by mien's train"
                )));
            }
            Err(_) => builder.model(
                py.detach(|| mien::models::weights::load(model, &device))
                    .map_err(|e| mien_error(&e))?,
            ),
        };
        builder = match detector {
            "blazeface" => builder,
            "haar" => {
                builder.detector(Box::new(HaarFaceDetector::frontal_face(Default::default())))
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "no detector is called {other:?}; choose \"blazeface\" or \"haar\""
                )));
            }
        };
        let inner = py
            .detach(|| builder.build())
            .map_err(|e: AnalyzeError| mien_error(&e))?;
        Ok(Self {
            inner: Box::new(inner),
        })
    }

    /// The emotions the model reads, in its output order.
    #[getter]
    fn emotions(&self) -> Vec<String> {
        let label_set = self.inner.label_set();
        label_set
            .emotions()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The face detector's name (`"whole-image"` with `whole_image=True`).
    #[getter]
    fn detector(&self) -> &str {
        self.inner.detector_name()
    }

    /// Analyses one photo: a path, the file's bytes, or a numpy uint8 array (H×W gray,
    /// H×W×3 RGB or H×W×4 RGBA).
    fn analyze(&self, py: Python<'_>, image: &Bound<'_, PyAny>) -> PyResult<Analysis> {
        let source = Source::extract(image)?;
        let path = source.path();
        let analysis = py
            .detach(|| analyze_source(&self.inner, source))
            .map_err(MienError::new_err)?;
        Ok(Analysis { analysis, path })
    }

    /// Analyses many photos in parallel on every core, without the GIL. Results come in the
    /// order of `images`. `on_error="raise"` raises the first failure (naming the photo's
    /// index); `on_error="return"` puts the `MienError` in that photo's place instead.
    #[pyo3(signature = (images, *, on_error = "raise"))]
    fn analyze_batch(
        &self,
        py: Python<'_>,
        images: Vec<Bound<'_, PyAny>>,
        on_error: &str,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let raise = match on_error {
            "raise" => true,
            "return" => false,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_error must be \"raise\" or \"return\" (got {other:?})"
                )));
            }
        };
        let mut results = Vec::with_capacity(images.len());
        // A chunk at a time, so that a long list of arrays or byte strings is not copied
        // whole before the first photo is analysed.
        for (chunk_index, chunk) in images.chunks(BATCH_CHUNK).enumerate() {
            let sources: Vec<Source> =
                chunk.iter().map(Source::extract).collect::<PyResult<_>>()?;
            let paths: Vec<Option<String>> = sources.iter().map(Source::path).collect();
            let outcomes: Vec<Result<mien::Analysis, String>> = py.detach(|| {
                sources
                    .into_par_iter()
                    .map(|source| analyze_source(&self.inner, source))
                    .collect()
            });
            for (offset, (outcome, path)) in outcomes.into_iter().zip(paths).enumerate() {
                let index = chunk_index * BATCH_CHUNK + offset;
                match outcome {
                    Ok(analysis) => {
                        results.push(Py::new(py, Analysis { analysis, path })?.into_any());
                    }
                    Err(message) => {
                        let what = path
                            .map_or(format!("image {index}"), |p| format!("image {index} ({p})"));
                        let error = MienError::new_err(format!("{what}: {message}"));
                        if raise {
                            return Err(error);
                        }
                        results.push(error.into_value(py).into_any());
                    }
                }
            }
        }
        Ok(results)
    }

    fn __repr__(&self) -> String {
        format!(
            "Analyzer(detector='{}', emotions={})",
            self.inner.detector_name(),
            self.inner.label_set().num_classes()
        )
    }
}

/// Photos `analyze_batch` takes out of Python objects at a time.
const BATCH_CHUNK: usize = 64;

/// Decodes and analyses one photo; the error is [`message`]'s text. A panic inside mien (a
/// bug) becomes this photo's error instead of ending a whole batch or a distributed job.
fn analyze_source(analyzer: &mien::Analyzer, source: Source) -> Result<mien::Analysis, String> {
    let analysis = || -> Result<mien::Analysis, Box<dyn std::error::Error + Send + Sync>> {
        let image = source.decode()?;
        Ok(analyzer.analyze(&image)?)
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(analysis)) {
        Ok(outcome) => outcome.map_err(|e| message(e.as_ref())),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!(
                "mien failed unexpectedly ({what}); this is a bug: please report it with the photo"
            ))
        }
    }
}

/// The native module.
#[pymodule]
fn _mien(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Analyzer>()?;
    module.add_class::<Analysis>()?;
    module.add_class::<Face>()?;
    module.add("MienError", module.py().get_type::<MienError>())?;
    module.add("CSV_COLUMNS", mien::FaceRow::COLUMNS.to_vec())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
