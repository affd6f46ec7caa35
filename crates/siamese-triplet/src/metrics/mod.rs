//! Measurements of a batch or of an embedding: triplet difficulty, retrieval quality and
//! verification (same/different) quality.

mod knn;
mod nearest;
mod retrieval;
mod triplet_classes;
mod verification;

pub use knn::knn_accuracy;
pub use retrieval::{RetrievalMetrics, retrieval_metrics, retrieval_metrics_between};
pub use triplet_classes::{PmlTripletCounts, TripletClasses};
pub use verification::{RocPoint, TarAtFar, VerificationError, VerificationMetrics};
