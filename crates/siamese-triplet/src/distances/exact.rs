//! Euclidean distances that are fast (`|q|² + |r|² - 2 q·r`, one matrix product) and still
//! exact where exactness matters.
//!
//! The product form loses precision when a distance is small next to the norms, and it
//! cannot promise that two identical rows give bit-identical distances. So, without
//! gradient:
//! 1. squared distances come from the product form;
//! 2. pairs whose squared distance is below [`REFINE_BELOW`] of `|q|² + |r|²` (every
//!    diagonal entry, duplicates, near-duplicates) are recomputed from explicit
//!    differences, a few rows at a time: a row and its copy are at exactly 0;
//! 3. for a pairwise matrix, rows that are exact copies are mapped to their first copy
//!    before the matrix is read, so identical rows give bit-identical rows and columns.
//!
//! The gradient is attached through the product form, which the autodiff graph stores in
//! `O(n·m + (n + m)·dim)`; no `[n, m, dim]` tensor is ever built. Memory is `O(n·m)` plus
//! one chunk of candidate pairs.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use crate::host::read_bools;

/// Squared distances below this fraction of `|q|² + |r|²` are recomputed exactly.
const REFINE_BELOW: f64 = 1e-2;

/// Elements of one chunk of explicit differences `[pairs, dim]`.
const CHUNK_ELEMENTS: usize = 1 << 22;

/// `sqrt` whose value and gradient are 0 where the input is exactly 0 (never `inf`/`NaN`).
pub(crate) fn safe_sqrt<const D: usize>(squared: Tensor<D>) -> Tensor<D> {
    let zero = squared.clone().equal_elem(0.0);
    squared
        .mask_fill(zero.clone(), 1.0)
        .sqrt()
        .mask_fill(zero, 0.0)
}

/// query `[n, dim]`, reference `[m, dim]` -> `|q|² + |r|² - 2 q·r` `[n, m]`, with gradient.
fn product_squared_distances(query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
    let query_norms = query.clone().square().sum_dim(1); // [n, 1]
    let reference_norms = reference.clone().square().sum_dim(1).transpose(); // [1, m]
    let products = query.matmul(reference.transpose()); // [n, m]
    products
        .mul_scalar(-2.0)
        .add(query_norms)
        .add(reference_norms)
}

/// query `[n, dim]`, reference `[m, dim]` and their product-form squared distances
/// `[n, m]` -> squared distances `[n, m]` without gradient, refined and (when `same_set`)
/// made identical for identical rows.
fn exact_squared_distances(
    query: Tensor<2>,
    reference: Tensor<2>,
    product: Tensor<2>,
    same_set: bool,
) -> Tensor<2> {
    let [n, dim] = query.dims();
    let [m, _] = reference.dims();
    let query = query.detach();
    let reference = reference.detach();
    let scale = query
        .clone()
        .square()
        .sum_dim(1)
        .add(reference.clone().square().sum_dim(1).transpose()); // [n, m]
    let squared = product.detach().clamp_min(0.0);
    // The candidates' (row, column) found on the host: one read of the mask is several
    // times faster than flex's `argwhere` over `[n, m]`.
    let candidates = read_bools(squared.clone().lower_equal(scale.mul_scalar(REFINE_BELOW)));
    let (candidate_rows, candidate_columns): (Vec<i64>, Vec<i64>) = candidates
        .iter()
        .enumerate()
        .filter(|&(_, &candidate)| candidate)
        .map(|(position, _)| ((position / m) as i64, (position % m) as i64))
        .unzip();
    let num_candidates = candidate_rows.len();
    if num_candidates == 0 {
        return squared;
    }
    let device = squared.device();
    let indices = |values: &[i64]| {
        Tensor::<1, Int>::from_data(TensorData::new(values.to_vec(), [values.len()]), &device)
    };

    let mut flat = squared.reshape([n * m]);
    let mut copies = Vec::new();
    let chunk = (CHUNK_ELEMENTS / dim.max(1)).max(1);
    for start in (0..num_candidates).step_by(chunk) {
        let end = (start + chunk).min(num_candidates);
        let rows = indices(&candidate_rows[start..end]);
        let columns = indices(&candidate_columns[start..end]);
        let exact = query
            .clone()
            .select(0, rows.clone())
            .sub(reference.clone().select(0, columns.clone()))
            .square()
            .sum_dim(1)
            .reshape([end - start]); // [chunk]
        if same_set {
            let equal = exact
                .clone()
                .equal_elem(0.0)
                .bool_and(rows.clone().not_equal(columns.clone()));
            let equal_pairs = equal.argwhere(); // [copies, 1]
            let [count, _] = equal_pairs.dims();
            if count > 0 {
                let which = equal_pairs.reshape([count]);
                copies.push((
                    rows.clone().select(0, which.clone()),
                    columns.clone().select(0, which),
                ));
            }
        }
        let positions = rows.mul_scalar(m as i64).add(columns);
        flat = flat.scatter(0, positions, exact, IndexingUpdateOp::Assign);
    }
    let squared = flat.reshape([n, m]);
    if copies.is_empty() {
        return squared;
    }
    // Each row that is a copy reads the rows and columns of its first copy.
    let (originals, duplicates): (Vec<_>, Vec<_>) = copies.into_iter().unzip();
    let first_copy = Tensor::<1, Int>::arange(0..n as i64, &device).scatter(
        0,
        Tensor::cat(duplicates, 0),
        Tensor::cat(originals, 0),
        IndexingUpdateOp::Min,
    ); // [n]
    squared.select(0, first_copy.clone()).select(1, first_copy)
}

