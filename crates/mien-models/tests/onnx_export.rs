//! The ONNX export without Python: the bundled models export to exactly the files that
//! onnxruntime ran when `tools/onnx_check.py` wrote the fixture (same SHA-1), mien's
//! interpreter gives onnxruntime's outputs, and the file's structure (opset, dynamic batch,
//! metadata) is what the docs promise.
//!
//! Regenerate the fixture after changing the exporter or a bundled model:
//!
//! ```text
//! cargo run --release -p mien-models --features onnx --example onnx_reference -- /tmp/onnx
//! python3 tools/onnx_check.py /tmp/onnx --fixture crates/mien-models/tests/fixtures/onnx_reference.json
//! ```

use std::collections::BTreeMap;

use mien_models::native::NativeModel;
use mien_models::pretrained::Pretrained;
use onnx_protobuf::{Message, ModelProto};
use serde::Deserialize;

/// What onnxruntime gave for one bundled model.
#[derive(Deserialize)]
struct Reference {
    sha1: String,
    input: Vec<f32>,
    probabilities: Option<Vec<f32>>,
    smile: Option<Vec<f32>>,
}

#[derive(Deserialize)]
struct Fixture {
    onnxruntime: String,
    models: BTreeMap<String, Reference>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/onnx_reference.json");
    serde_json::from_str(text).expect("the fixture is valid JSON")
}

fn assert_close(what: &str, mien: &[f32], onnxruntime: &[f32]) {
    assert_eq!(mien.len(), onnxruntime.len(), "{what}");
    for (i, (a, b)) in mien.iter().zip(onnxruntime).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4,
            "{what} {i}: mien {a}, onnxruntime {b}"
        );
    }
}

#[test]
fn the_bundled_models_export_to_the_files_onnxruntime_checked() {
    let fixture = fixture();
    assert!(!fixture.onnxruntime.is_empty());
    for pretrained in Pretrained::ALL {
        let reference = &fixture.models[pretrained.name()];
        let saved = pretrained.load(&mien_core::device::cpu()).unwrap();
        let bytes = mien_models::onnx::export(&saved).unwrap();
        assert_eq!(
            sha1_smol::Sha1::from(&bytes).digest().to_string(),
            reference.sha1,
            "{pretrained}: the export changed since tools/onnx_check.py ran; rerun it"
        );
        let got = NativeModel::from_model(&saved.model)
            .unwrap()
            .predict(&reference.input);
        let name = pretrained.name();
        match (&got.probabilities, &reference.probabilities) {
            (Some(m), Some(o)) => assert_close(&format!("{name} probabilities"), m, o),
            (None, None) => {}
            other => panic!("{name}: heads differ: {other:?}"),
        }
        match (&got.smile, &reference.smile) {
            (Some(m), Some(o)) => assert_close(&format!("{name} smile"), m, o),
            (None, None) => {}
            other => panic!("{name}: smile heads differ: {other:?}"),
        }
    }
}

#[test]
fn an_export_has_a_dynamic_batch_and_says_how_to_feed_it() {
    let saved = Pretrained::FerPlusSmile
        .load(&mien_core::device::cpu())
        .unwrap();
    let proto = ModelProto::parse_from_bytes(&mien_models::onnx::export(&saved).unwrap()).unwrap();
    assert_eq!(proto.opset_import[0].version, 17);
    let graph = proto.graph.as_ref().unwrap();
    let dims = |info: &onnx_protobuf::ValueInfoProto| -> Vec<String> {
        let Some(onnx_protobuf::type_proto::Value::TensorType(t)) = &info.type_.value else {
            panic!("not a tensor")
        };
        t.shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(onnx_protobuf::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                    v.to_string()
                }
                Some(onnx_protobuf::tensor_shape_proto::dimension::Value::DimParam(p)) => p.clone(),
                _ => "?".into(),
            })
            .collect()
    };
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name, "image");
    assert_eq!(dims(&graph.input[0]), ["batch", "1", "48", "48"]);
    let outputs: Vec<(String, Vec<String>)> = graph
        .output
        .iter()
        .map(|o| (o.name.clone(), dims(o)))
        .collect();
    assert_eq!(
        outputs,
        [
            (
                "probabilities".to_owned(),
                vec!["batch".to_owned(), "8".to_owned()]
            ),
            ("smile".to_owned(), vec!["batch".to_owned(), "1".to_owned()]),
        ]
    );
    let metadata: BTreeMap<&str, &str> = proto
        .metadata_props
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        metadata["mien.labels"],
        "neutral,happy,surprise,sad,angry,disgust,fear,contempt"
    );
    let preprocessing: mien_core::Preprocessing =
        serde_json::from_str(metadata["mien.preprocessing"]).unwrap();
    assert_eq!(preprocessing, saved.spec.preprocessing);
    assert_eq!(metadata["mien.architecture"], "mini_xception");
}
