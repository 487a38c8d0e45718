//! The pipeline: detect → align → classify → score.

use std::cell::OnceCell;
use std::sync::OnceLock;

use burn::module::Module;
use burn::prelude::*;
use image::{DynamicImage, GenericImageView, GrayImage};
use mien_core::{
    Detection, EmotionProbabilities, FaceBox, FaceDetector, FaceKeyPoints, LabelSet, read_f32,
};
use mien_detect::align::{CropConfig, Eyes, align_face_rgb};
use mien_detect::eye_state::EyeStateClassifier;
use mien_detect::eyes::EyeFinder;
use mien_detect::face_mesh::FaceMesh;
use mien_detect::haar::opencv_gray;
use mien_detect::{BlazeFaceDetector, DetectError};
use mien_models::native::NativeModel;
use mien_models::pretrained::Pretrained;
use mien_models::weights::{HeadSpec, Model, ModelError, ModelSpec, SavedModel};
use mien_score::{PhotoFace, SmileScore, emoji, rate_photo, rate_photo_seed};
use rayon::prelude::*;

use crate::{Analysis, FaceAnalysis, Landmarks};

/// What can go wrong building or running an [`Analyzer`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// A model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The detector or eye classifier could not be loaded.
    #[error(transparent)]
    Detector(#[from] DetectError),
    /// Detection, preprocessing or the backend failed.
    #[error(transparent)]
    Core(#[from] mien_core::Error),
    /// An annotated image could not be written.
    #[error("cannot write {path}: {source} (is the folder there and the extension .png or .jpg?)")]
    WriteImage {
        /// The file.
        path: std::path::PathBuf,
        /// The encoder's or file system's error.
        source: image::ImageError,
    },
    /// The model has no emotion head (a smile-only model cannot give expressions).
    #[error("the model has no emotion head; use an emotion or multi-task model")]
    NoEmotionHead,
    /// A "make it happier" strength outside `mien::happier::STRENGTH_RANGE`.
    #[error(
        "strength {0} is outside -2..=2 (1: a natural smile, 2: a broad one, below 0: less happy)"
    )]
    InvalidStrength(f32),
}

/// Where faces come from.
enum Faces {
    /// A detector (BlazeFace unless the builder was given another); eyes from its key points
    /// where it finds them, else from the eye cascade.
    Detector(Box<dyn FaceDetector>),
    /// The whole image is one face (pre-cropped faces).
    WholeImage,
}

/// Detects faces, reads their expressions and smiles, and rates the photo.
///
/// ```no_run
/// let analyzer = mien::Analyzer::new().unwrap();
/// let photo = mien_core::open_image("photo.jpg").unwrap();
/// let analysis = analyzer.analyze(&photo).unwrap();
/// for face in &analysis.faces {
///     println!("{} {} smile {:.1}", face.emoji, face.emotion, face.smile.value());
/// }
/// ```
pub struct Analyzer {
    faces: Faces,
    model: Model,
    /// The model's native CPU pass, when the device is the CPU.
    native: Option<NativeModel>,
    spec: ModelSpec,
    label_set: LabelSet,
    eye_state: Option<EyeStateClassifier>,
    crop_margin: f32,
    mirror_average: bool,
    /// Whether every analysis carries each face's mesh.
    with_landmarks: bool,
    /// The face mesh network, loaded when first needed.
    mesh: OnceLock<FaceMesh>,
    device: Device,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("detector", &self.detector_name())
            .field(
                "architecture",
                &self.spec.backbone.architecture().to_string(),
            )
            .field("label_set", &self.label_set)
            .field("native_classifier", &self.native.is_some())
            .field("mirror_average", &self.mirror_average)
            .field("device", &self.device)
            .finish()
    }
}

/// Builds an [`Analyzer`] with other parts than the defaults.
pub struct AnalyzerBuilder {
    device: Option<Device>,
    detector: Option<Box<dyn FaceDetector>>,
    whole_image: bool,
    model: Option<SavedModel>,
    pretrained: Pretrained,
    eye_state: bool,
    crop_margin: f32,
    mirror_average: bool,
    landmarks: bool,
}

