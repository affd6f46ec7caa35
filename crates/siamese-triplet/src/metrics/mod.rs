//! Measurements of a batch or of an embedding: triplet difficulty and retrieval quality.

mod retrieval;
mod triplet_classes;

pub use retrieval::{RetrievalMetrics, retrieval_metrics, retrieval_metrics_between};
pub use triplet_classes::{PmlTripletCounts, TripletClasses};
