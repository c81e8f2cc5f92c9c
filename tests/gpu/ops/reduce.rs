//! Reductions over chosen axes, against PyTorch, including the workgroup-tree path.

use crate::common::{check_case, REDUCTION};

#[test]
fn sums_and_means_over_chosen_axes() {
    check_case("sum_1", 1, REDUCTION, |x| x[0].sum(&[1], false));
    check_case("sum_0_2", 1, REDUCTION, |x| x[0].sum(&[0, 2], false));
    check_case("sum_3_keep", 1, REDUCTION, |x| x[0].sum(&[-1], true));
    check_case("sum_all", 1, REDUCTION, |x| x[0].sum_all());
    check_case("sum_123_keep", 1, REDUCTION, |x| x[0].sum(&[1, 2, 3], true));
    check_case("mean_2_3", 1, REDUCTION, |x| x[0].mean(&[2, 3], false));
}

#[test]
fn long_reductions_use_the_workgroup_tree() {
    check_case("mean_all_big", 1, REDUCTION, |x| x[0].mean_all());
    check_case("sum_long_rows", 1, REDUCTION, |x| x[0].sum(&[1], false));
    check_case("max_long_rows", 1, REDUCTION, |x| x[0].max(&[1], false));
}

#[test]
fn max_routes_the_gradient_to_the_maximum() {
    check_case("max_1", 1, REDUCTION, |x| x[0].max(&[1], false));
    check_case("max_3_keep", 1, REDUCTION, |x| x[0].max(&[3], true));
}

#[test]
fn variance_biased_and_unbiased() {
    check_case("var_2_3", 1, REDUCTION, |x| x[0].var(&[2, 3], true, false));
    check_case("var_2_3_biased", 1, REDUCTION, |x| x[0].var(&[2, 3], false, false));
    check_case("var_0_keep", 1, REDUCTION, |x| x[0].var(&[0], true, true));
}

/// Axes of size 1 are dropped before reducing: a reduction over them alone is a copy, and
/// runs either side of one merge.
#[test]
fn reductions_over_axes_of_size_one() {
    check_case("sum_size1_axes", 1, REDUCTION, |x| x[0].sum(&[0, 2, 3], false));
    check_case("mean_only_size1_axes", 1, REDUCTION, |x| x[0].mean(&[0, 2], false));
    check_case("max_across_a_size1_axis", 1, REDUCTION, |x| x[0].max(&[0, 2], false));
}

/// A per-channel reduction over images and pixels (a bias's gradient) runs in one pass.
#[test]
fn per_channel_reductions_over_images_and_pixels() {
    check_case("sum_per_channel", 1, REDUCTION, |x| x[0].sum(&[0, 2, 3], false));
    check_case("max_per_channel", 1, REDUCTION, |x| x[0].max(&[0, 2, 3], false));
}