impl Default for AnalyzerBuilder {
    fn default() -> Self {
        Self {
            device: None,
            detector: None,
            whole_image: false,
            model: None,
            pretrained: Pretrained::FerPlusSmile,
            eye_state: true,
            crop_margin: 0.1,
            mirror_average: true,
            landmarks: false,
        }
    }
}

impl AnalyzerBuilder {
    /// Run on `device` (default: `mien_core::select_device`, i.e. `MIEN_DEVICE` or the CPU).
    pub fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// Find faces with `detector` instead of the bundled BlazeFace.
    pub fn detector(mut self, detector: Box<dyn FaceDetector>) -> Self {
        self.detector = Some(detector);
        self
    }

    /// Treat every image as one face (for inputs that are already face crops).
    pub fn whole_image(mut self, whole_image: bool) -> Self {
        self.whole_image = whole_image;
        self
    }

    /// Classify with a bundled model (default: [`Pretrained::FerPlusSmile`], which also
    /// gives the smile intensity).
    pub fn pretrained(mut self, pretrained: Pretrained) -> Self {
        self.pretrained = pretrained;
        self.model = None;
        self
    }

    /// Classify with a model loaded with `mien_models::weights::load` (any architecture
    /// and emotion or multi-task head). Load it on the analyzer's device.
    pub fn model(mut self, model: SavedModel) -> Self {
        self.model = Some(model);
        self
    }

    /// Whether to run the eyes-open classifier (default true).
    pub fn eye_state(mut self, enabled: bool) -> Self {
        self.eye_state = enabled;
        self
    }

    /// Space added around each detected face box before cropping, as a fraction of its side
    /// (default 0.1). Whole-image faces are read as they are, without a margin.
    pub fn crop_margin(mut self, margin: f32) -> Self {
        self.crop_margin = margin;
        self
    }

    /// Whether to read each face and its mirror image and average the two (default true).
    /// The bundled models' documented accuracies are with it on
    /// (`Pretrained::card`); it costs a second pass of the classifier per face.
    pub fn mirror_average(mut self, enabled: bool) -> Self {
        self.mirror_average = enabled;
        self
    }

    /// Whether each face of every analysis carries its 468-point mesh
    /// ([`FaceAnalysis::landmarks`]; off by default: about 2 ms a face on one core).
    pub fn landmarks(mut self, enabled: bool) -> Self {
        self.landmarks = enabled;
        self
    }

    /// The analyzer.
    ///
    /// # Errors
    /// [`AnalyzeError`] when a bundled part cannot be loaded or the model has no emotion head.
    pub fn build(self) -> Result<Analyzer, AnalyzeError> {
        let device = match self.device {
            Some(d) => d,
            None => mien_core::select_device()?,
        };
        let saved = match self.model {
            Some(saved) => saved,
            None => self.pretrained.load(&device)?,
        };
        let label_set = match saved.spec.head {
            HeadSpec::Emotion { label_set } | HeadSpec::MultiTask { label_set } => label_set,
            HeadSpec::Smile => return Err(AnalyzeError::NoEmotionHead),
        };
        let faces = if self.whole_image {
            Faces::WholeImage
        } else if let Some(detector) = self.detector {
            Faces::Detector(detector)
        } else {
            Faces::Detector(Box::new(BlazeFaceDetector::bundled(&device)?))
        };
        let eye_state = if self.eye_state {
            Some(EyeStateClassifier::bundled(&device)?)
        } else {
            None
        };
        let model = saved.model.valid();
        let native = if mien_core::device::is_cpu(&device) {
            Some(NativeModel::from_model(&model)?)
        } else {
            None
        };
        let analyzer = Analyzer {
            faces,
            model,
            native,
            spec: saved.spec,
            label_set,
            eye_state,
            crop_margin: self.crop_margin,
            mirror_average: self.mirror_average,
            with_landmarks: self.landmarks,
            mesh: OnceLock::new(),
            device,
        };
        if analyzer.with_landmarks {
            // Load it now, so that a broken bundle fails the build, not an analysis.
            analyzer.mesh()?;
        }
        Ok(analyzer)
    }
}

/// A face found in a photo, before classification.
struct Located {
    face: FaceBox,
    eyes: Option<Eyes>,
    key_points: Option<FaceKeyPoints>,
}

