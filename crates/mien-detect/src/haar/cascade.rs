//! OpenCV 4 HAAR cascade files (`<cascade type_id="opencv-cascade-classifier">`, written by
//! `opencv_traincascade`): boosted stages of stumps or small trees over Haar-like features,
//! upright or tilted by 45°.

use std::path::Path;

use roxmltree::{Document, Node};

use crate::DetectError;

/// One rectangle of a Haar feature, in window coordinates, with its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width (for a tilted rectangle: the length of its up-right side).
    pub width: u32,
    /// Height (for a tilted rectangle: the length of its down-right side).
    pub height: u32,
    /// Weight of the rectangle's pixel sum.
    pub weight: f32,
}

/// A Haar-like feature: a weighted sum of two or three rectangle sums.
#[derive(Debug, Clone, PartialEq)]
pub struct HaarFeature {
    /// The rectangles (2 or 3).
    pub rects: Vec<WeightedRect>,
    /// Rectangles rotated by 45° (Lienhart's extended feature set).
    pub tilted: bool,
}

/// A node of a weak classifier's decision tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeNode {
    /// Index into the cascade's features.
    pub feature: usize,
    /// Split threshold, compared with the variance-normalised feature value.
    pub threshold: f32,
    /// Where a value below the threshold goes: a node index (> 0) or `-leaf` (≤ 0).
    pub left: i32,
    /// Where any other value goes, coded as `left`.
    pub right: i32,
}

/// A weak classifier: a decision tree (a stump has one node) with a value per leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct WeakClassifier {
    /// The nodes; node 0 is the root.
    pub nodes: Vec<TreeNode>,
    /// The leaf values.
    pub leaves: Vec<f32>,
}

/// A boosted stage: the window passes when the sum of its weak classifiers' outputs reaches
/// the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The pass threshold.
    pub threshold: f32,
    /// The weak classifiers.
    pub classifiers: Vec<WeakClassifier>,
}

/// A parsed HAAR cascade.
#[derive(Debug, Clone, PartialEq)]
pub struct HaarCascade {
    /// Window width the cascade was trained on.
    pub window_width: u32,
    /// Window height.
    pub window_height: u32,
    /// The stages, in evaluation order.
    pub stages: Vec<Stage>,
    /// The features the nodes refer to.
    pub features: Vec<HaarFeature>,
}

impl HaarCascade {
    /// OpenCV's `haarcascade_frontalface_default.xml` (bundled).
    pub fn frontal_face() -> Self {
        Self::bundled(include_str!(
            "../../cascades/haarcascade_frontalface_default.xml"
        ))
    }

    /// OpenCV's `haarcascade_eye.xml` (bundled).
    pub fn eye() -> Self {
        Self::bundled(include_str!("../../cascades/haarcascade_eye.xml"))
    }

    /// OpenCV's `haarcascade_smile.xml` (bundled).
    pub fn smile() -> Self {
        Self::bundled(include_str!("../../cascades/haarcascade_smile.xml"))
    }

    fn bundled(xml: &str) -> Self {
        Self::from_xml(xml, "bundled cascade").expect("bundled cascades parse (tested)")
    }

    /// Reads a cascade file.
    ///
    /// # Errors
    /// [`DetectError::Io`] when unreadable, [`DetectError::Cascade`] naming the problem.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, DetectError> {
        let path = path.as_ref();
        let xml = std::fs::read_to_string(path).map_err(|source| DetectError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_xml(&xml, &path.display().to_string())
    }

