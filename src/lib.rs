pub use siamese_triplet as triplet;