impl Analyzer {
    /// The default analyzer: BlazeFace, the bundled FER+ emotion and smile model, the
    /// eyes-open classifier, on `mien_core::select_device()`.
    ///
    /// # Errors
    /// As [`AnalyzerBuilder::build`].
    pub fn new() -> Result<Self, AnalyzeError> {
        Self::builder().build()
    }

    /// A builder to swap parts.
    pub fn builder() -> AnalyzerBuilder {
        AnalyzerBuilder::default()
    }

    /// The face detector's name.
    pub fn detector_name(&self) -> &str {
        match &self.faces {
            Faces::Detector(d) => d.name(),
            Faces::WholeImage => "whole-image",
        }
    }

    /// The classifier's label set.
    pub fn label_set(&self) -> LabelSet {
        self.label_set
    }

    /// Faces, expressions, smiles and the rating of one photo.
    ///
    /// # Errors
    /// [`AnalyzeError::Core`] when detection or the backend fails; a photo without faces
    /// is an analysis with no faces.
    pub fn analyze(&self, image: &DynamicImage) -> Result<Analysis, AnalyzeError> {
        let mut results = self.analyze_batch(std::slice::from_ref(image))?;
        Ok(results.remove(0))
    }

    /// [`Self::analyze`] for many photos: the faces of all of them go through the model in
    /// one batch.
    ///
    /// # Errors
    /// As [`Self::analyze`].
    pub fn analyze_batch(&self, images: &[DynamicImage]) -> Result<Vec<Analysis>, AnalyzeError> {
        // One gray copy per photo, made only if the eye cascade or eye-state classifier
        // needs it.
        let grays: Vec<OnceCell<GrayImage>> = images.iter().map(|_| OnceCell::new()).collect();
        let located: Vec<Vec<Located>> = images
            .iter()
            .zip(&grays)
            .map(|(image, gray)| self.locate(image, gray))
            .collect::<Result<_, _>>()?;
        let crop = CropConfig {
            // A whole image is the crop itself: a margin would shrink a pre-cropped face
            // inside a border the model never saw in training.
            margin: match self.faces {
                Faces::WholeImage => 0.0,
                Faces::Detector(_) => self.crop_margin,
            },
            size: (
                self.spec.preprocessing.width,
                self.spec.preprocessing.height,
            ),
        };
        let mut crops = Vec::new();
        for (image, faces) in images.iter().zip(&located) {
            if faces.is_empty() {
                continue;
            }
            let rgb = mien_core::rgb8(image);
            crops.par_extend(faces.par_iter().map(|f| {
                DynamicImage::ImageRgb8(align_face_rgb(&rgb, &f.face, f.eyes.as_ref(), &crop))
            }));
        }
        let (probabilities, smiles) = self.classify(&crops)?;
        let classes = self.label_set.num_classes();
        let mut next = 0;
        let mut analyses = Vec::with_capacity(images.len());
        for ((image, faces), gray) in images.iter().zip(located).zip(&grays) {
            let mut results = Vec::with_capacity(faces.len());
            for found in faces {
                let p = probabilities[next * classes..(next + 1) * classes].to_vec();
                let emotions = EmotionProbabilities::new(self.label_set, p)?;
                let smile = match &smiles {
                    Some(s) => SmileScore::from_intensity(s[next]),
                    None => SmileScore::from_emotions(&emotions),
                };
                next += 1;
                let eyes_open = self
                    .eye_state
                    .as_ref()
                    .map(|classifier| eyes_open(classifier, image, gray, &found))
                    .filter(|p| !p.is_nan());
                let (emotion, emotion_probability) = emotions.top();
                results.push(FaceAnalysis {
                    face: found.face,
                    eyes: found
                        .eyes
                        .map(|e| [[e.left.0, e.left.1], [e.right.0, e.right.1]]),
                    key_points: found.key_points,
                    eyes_open,
                    emotions,
                    emotion,
                    emotion_probability,
                    emoji: emoji(emotion).to_owned(),
                    smile,
                    smile_level: smile.level(),
                    landmarks: None,
                });
            }
            let mut analysis = rate(image, results);
            if self.with_landmarks {
                let meshes = self.landmarks(image, &analysis)?;
                for (face, mesh) in analysis.faces.iter_mut().zip(meshes) {
                    face.landmarks = Some(mesh);
                }
            }
            analyses.push(analysis);
        }
        Ok(analyses)
    }

