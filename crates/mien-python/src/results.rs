//! The result objects Python receives: `mien.Analysis` and `mien.Face`, read-only views of
//! mien's serde types that also convert to plain dicts (the JSON `mien analyze --json` prints).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One face of a photo.
#[pyclass(module = "mien", name = "Face", frozen)]
pub struct Face(pub mien::FaceAnalysis);

#[pymethods]
impl Face {
    /// `(x, y, width, height)` in photo pixels.
    #[getter(r#box)]
    fn face_box(&self) -> (f32, f32, f32, f32) {
        let b = self.0.face;
        (b.x, b.y, b.width, b.height)
    }

    /// The detector's confidence (1 for a whole-image face).
    #[getter]
    fn confidence(&self) -> f32 {
        self.0.face.confidence
    }

    /// `{"left_eye": (x, y), "right_eye": …, "nose": …, "mouth": …}` from detectors that
    /// locate them (BlazeFace), else `None`.
    #[getter]
    fn key_points<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(points) = self.0.key_points else {
            return Ok(None);
        };
        let dict = PyDict::new(py);
        for (name, [x, y]) in [
            ("left_eye", points.left_eye),
            ("right_eye", points.right_eye),
            ("nose", points.nose),
            ("mouth", points.mouth),
        ] {
            dict.set_item(name, (x, y))?;
        }
        Ok(Some(dict))
    }

    /// The eye centres `((x, y), (x, y))`, the one further left in the photo first, when
    /// the detector or the eye finder located them.
    #[getter]
    fn eyes(&self) -> Option<((f32, f32), (f32, f32))> {
        self.0
            .eyes
            .map(|[left, right]| ((left[0], left[1]), (right[0], right[1])))
    }

    /// Probability that the eyes are open, when the eye-state classifier ran.
    #[getter]
    fn eyes_open(&self) -> Option<f32> {
        self.0.eyes_open
    }

    /// Every emotion of the model's label set with its probability, in the model's order.
    #[getter]
    fn emotions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let emotions = PyDict::new(py);
        for (emotion, p) in self.0.emotions.iter() {
            emotions.set_item(emotion.to_string(), p)?;
        }
        Ok(emotions)
    }

    /// The most probable emotion.
    #[getter]
    fn emotion(&self) -> String {
        self.0.emotion.to_string()
    }

    /// Its probability.
    #[getter]
    fn emotion_probability(&self) -> f32 {
        self.0.emotion_probability
    }

    /// The top emotion's emoji.
    #[getter]
    fn emoji(&self) -> &str {
        &self.0.emoji
    }

    /// Smile score, 1–10.
    #[getter]
    fn smile(&self) -> f32 {
        self.0.smile.value()
    }

    /// Smile level: `none`, `mild`, `moderate` or `huge`.
    #[getter]
    fn smile_level(&self) -> &'static str {
        self.0.smile_level.name()
    }

    /// The face as a dict of plain values: its JSON in `mien analyze --json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_value(py, &self.0)
    }

    fn __repr__(&self) -> String {
        let (x, y, w, h) = self.face_box();
        format!(
            "Face(box=({x:.0}, {y:.0}, {w:.0}, {h:.0}), emotion='{}', probability={:.2}, smile={:.1})",
            self.0.emotion,
            self.0.emotion_probability,
            self.0.smile.value()
        )
    }
}

/// Everything mien found in one photo.
#[pyclass(module = "mien", name = "Analysis", frozen)]
pub struct Analysis {
    pub analysis: mien::Analysis,
    /// The photo's path when it was given as one.
    pub path: Option<String>,
}

#[pymethods]
impl Analysis {
    /// The photo's path, when it was given as a path (`None` for bytes and arrays).
    #[getter]
    fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Photo width in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.analysis.width
    }

    /// Photo height in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.analysis.height
    }

    /// The faces, most confident first.
    #[getter]
    fn faces<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.analysis.faces.iter().cloned().map(Face))
    }

    /// mien's photo rating in [0, 1]; `None` without faces.
    #[getter]
    fn rating(&self) -> Option<f32> {
        self.analysis.rating
    }

    /// The rating by smile levels (the earlier projects' formula); `None` without faces.
    #[getter]
    fn rating_by_smile_levels(&self) -> Option<f32> {
        self.analysis.rating_by_smile_levels
    }

    /// One dict per face with the columns of `mien batch`'s results.csv; `file` defaults to
    /// the photo's path (or `""`).
    #[pyo3(signature = (file = None))]
    fn rows<'py>(&self, py: Python<'py>, file: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let file = file.or(self.path.as_deref()).unwrap_or_default();
        Ok(pythonize::pythonize(py, &self.analysis.rows(file))?)
    }

    /// The analysis as a dict of plain values: `json.loads(self.to_json())`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_value(py, &self.analysis)
    }

    /// The analysis as JSON text, as `mien analyze --json` prints it.
    fn to_json(&self) -> PyResult<String> {
        json_text(&self.analysis)
    }

    fn __len__(&self) -> usize {
        self.analysis.faces.len()
    }

    fn __repr__(&self) -> String {
        let path = self
            .path
            .as_deref()
            .map(|p| format!("path={p:?}, "))
            .unwrap_or_default();
        format!(
            "Analysis({path}{}×{}, faces={}, rating={})",
            self.analysis.width,
            self.analysis.height,
            self.analysis.faces.len(),
            self.analysis
                .rating
                .map_or("None".to_owned(), |r| format!("{r:.2}"))
        )
    }
}

/// `value` as the JSON text mien writes (numbers as their shortest `f32` text).
fn json_text(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `value` as Python's `json` module reads [`json_text`]: the same numbers a Python program
/// reading `mien analyze --json` sees, lists for arrays.
fn json_value<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (json_text(value)?,))
}
