//! Matrix products on slices through `gemm` (the crate flex itself multiplies with), and
//! the conversions between slices and flex tensors.
//!
//! The kernel builds its results as `Vec<f32>` and wraps them without a copy:
//! `FlexTensor::empty` (what flex's own matmul allocates its output with) zero-fills a byte
//! vector and then copies it into a 16-byte-aligned allocation — for a 29 MB im2col matrix
//! 27 ms against 3 ms for `vec![0.0; n]`, measured here.

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Shape, TensorData};

/// Products of at least this many multiply-adds use every rayon thread (flex's threshold).
const PARALLEL_FROM: usize = 192 * 192 * 192;

/// A `rows × cols` matrix inside a slice: entry `(i, j)` at `i · row_stride + j · col_stride`.
#[derive(Clone, Copy)]
pub(super) struct MatrixView<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatrixView<'a> {
    /// The row-major `rows × cols` matrix `data`.
    ///
    /// # Panics
    ///
    /// When `data` does not hold `rows · cols` values.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "a {rows}×{cols} matrix needs {} values, not {}",
            rows * cols,
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The rows, when the matrix is row-major (as [`MatrixView::new`] makes it).
    ///
    /// # Panics
    ///
    /// When it is not (a transposed view).
    pub fn rows(self) -> std::slice::ChunksExact<'a, f32> {
        assert_eq!(self.col_stride, 1, "rows of a transposed view");
        self.data.chunks_exact(self.cols)
    }

    /// The transpose, read in place.
    pub fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// `lhs · rhs`, row-major: `[lhs.rows, rhs.cols]`.
///
/// # Panics
///
/// When the inner sizes differ.
pub(super) fn product(lhs: MatrixView, rhs: MatrixView) -> Vec<f32> {
    let len = lhs.rows * rhs.cols;
    // Not zero-filled: gemm writes every entry when it does not read them.
    let mut out = Vec::<f32>::with_capacity(len);
    // SAFETY: `gemm_into` with `accumulate = false` writes all `len` entries of `out`'s
    // buffer without reading any (or, for an empty product, none exist to be read).
    unsafe {
        gemm_into(out.as_mut_ptr(), len, lhs, rhs, false);
        out.set_len(len);
    }
    out
}

/// `out += lhs · rhs`, `out` row-major `[lhs.rows, rhs.cols]`.
///
/// # Panics
///
/// When the inner sizes differ or `out` has the wrong length.
pub(super) fn add_product(out: &mut [f32], lhs: MatrixView, rhs: MatrixView) {
    // SAFETY: `out` is an initialised slice of its own length.
    unsafe { gemm_into(out.as_mut_ptr(), out.len(), lhs, rhs, true) }
}

/// `out = lhs · rhs` (or `out += lhs · rhs` when `accumulate`), row-major `[lhs.rows,
/// rhs.cols]` at `out`.
///
/// # Safety
///
/// `out` must be valid for writes of `len` values, and for reads of them when
/// `accumulate` (initialised).
///
/// # Panics
///
/// When the inner sizes differ or `len` is not the product's size.
unsafe fn gemm_into(out: *mut f32, len: usize, lhs: MatrixView, rhs: MatrixView, accumulate: bool) {
    assert_eq!(
        lhs.cols, rhs.rows,
        "a {}×{} matrix times a {}×{} one",
        lhs.rows, lhs.cols, rhs.rows, rhs.cols
    );
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(len, m * n, "the product is {m}×{n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            // SAFETY: the caller guarantees `len` writable values at `out`.
            unsafe { std::ptr::write_bytes(out, 0, len) };
        }
        return;
    }
    let parallelism = if m.saturating_mul(k).saturating_mul(n) >= PARALLEL_FROM {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every view covers its `rows × cols` entries (checked in `MatrixView::new`,
    // which `transposed` preserves) and `out` holds the `m × n` result with row stride `n`
    // (the caller's guarantee and the check above): gemm reads and writes only inside
    // them, and reads `out` only when `accumulate`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The contiguous `f32` values of a flex tensor, copied only when it is not contiguous.
///
/// # Panics
///
/// When the tensor is not `f32`.
pub(super) fn values(tensor: &FlexTensor) -> Values {
    assert_eq!(
        tensor.dtype(),
        DType::F32,
        "the fused conv block computes in f32, not {:?}",
        tensor.dtype()
    );
    Values(tensor.to_contiguous())
}

/// A contiguous `f32` flex tensor, read as a slice.
pub(super) struct Values(FlexTensor);

impl std::ops::Deref for Values {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        // `values` made it contiguous and checked the dtype: `as_slice` is `Some`.
        self.0.as_slice::<f32>().unwrap_or_default()
    }
}

/// A flex tensor of `shape` owning `values`, without a copy.
pub(super) fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