    /// Parses a cascade from XML text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`DetectError::Cascade`] for malformed XML, another cascade type (LBP, the pre-2.0
    /// `opencv-haar-classifier` format) or inconsistent contents.
    pub fn from_xml(xml: &str, origin: &str) -> Result<Self, DetectError> {
        let fail = |problem: String| DetectError::Cascade {
            origin: origin.to_owned(),
            problem,
        };
        let doc = Document::parse(xml).map_err(|e| fail(format!("not XML: {e}")))?;
        let root = doc.root_element();
        let cascade = root
            .children()
            .find(|n| n.has_tag_name("cascade"))
            .ok_or_else(|| {
                let old = root
                    .children()
                    .any(|n| n.attribute("type_id") == Some("opencv-haar-classifier"));
                fail(if old {
                    "this is the pre-2.0 `opencv-haar-classifier` format; load its OpenCV 4 \
                     conversion (the files in opencv-python's cv2/data are)"
                        .into()
                } else {
                    "no <cascade> element: not an OpenCV 4 cascade file".into()
                })
            })?;
        let text = |name: &str| -> Result<String, DetectError> {
            child(cascade, name)
                .and_then(|n| n.text())
                .map(|t| t.trim().to_owned())
                .ok_or_else(|| fail(format!("missing <{name}>")))
        };
        let feature_type = text("featureType")?;
        if feature_type != "HAAR" {
            return Err(fail(format!(
                "feature type {feature_type} is not supported (only HAAR)"
            )));
        }
        let number = |name: &str| -> Result<u32, DetectError> {
            text(name)?
                .parse()
                .map_err(|_| fail(format!("<{name}> is not a whole number")))
        };
        let (window_width, window_height) = (number("width")?, number("height")?);
        if window_width == 0 || window_height == 0 {
            return Err(fail("window size is zero".into()));
        }

        let features = items(cascade, "features")
            .ok_or_else(|| fail("missing <features>".into()))?
            .enumerate()
            .map(|(i, node)| parse_feature(node).map_err(|p| fail(format!("feature {i}: {p}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let stages = items(cascade, "stages")
            .ok_or_else(|| fail("missing <stages>".into()))?
            .enumerate()
            .map(|(i, node)| {
                parse_stage(node, features.len()).map_err(|p| fail(format!("stage {i}: {p}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if stages.is_empty() {
            return Err(fail("no stages".into()));
        }
        for (i, feature) in features.iter().enumerate() {
            for r in &feature.rects {
                let (right, bottom) = if feature.tilted {
                    (r.x + r.width, r.y + r.width + r.height)
                } else {
                    (r.x + r.width, r.y + r.height)
                };
                let left_ok = !feature.tilted || r.x >= r.height;
                if right > window_width || bottom > window_height || !left_ok {
                    return Err(fail(format!("feature {i}: a rectangle leaves the window")));
                }
            }
        }
        Ok(Self {
            window_width,
            window_height,
            stages,
            features,
        })
    }
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|n| n.has_tag_name(name))
}

/// The `<_>` items of a list element.
fn items<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &str,
) -> Option<impl Iterator<Item = Node<'a, 'input>>> {
    child(node, name).map(|list| list.children().filter(|n| n.has_tag_name("_")))
}

fn numbers(node: Option<Node<'_, '_>>, name: &str) -> Result<Vec<f64>, String> {
    let text = node
        .and_then(|n| n.text())
        .ok_or_else(|| format!("missing <{name}>"))?;
    text.split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| format!("<{name}> holds `{t}`, not a number"))
        })
        .collect()
}

fn parse_feature(node: Node<'_, '_>) -> Result<HaarFeature, String> {
    let rects = child(node, "rects")
        .ok_or("missing <rects>")?
        .children()
        .filter(|n| n.has_tag_name("_"))
        .map(|r| {
            let v = numbers(Some(r), "rects")?;
            let [x, y, w, h, weight] = v[..] else {
                return Err(format!("a rectangle has {} numbers, not 5", v.len()));
            };
            if [x, y, w, h].iter().any(|&c| c < 0.0 || c.fract() != 0.0) {
                return Err(format!("rectangle {x} {y} {w} {h} is not whole and ≥ 0"));
            }
            Ok(WeightedRect {
                x: x as u32,
                y: y as u32,
                width: w as u32,
                height: h as u32,
                weight: weight as f32,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !(2..=3).contains(&rects.len()) {
        return Err(format!("{} rectangles, not 2 or 3", rects.len()));
    }
    let tilted = child(node, "tilted")
        .and_then(|n| n.text())
        .is_some_and(|t| t.trim() == "1");
    Ok(HaarFeature { rects, tilted })
}

fn parse_stage(node: Node<'_, '_>, num_features: usize) -> Result<Stage, String> {
    let threshold = numbers(child(node, "stageThreshold"), "stageThreshold")?
        .first()
        .copied()
        .ok_or("empty <stageThreshold>")? as f32;
    let classifiers = items(node, "weakClassifiers")
        .ok_or("missing <weakClassifiers>")?
        .map(|weak| {
            let raw = numbers(child(weak, "internalNodes"), "internalNodes")?;
            let leaves: Vec<f32> = numbers(child(weak, "leafValues"), "leafValues")?
                .into_iter()
                .map(|v| v as f32)
                .collect();
            if raw.is_empty() || raw.len() % 4 != 0 {
                return Err(format!(
                    "<internalNodes> has {} numbers, not 4 per node",
                    raw.len()
                ));
            }
            let nodes = raw
                .chunks(4)
                .map(|c| {
                    let feature = c[2] as usize;
                    if c[2] < 0.0 || feature >= num_features {
                        return Err(format!("feature index {} out of range", c[2]));
                    }
                    Ok(TreeNode {
                        left: c[0] as i32,
                        right: c[1] as i32,
                        feature,
                        threshold: c[3] as f32,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            for n in &nodes {
                for next in [n.left, n.right] {
                    let ok = if next > 0 {
                        (next as usize) < nodes.len()
                    } else {
                        ((-next) as usize) < leaves.len()
                    };
                    if !ok {
                        return Err(format!("tree link {next} points nowhere"));
                    }
                }
            }
            Ok(WeakClassifier { nodes, leaves })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if classifiers.is_empty() {
        return Err("no weak classifiers".into());
    }
    Ok(Stage {
        threshold,
        classifiers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_cascades_parse_with_their_documented_shapes() {
        let face = HaarCascade::frontal_face();
        assert_eq!((face.window_width, face.window_height), (24, 24));
        assert_eq!(face.stages.len(), 25);
        assert_eq!(face.stages[0].classifiers.len(), 9);
        assert!((face.stages[0].threshold - -5.042_55).abs() < 1e-5);
        let first = &face.features[0];
        assert_eq!(first.rects.len(), 2);
        assert_eq!(
            first.rects[0],
            WeightedRect {
                x: 6,
                y: 4,
                width: 12,
                height: 9,
                weight: -1.0
            }
        );
        assert!(face.features.iter().all(|f| !f.tilted));

        let eye = HaarCascade::eye();
        assert_eq!((eye.window_width, eye.window_height), (20, 20));
        let smile = HaarCascade::smile();
        assert_eq!((smile.window_width, smile.window_height), (36, 18));
        assert!(smile.features.iter().any(|f| f.tilted));
    }

    #[test]
    fn malformed_cascades_are_errors_that_say_why() {
        let problem = |xml: &str| match HaarCascade::from_xml(xml, "test") {
            Err(DetectError::Cascade { problem, .. }) => problem,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(problem("<nope").contains("not XML"));
        assert!(problem("<opencv_storage></opencv_storage>").contains("<cascade>"));
        let lbp =
            "<opencv_storage><cascade><featureType>LBP</featureType></cascade></opencv_storage>";
        assert!(problem(lbp).contains("LBP"));
        let old = r#"<opencv_storage><f type_id="opencv-haar-classifier"/></opencv_storage>"#;
        assert!(problem(old).contains("pre-2.0"));
        // A feature index beyond the feature list.
        let bad_index = r#"<opencv_storage><cascade><featureType>HAAR</featureType>
            <width>2</width><height>2</height>
            <stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_>
              <internalNodes>0 -1 5 0.1</internalNodes><leafValues>1 -1</leafValues>
            </_></weakClassifiers></_></stages>
            <features><_><rects><_>0 0 1 1 -1.</_><_>1 0 1 1 1.</_></rects></_></features>
            </cascade></opencv_storage>"#;
        assert!(problem(bad_index).contains("out of range"));
        // A rectangle outside the window.
        let outside = bad_index
            .replace(" 5 0.1", " 0 0.1")
            .replace("1 0 1 1 1.", "2 0 1 1 1.");
        assert!(problem(&outside).contains("leaves the window"));
    }
}
