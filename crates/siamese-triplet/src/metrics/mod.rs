//! Measurements of a batch or of an embedding: triplet difficulty and retrieval quality.

mod knn;
mod retrieval;
mod triplet_classes;

pub use knn::knn_accuracy;
pub use retrieval::{RetrievalMetrics, retrieval_metrics, retrieval_metrics_between};
pub use triplet_classes::{PmlTripletCounts, TripletClasses};
