use burn::prelude::*;

/// The smallest norm PML (and `torch.nn.functional.normalize`) divides by.
pub const NORM_EPSILON: f64 = 1e-12;

/// Row-wise L2 normalisation as PML does it: `x / max(|x|, 1e-12)`.
///
/// embeddings `[batch, dim]` -> unit rows `[batch, dim]`. A zero row stays zero, with a
/// finite gradient (the norm's gradient at 0 is taken as 0, as in PyTorch).
pub fn l2_normalize(embeddings: Tensor<2>) -> Tensor<2> {
    let squared_norm = embeddings.clone().square().sum_dim(1); // [batch, 1]
    let norm = super::exact::safe_sqrt(squared_norm).clamp_min(NORM_EPSILON); // [batch, 1]
    embeddings.div(norm)
}
