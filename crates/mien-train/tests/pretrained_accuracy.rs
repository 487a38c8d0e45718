//! Every bundled model reproduces the PublicTest figures of its model card (`docs/models/`,
//! `Pretrained::card`) within 0.5 points: FER2013 PublicTest from `$MIEN_DATA/fer2013`,
//! faces that also occur in Training removed (as in training), each face read with its mirror
//! image (flip test-time augmentation) and alone.

use mien_data::{LoadOptions, Split};
use mien_models::pretrained::Pretrained;
use mien_train::config::TtaConfig;
use mien_train::evaluate::{Report, predict};

#[test]
fn bundled_models_reproduce_their_documented_accuracy() {
    let Some(data) = mien_core::data_dir::test_data("fer2013").unwrap() else {
        return;
    };
    let mut faces = mien_data::load(&data, &LoadOptions::default())
        .unwrap()
        .dataset;
    faces.remove_cross_split_duplicates(Split::Training);
    let public_test = faces.split(Split::PublicTest);
    let device = mien_core::device::cpu();
    for pretrained in Pretrained::ALL {
        let card = pretrained.card();
        let saved = pretrained.load(&device).unwrap();
        let model = burn::module::Module::valid(&saved.model);
        let report = |tta| {
            let predictions =
                predict(&model, &saved.spec, &public_test, tta, 256, &device).unwrap();
            Report::new(&predictions, &public_test, tta)
        };
        let single_pass = report(TtaConfig::default()).accuracy.unwrap();
        assert!(
            (single_pass - card.single_pass_accuracy).abs() <= 0.005,
            "{pretrained}: measured {single_pass:.4} in one pass, card {:.4}",
            card.single_pass_accuracy
        );
        let report = report(TtaConfig::FLIP);
        assert_eq!(report.n, card.faces, "{pretrained}");
        let accuracy = report.accuracy.unwrap();
        assert!(
            (accuracy - card.accuracy).abs() <= 0.005,
            "{pretrained}: measured {accuracy:.4}, card {:.4}",
            card.accuracy
        );
        if let Some(pearson) = card.smile_pearson {
            assert!(
                (report.smile_pearson.unwrap() - pearson).abs() <= 0.005,
                "{pretrained}"
            );
            let mae = card.smile_mae.unwrap();
            assert!(
                (report.smile_mae.unwrap() - mae).abs() <= 0.005,
                "{pretrained}"
            );
        }
    }
}
