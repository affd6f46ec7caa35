//! Shared helpers of the integration tests: backends, tensors in and out, comparisons.

#![allow(dead_code)]

use burn::prelude::*;

#[cfg(feature = "wgpu")]
pub mod wgpu;

/// The CPU backends this build has, by name.
#[allow(clippy::vec_init_then_push)] // each push depends on a feature
pub fn backends() -> Vec<(&'static str, Device)> {
    let mut devices = Vec::new();
    #[cfg(feature = "flex")]
    devices.push(("flex", Device::flex()));
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    devices.push(("ndarray", Device::ndarray()));
    devices
}

/// rows -> `[n, d]` float tensor on `device`.
pub fn matrix(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [n, d]), device)
}

/// labels -> `[n]` int tensor on `device`.
pub fn labels(values: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

/// A tracked copy of `rows` on the autodiff variant of `device`.
pub fn tracked(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    matrix(rows, &device.clone().autodiff()).require_grad()
}

/// Loss value and d loss / d embeddings as rows.
pub fn value_and_gradient(embeddings: &Tensor<2>, loss: Tensor<1>) -> (f64, Vec<Vec<f64>>) {
    let [n, d] = embeddings.dims();
    let value = f64::from(loss.clone().into_scalar::<f32>());
    let grads = loss.backward();
    let gradient = embeddings
        .grad(&grads)
        .map(to_rows)
        .unwrap_or_else(|| vec![vec![0.0; d]; n]);
    (value, gradient)
}

/// `[n, d]` tensor -> rows of f64.
pub fn to_rows(tensor: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, d] = tensor.dims();
    let flat: Vec<f32> = tensor.try_into_vec_as::<f32>().expect("read tensor");
    flat.chunks(d.max(1))
        .map(|row| row.iter().map(|&x| f64::from(x)).collect())
        .collect()
}

/// `[n]` tensor -> f64 values.
pub fn to_values(tensor: Tensor<1>) -> Vec<f64> {
    tensor
        .try_into_vec_as::<f32>()
        .expect("read tensor")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Every entry finite.
pub fn all_finite(rows: &[Vec<f64>]) -> bool {
    rows.iter().flatten().all(|x| x.is_finite())
}