/// query `[n, dim]`, reference `[m, dim]` -> both moved by the references' mean, a constant
/// (no gradient flows through it): distances are unchanged, and the product form's
/// rounding, which grows with the squared norms, shrinks to the points' spread. Points
/// bunched far from the origin (an untrained network's embeddings) would otherwise send
/// nearly every pair to the exact recomputation.
fn centered(query: Tensor<2>, reference: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let mean = reference.clone().detach().mean_dim(0); // [1, dim]
    (query.sub(mean.clone()), reference.sub(mean))
}

fn is_tracked(query: &Tensor<2>, reference: &Tensor<2>) -> bool {
    query.is_tracked() || reference.is_tracked()
}

/// query `[n, dim]`, reference `[m, dim]` -> whether either carries a gradient, the
/// product-form squared distances `[n, m]` (with gradient when tracked) and the exact ones
/// (without), both of the centred sets.
fn squared_parts(
    query: Tensor<2>,
    reference: Tensor<2>,
    same_set: bool,
) -> (bool, Tensor<2>, Tensor<2>) {
    let tracked = is_tracked(&query, &reference);
    let (query, reference) = centered(query, reference);
    // One matrix product: its values seed the exact distances, its graph (when tracked)
    // carries the gradient.
    let product = product_squared_distances(query.clone(), reference.clone());
    let exact = exact_squared_distances(query, reference, product.clone(), same_set);
    (tracked, product, exact)
}

/// query `[n, dim]`, reference `[m, dim]` -> squared euclidean distances `[n, m]`.
pub(crate) fn squared_euclidean(
    query: Tensor<2>,
    reference: Tensor<2>,
    same_set: bool,
) -> Tensor<2> {
    let (tracked, product, exact) = squared_parts(query, reference, same_set);
    if !tracked {
        return exact;
    }
    // (product - product.detach()) is exactly 0 in value and carries the gradient.
    exact.add(product.clone().sub(product.detach()))
}

/// query `[n, dim]`, reference `[m, dim]` -> euclidean distances `[n, m]`; a distance of
/// exactly 0 has gradient 0.
pub(crate) fn euclidean(query: Tensor<2>, reference: Tensor<2>, same_set: bool) -> Tensor<2> {
    let (tracked, product, squared) = squared_parts(query, reference, same_set);
    // The exact squares carry no gradient and are clamped at 0, whose square root is 0: no
    // mask needed here; the gradient goes through the product form below.
    let exact = squared.sqrt();
    if !tracked {
        return exact;
    }
    // d sqrt(s) = ds / (2 sqrt(s)), taken as 0 where the distance is exactly 0.
    let zero = exact.clone().equal_elem(0.0);
    let half_inverse = exact
        .clone()
        .mask_fill(zero.clone(), 1.0)
        .recip()
        .mul_scalar(0.5)
        .mask_fill(zero, 0.0);
    exact.add(product.clone().sub(product.detach()).mul(half_inverse))
}
