use burn::prelude::*;

/// `log(Σ exp(x))` over the members of each row, `[rows, n]` -> `[rows]`, computed
/// around the row maximum. With `add_one`, a constant `exp(0) = 1` joins the sum (PML's
/// `logsumexp(add_one=True)`). A row with no member gives `log(1) = 0` with `add_one` and
/// 0 without; either way its gradient is zero, never `NaN`.
pub(crate) fn masked_logsumexp(
    logits: Tensor<2>,
    members: Tensor<2, Bool>,
    add_one: bool,
) -> Tensor<1> {
    let not_members = members.clone().bool_not();
    let mut maximum = logits
        .clone()
        .detach()
        .mask_fill(not_members.clone(), f32::NEG_INFINITY)
        .max_dim(1); // [rows, 1]
    if add_one {
        maximum = maximum.clamp_min(0.0);
    }
    let empty = members.any_dim(1).bool_not(); // [rows, 1]
    let maximum = maximum.mask_fill(empty.clone(), 0.0);
    // Non-members are zeroed before `exp`, so neither value nor gradient can overflow there.
    let mut sum = logits
        .sub(maximum.clone())
        .mask_fill(not_members.clone(), 0.0)
        .exp()
        .mask_fill(not_members, 0.0)
        .sum_dim(1); // [rows, 1]
    if add_one {
        sum = sum.add(maximum.clone().neg().exp());
    } else {
        sum = sum.mask_fill(empty, 1.0);
    }
    sum.log().add(maximum).squeeze_dim::<1>(1)
}
