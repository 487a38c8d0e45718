//! Every bundled model loads with the head its card describes. In its own test binary:
//! loading initialises a model first, which draws from the device's random generator that
//! the library's seeded learning tests rely on.

use mien_core::LabelSet;
use mien_models::pretrained::Pretrained;
use mien_models::weights::{HeadSpec, Model};

#[test]
fn every_bundled_model_loads_with_its_head() {
    let device = mien_core::device::cpu();
    for p in Pretrained::ALL {
        let saved = p.load(&device).unwrap();
        assert_eq!(p.name().parse::<Pretrained>().unwrap(), p);
        match (p, saved.spec.head, &saved.model) {
            (Pretrained::Default, HeadSpec::Emotion { label_set }, Model::Emotion(_)) => {
                assert_eq!(label_set, LabelSet::Fer2013)
            }
            (Pretrained::FerPlusSmile, HeadSpec::MultiTask { label_set }, Model::MultiTask(_)) => {
                assert_eq!(label_set, LabelSet::FerPlus)
            }
            other => panic!("{p}: unexpected head {:?}", other.1),
        }
        assert!(p.bytes().len() < 10_000_000);
        assert_eq!(
            p.card().smile_pearson.is_some(),
            p == Pretrained::FerPlusSmile
        );
    }
    let err = "happy".parse::<Pretrained>().unwrap_err();
    assert!(err.to_string().contains("ferplus-smile"));
}
