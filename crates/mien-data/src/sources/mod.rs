//! One loader per layout FER2013 comes in. [`crate::load`] picks the right one.

pub mod ferplus;
pub mod kaggle_csv;
pub mod kaggle_folders;
pub mod row_indexed;