    /// The 468-point mesh of each face of `analysis` (an analysis of `image`), or why a face
    /// has none; the faces' eyes level the mesh's crop. The mesh network is loaded on first
    /// use.
    ///
    /// # Errors
    /// [`AnalyzeError::Detector`] if the bundled mesh network cannot be loaded.
    pub fn landmarks(
        &self,
        image: &DynamicImage,
        analysis: &Analysis,
    ) -> Result<Vec<Landmarks>, AnalyzeError> {
        if analysis.faces.is_empty() {
            return Ok(Vec::new());
        }
        let mesh = self.mesh()?;
        let rgb = mien_core::rgb8(image);
        Ok(analysis
            .faces
            .par_iter()
            .map(|face| {
                let eyes = face.eyes.map(|[left, right]| Eyes {
                    left: (left[0], left[1]),
                    right: (right[0], right[1]),
                });
                mesh.landmarks(&rgb, &face.face, eyes.as_ref()).into()
            })
            .collect())
    }

    /// The face mesh network, loaded on first use.
    fn mesh(&self) -> Result<&FaceMesh, AnalyzeError> {
        if let Some(mesh) = self.mesh.get() {
            return Ok(mesh);
        }
        let loaded = FaceMesh::bundled(&self.device)?;
        Ok(self.mesh.get_or_init(|| loaded))
    }

    /// The mouth key point of each face the detector finds in `image` with key points
    /// (BlazeFace does), with the face's box.
    pub(crate) fn mouths(
        &self,
        image: &DynamicImage,
    ) -> Result<Vec<(FaceBox, [f32; 2])>, AnalyzeError> {
        let Faces::Detector(detector) = &self.faces else {
            return Ok(Vec::new());
        };
        Ok(detector
            .detections(image)?
            .into_iter()
            .filter_map(|d| Some((d.face, d.key_points?.mouth)))
            .collect())
    }

    /// The faces of `image`; `gray` is its gray copy, made here if the eye cascade needs it.
    fn locate(
        &self,
        image: &DynamicImage,
        gray: &OnceCell<GrayImage>,
    ) -> Result<Vec<Located>, AnalyzeError> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        Ok(match &self.faces {
            Faces::WholeImage => vec![Located {
                face: FaceBox::whole_image(w, h),
                eyes: None,
                key_points: None,
            }],
            Faces::Detector(detector) => {
                let finder = EyeFinder::default();
                detector
                    .detections(image)?
                    .into_iter()
                    .map(|Detection { face, key_points }| {
                        let eyes = match key_points {
                            Some(points) => Some(Eyes {
                                left: (points.left_eye[0], points.left_eye[1]),
                                right: (points.right_eye[0], points.right_eye[1]),
                            }),
                            None => {
                                let gray = gray.get_or_init(|| opencv_gray(image));
                                finder.find(gray, &face).ok().flatten()
                            }
                        };
                        Located {
                            face,
                            eyes,
                            key_points,
                        }
                    })
                    .collect()
            }
        })
    }

    /// Emotion probabilities (flat, `classes` per crop) and smile intensities of the crops.
    fn classify(
        &self,
        crops: &[DynamicImage],
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), AnalyzeError> {
        if crops.is_empty() {
            return Ok((Vec::new(), None));
        }
        let (probabilities, smiles) = if let Some(native) = &self.native {
            let preprocessing = &self.spec.preprocessing;
            let views = if self.mirror_average { 2 } else { 1 };
            let mut values =
                Vec::with_capacity(views * crops.len() * preprocessing.values_per_image());
            for crop in crops {
                values.extend(preprocessing.values(crop)?);
            }
            if self.mirror_average {
                let width = preprocessing.width as usize;
                let mirrored: Vec<f32> = values
                    .chunks_exact(width)
                    .flat_map(|row| row.iter().rev().copied())
                    .collect();
                values.extend(mirrored);
            }
            let prediction = native.predict(&values);
            (prediction.probabilities, prediction.smile)
        } else {
            let mut input = self.spec.preprocessing.batch(crops, &self.device)?;
            if self.mirror_average {
                input = Tensor::cat(vec![input.clone(), input.flip([3])], 0);
            }
            let prediction = self.model.predict(input);
            let probabilities = prediction.probabilities.map(read_f32).transpose()?;
            let smiles = prediction.smile.map(read_f32).transpose()?;
            (probabilities, smiles)
        };
        let probabilities = probabilities.ok_or(AnalyzeError::NoEmotionHead)?;
        if self.mirror_average {
            Ok((
                average_halves(&probabilities),
                smiles.as_deref().map(average_halves),
            ))
        } else {
            Ok((probabilities, smiles))
        }
    }
}

