//! mien-data plugged into burn's multi-threaded data loader, with a class-balancing sampler.

use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use image::GrayImage;
use mien_core::Preprocessing;
use mien_data::sampling::{ClassWeighting, WeightedSampler};
use mien_data::{
    FaceBatcher, FaceDataset, FaceRecord, LabelMode, LabelledDataset, Resampled, Split,
};

/// 40 faces: 36 of class 3 (happy), 4 of class 1 (disgust), each filled with its index.
fn imbalanced() -> LabelledDataset {
    let mut faces = FaceDataset::new(48, 48);
    for i in 0..40u8 {
        let record = FaceRecord {
            split: Split::Training,
            source: format!("face {i}"),
            fer2013: Some(if i % 10 == 0 { 1 } else { 3 }),
            votes: None,
        };
        faces
            .push(&GrayImage::from_pixel(48, 48, image::Luma([i])), record)
            .unwrap();
    }
    LabelledDataset::new(faces, LabelMode::Fer2013).unwrap()
}

#[test]
fn burn_loader_batches_every_face_once_across_workers() {
    let dataset = imbalanced();
    let batcher = FaceBatcher::new(Preprocessing::default(), LabelMode::Fer2013).unwrap();
    let loader = DataLoaderBuilder::new(batcher)
        .batch_size(8)
        .shuffle(11)
        .num_workers(2)
        .set_device(mien_core::device::cpu())
        .build(dataset);
    let mut seen = Vec::new();
    for batch in loader.iter() {
        let batch = batch.unwrap();
        let [n, c, h, w] = batch.images.dims();
        assert_eq!([c, h, w], [1, 48, 48]);
        let values = mien_core::read_f32(batch.images).unwrap();
        // Each face is constant, so its first pixel tells which face it is.
        seen.extend((0..n).map(|i| (values[i * h * w] * 255.0).round() as u8));
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..40).collect::<Vec<u8>>());
}

#[test]
fn balanced_sampling_evens_out_the_classes() {
    let dataset = Arc::new(imbalanced());
    assert_eq!(dataset.class_counts(), vec![0, 4, 0, 36, 0, 0, 0]);
    let sampler = WeightedSampler::balanced(&dataset, ClassWeighting::InverseFrequency, 5).unwrap();
    let mut disgust = 0;
    for epoch in 0..50 {
        let indices = sampler.epoch(epoch);
        disgust += indices
            .iter()
            .filter(|&&i| dataset.item(i).unwrap().target.class() == Some(1))
            .count();
        let view = Resampled::new(dataset.clone(), indices.clone()).unwrap();
        assert_eq!(view.len(), 40);
        assert_eq!(view.get(0).unwrap(), dataset.item(indices[0]).unwrap());
    }
    // 10 % of faces but half of the weight: about 1,000 of 2,000 draws.
    assert!(
        (900..=1100).contains(&disgust),
        "{disgust} disgust draws of 2000"
    );
}