/// The mean of a batch's first and second half, element by element: the readings of `n`
/// faces from those of the faces followed by their mirror images.
fn average_halves(values: &[f32]) -> Vec<f32> {
    let (faces, mirrors) = values.split_at(values.len() / 2);
    faces
        .iter()
        .zip(mirrors)
        .map(|(a, b)| 0.5 * (a + b))
        .collect()
}

/// P(eyes open) of a found face. Without a gray copy of the whole photo at hand (the eye
/// cascade makes one), only the pixels around the face and its eye patches are converted,
/// since a whole large photo would cost more to convert than the classifier takes. The
/// patches are the same as from the whole photo, up to float rounding at their edges.
fn eyes_open(
    classifier: &EyeStateClassifier,
    image: &DynamicImage,
    gray: &OnceCell<GrayImage>,
    found: &Located,
) -> f32 {
    if let Some(gray) = gray.get() {
        return classifier.face_open_probability(gray, &found.face, found.eyes.as_ref());
    }
    let (w, h) = image.dimensions();
    let face = &found.face;
    // The face box and, generously, every eye patch (squares of a quarter face width).
    let reach = (0.25 * face.width).max(2.0);
    let mut xs = vec![face.x - reach, face.right() + reach];
    let mut ys = vec![face.y - reach, face.bottom() + reach];
    for (cx, cy) in found.eyes.iter().flat_map(|e| [e.left, e.right]) {
        xs.extend([cx - reach, cx + reach]);
        ys.extend([cy - reach, cy + reach]);
    }
    // The whole pixels covering `v`'s values, within `0..n`.
    let span = |v: &[f32], n: u32| {
        let (lo, hi) = v
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let clamp = |x: f32| x.clamp(0.0, n as f32) as u32;
        (clamp(lo.floor()), clamp(hi.ceil()))
    };
    let ((x0, x1), (y0, y1)) = (span(&xs, w), span(&ys, h));
    if x1 <= x0 || y1 <= y0 {
        return f32::NAN;
    }
    let region = opencv_gray(&image.crop_imm(x0, y0, x1 - x0, y1 - y0));
    let (dx, dy) = (x0 as f32, y0 as f32);
    let shifted = FaceBox {
        x: face.x - dx,
        y: face.y - dy,
        ..*face
    };
    let eyes = found.eyes.map(|e| Eyes {
        left: (e.left.0 - dx, e.left.1 - dy),
        right: (e.right.0 - dx, e.right.1 - dy),
    });
    classifier.face_open_probability(&region, &shifted, eyes.as_ref())
}

/// The analysis of a photo with its faces, both ratings.
fn rate(image: &DynamicImage, faces: Vec<FaceAnalysis>) -> Analysis {
    let photo_faces: Vec<PhotoFace> = faces
        .iter()
        .map(|f| PhotoFace::new(f.smile, f.eyes.is_some(), f.eyes_open))
        .collect();
    Analysis {
        width: image.width(),
        height: image.height(),
        rating: rate_photo(&photo_faces),
        rating_by_smile_levels: rate_photo_seed(&photo_faces),
        faces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mien_models::registry::Architecture;

    /// A face-like test pattern that is not left-right symmetric.
    fn lopsided_face() -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(48, 48, |x, y| {
            let dx = x as f32 - 20.0;
            let dy = y as f32 - 26.0;
            image::Luma([(255.0 * (-(dx * dx + 2.0 * dy * dy) / 300.0).exp()) as u8])
        }))
    }

    fn whole_image_analyzer(model: SavedModel, mirror_average: bool) -> Analyzer {
        Analyzer::builder()
            .device(mien_core::device::cpu())
            .whole_image(true)
            .eye_state(false)
            .model(model)
            .mirror_average(mirror_average)
            .build()
            .unwrap()
    }

    /// What the classifier reads from `face` and from its mirror image with mirror
    /// averaging, and the same two without: (emotion probabilities, smile intensity) each.
    fn readings(saved: &SavedModel, native: bool) -> [(Vec<f32>, f32); 4] {
        let face = lopsided_face();
        let mirror = face.fliph();
        let copy = || SavedModel {
            spec: saved.spec.clone(),
            model: saved.model.clone(),
        };
        let averaged = whole_image_analyzer(copy(), true);
        let single = whole_image_analyzer(copy(), false);
        assert_eq!(averaged.native.is_some(), native);
        let read = |analyzer: &Analyzer, image: &DynamicImage| {
            let (probabilities, smiles) = analyzer.classify(std::slice::from_ref(image)).unwrap();
            (probabilities, smiles.unwrap()[0])
        };
        [
            read(&averaged, &face),
            read(&averaged, &mirror),
            read(&single, &face),
            read(&single, &mirror),
        ]
    }

    #[test]
    fn a_whole_image_face_is_read_as_it_is_without_a_margin() {
        let saved = Pretrained::Default.load(&mien_core::device::cpu()).unwrap();
        let analyzer = Analyzer::builder()
            .device(mien_core::device::cpu())
            .whole_image(true)
            .eye_state(false)
            .model(saved)
            .crop_margin(0.3)
            .build()
            .unwrap();
        let face = lopsided_face();
        let analysis = analyzer.analyze(&face).unwrap();
        let (direct, _) = analyzer.classify(std::slice::from_ref(&face)).unwrap();
        assert_eq!(analysis.faces.len(), 1);
        assert_eq!(analysis.faces[0].emotions.as_slice(), &direct[..]);
    }

    #[test]
    fn mirror_averaging_reads_a_face_and_its_mirror_image_alike() {
        let cpu = mien_core::device::cpu;
        let bundled = Pretrained::FerPlusSmile.load(&cpu()).unwrap();
        let baseline = {
            let spec = ModelSpec::new(
                Architecture::BaselineCnn.default_config(),
                HeadSpec::MultiTask {
                    label_set: LabelSet::FerPlus,
                },
                mien_core::Preprocessing::gray(48, 48),
            );
            let model = spec.init(&cpu()).unwrap();
            SavedModel { spec, model }
        };
        // Both run on the native interpreter of their descriptions.
        for [both, both_mirrored, one, other] in
            [readings(&bundled, true), readings(&baseline, true)]
        {
            assert_ne!(one.0, other.0, "the pattern must not be symmetric");
            for i in 0..both.0.len() {
                assert!((both.0[i] - both_mirrored.0[i]).abs() < 1e-5, "{both:?}");
                assert!((both.0[i] - 0.5 * (one.0[i] + other.0[i])).abs() < 1e-5);
            }
            assert!((both.1 - both_mirrored.1).abs() < 1e-5);
            assert!((both.1 - 0.5 * (one.1 + other.1)).abs() < 1e-5);
        }
    }

    #[test]
    fn eyes_open_from_the_face_region_equals_the_whole_photo() {
        let classifier = EyeStateClassifier::bundled(&mien_core::device::cpu()).unwrap();
        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_fn(200, 160, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        }));
        let whole = OnceCell::new();
        let _ = whole.set(opencv_gray(&photo));
        // One face inside the photo with level eyes, one touching the corner without eyes.
        for found in [
            Located {
                face: FaceBox::new(40.0, 30.0, 80.0, 90.0, 1.0),
                eyes: Some(Eyes {
                    left: (65.0, 62.0),
                    right: (95.0, 64.0),
                }),
                key_points: None,
            },
            Located {
                face: FaceBox::new(150.0, 110.0, 60.0, 60.0, 1.0),
                eyes: None,
                key_points: None,
            },
        ] {
            let from_region = eyes_open(&classifier, &photo, &OnceCell::new(), &found);
            let from_whole = eyes_open(&classifier, &photo, &whole, &found);
            assert!(!from_region.is_nan());
            assert_eq!(from_region, from_whole);
        }
    }
}
