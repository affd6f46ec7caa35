//! Properties beyond the fixtures, on random seeded batches: mined triplets and counts
//! equal a brute-force `O(B³)` reference (with many exact ties, from grid-valued
//! embeddings), retrieval metrics equal a host sort of the distances, losses are invariant to permuting the batch and (euclidean) to
//! translation, gradients match finite differences, and degenerate batches never give a
//! non-finite value or gradient.

// The brute-force references index distance matrices by row and column on purpose.
#![allow(clippy::needless_range_loop)]

mod common;

use burn::prelude::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use siamese_triplet::Band;
use siamese_triplet::Triplets;
use siamese_triplet::distances::{CosineSimilarity, Distance, Euclidean, SquaredEuclidean};
use siamese_triplet::losses::{
    BandTripletLoss, BatchAllTripletLoss, CircleLoss, ContrastiveLoss, MultiSimilarityLoss,
    TripletMarginLoss,
};
use siamese_triplet::metrics::{
    PmlTripletCounts, RetrievalMetrics, TripletClasses, retrieval_metrics,
    retrieval_metrics_between,
};
use siamese_triplet::miners::{
    BatchAllMiner, BatchEasyHardMiner, BatchHardMiner, Miner, SemiHardMiner, TfaSemiHardMiner,
    TripletMarginMiner, TripletType,
};
use siamese_triplet::reducers::Reducer;

use common::{all_finite, labels, matrix, to_rows, tracked, value_and_gradient};

/// Which `(d_ap, d_an)` a brute-force reference keeps.
type Keep = Box<dyn Fn(f32, f32) -> bool>;

/// A loss of embeddings and labels.
type LossOf = fn(Tensor<2>, Tensor<1, Int>) -> Tensor<1>;

/// A batch of embeddings (rows) and labels.
#[derive(Debug, Clone)]
struct Batch {
    rows: Vec<Vec<f32>>,
    labels: Vec<i64>,
}

impl Batch {
    fn embeddings(&self, device: &Device) -> Tensor<2> {
        matrix(&self.rows, device)
    }

    fn labels(&self, device: &Device) -> Tensor<1, Int> {
        labels(&self.labels, device)
    }
}

/// Embeddings on a half-integer grid: many exactly equal distances and margins.
fn grid_batch() -> impl Strategy<Value = Batch> {
    (3usize..18, 1usize..5, 1i64..5).prop_flat_map(|(n, d, classes)| {
        (vec(vec(-4i32..=4, d), n), vec(0..classes, n)).prop_map(|(grid, labels)| Batch {
            rows: grid
                .into_iter()
                .map(|row| row.into_iter().map(|x| x as f32 * 0.5).collect())
                .collect(),
            labels,
        })
    })
}

/// Continuous embeddings, at least two classes with two members each.
fn smooth_batch() -> impl Strategy<Value = Batch> {
    (4usize..14, 2usize..6).prop_flat_map(|(n, d)| {
        (vec(vec(-2.0f32..2.0, d), n), vec(0i64..3, n)).prop_map(move |(rows, mut labels)| {
            labels[0] = 0;
            labels[1] = 0;
            labels[2] = 1;
            labels[3] = 1;
            Batch { rows, labels }
        })
    })
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 40,
        rng_seed: RngSeed::Fixed(0x5eed_2026),
        failure_persistence: None,
        ..Config::default()
    })
}

/// The dissimilarity matrix our distance gives, read back to the host.
fn host_matrix(distance: &impl Distance, batch: &Batch, device: &Device) -> Vec<Vec<f32>> {
    to_rows(distance.dissimilarity(batch.embeddings(device)))
        .into_iter()
        .map(|row| row.into_iter().map(|x| x as f32).collect())
        .collect()
}

/// Every valid triplet, by brute force.
fn all_triplets(labels: &[i64]) -> Vec<[usize; 3]> {
    let n = labels.len();
    let mut out = Vec::new();
    for a in 0..n {
        for p in 0..n {
            for q in 0..n {
                if a != p && labels[a] == labels[p] && labels[a] != labels[q] {
                    out.push([a, p, q]);
                }
            }
        }
    }
    out
}

fn sorted(triplets: &Triplets) -> Vec<[usize; 3]> {
    triplets
        .to_sorted_vec()
        .into_iter()
        .map(|[a, p, n]| [a as usize, p as usize, n as usize])
        .collect()
}

fn brute_force(batch: &Batch, d: &[Vec<f32>], keep: impl Fn(f32, f32) -> bool) -> Vec<[usize; 3]> {
    let mut out: Vec<[usize; 3]> = all_triplets(&batch.labels)
        .into_iter()
        .filter(|&[a, p, n]| keep(d[a][p], d[a][n]))
        .collect();
    out.sort_unstable();
    out
}

fn band_miners_match_brute_force(device: &Device) {
    runner()
        .run(
            &(
                grid_batch(),
                prop_oneof![Just(0.0f32), Just(0.5f32), Just(1.0f32), Just(0.3f32)],
            ),
            |(batch, m)| {
                let distance = Euclidean::new();
                let d = host_matrix(&distance, &batch, device);
                let mine = |miner: &dyn Miner| {
                    sorted(&miner.mine(batch.embeddings(device), batch.labels(device)))
                };
                let margin = f64::from(m);

                prop_assert_eq!(
                    mine(&BatchAllMiner::new(distance)),
                    brute_force(&batch, &d, |_, _| true)
                );
                prop_assert_eq!(
                    mine(&SemiHardMiner::new(margin, distance)),
                    brute_force(&batch, &d, |ap, an| ap < an && an < ap + m)
                );
                let kinds: [(TripletType, Keep); 4] = [
                    (TripletType::All, Box::new(move |ap, an| an <= ap + m)),
                    (
                        TripletType::Hard,
                        Box::new(move |ap, an| an <= ap + m.min(0.0)),
                    ),
                    (
                        TripletType::SemiHard,
                        Box::new(move |ap, an| an > ap && an <= ap + m),
                    ),
                    (TripletType::Easy, Box::new(move |ap, an| an > ap + m)),
                ];
                let band_count = |band: Band| {
                    BandTripletLoss::new(margin, band, distance)
                        .forward_with_counts(batch.embeddings(device), batch.labels(device))
                        .num_triplets
                };
                prop_assert_eq!(
                    band_count(SemiHardMiner::new(margin, distance).band()),
                    brute_force(&batch, &d, |ap, an| ap < an && an < ap + m).len()
                );
                for (kind, keep) in kinds {
                    let expected = brute_force(&batch, &d, keep);
                    let miner = TripletMarginMiner::new(margin, kind, distance);
                    prop_assert_eq!(band_count(miner.band()), expected.len());
                    prop_assert_eq!(mine(&miner), expected.clone());
                }

                let classes = TripletClasses::count(
                    &distance,
                    margin,
                    batch.embeddings(device),
                    batch.labels(device),
                );
                let count = |keep: &dyn Fn(f32, f32) -> bool| brute_force(&batch, &d, keep).len();
                prop_assert_eq!(classes.total, all_triplets(&batch.labels).len());
                prop_assert_eq!(classes.hard, count(&|ap, an| an < ap));
                prop_assert_eq!(classes.semi_hard, count(&|ap, an| ap < an && an < ap + m));
                prop_assert_eq!(classes.easy, count(&|ap, an| an > ap + m));
                let pml = PmlTripletCounts::count(
                    &distance,
                    margin,
                    batch.embeddings(device),
                    batch.labels(device),
                );
                prop_assert_eq!(pml.all, count(&|ap, an| an <= ap + m));
                prop_assert_eq!(pml.semihard, count(&|ap, an| an > ap && an <= ap + m));
                prop_assert_eq!(pml.exactly_zero_margin, count(&|ap, an| an == ap));
                Ok(())
            },
        )
        .unwrap();
}

/// The selected `d_ap` and `d_an` values (ties may pick different but equal rows).
fn selected_values(triplets: &Triplets, d: &[Vec<f32>]) -> Vec<(usize, f32, f32)> {
    let mut out: Vec<_> = sorted(triplets)
        .into_iter()
        .map(|[a, p, n]| (a, d[a][p], d[a][n]))
        .collect();
    out.sort_by(|x, y| x.partial_cmp(y).expect("finite"));
    out
}

/// `BandTripletLoss` gives the value, gradient and counts of its band miner followed by
/// `TripletMarginLoss`, for every band, reducer and distance.
fn band_losses_match_listed_triplets(device: &Device) {
    let distances: [(&str, Box<dyn Distance>); 3] = [
        ("euclidean", Box::new(Euclidean::new())),
        ("squared euclidean", Box::new(SquaredEuclidean::new())),
        ("cosine", Box::new(CosineSimilarity)),
    ];
    runner()
        .run(
            &(smooth_batch(), prop_oneof![Just(0.2f64), Just(0.7f64)]),
            |(batch, margin)| {
                for (distance_name, distance) in &distances {
                    let mut miners: Vec<(String, Box<dyn Miner + '_>, Band)> = vec![(
                        "facenet semi-hard".into(),
                        Box::new(SemiHardMiner::new(margin, distance)),
                        SemiHardMiner::new(margin, distance).band(),
                    )];
                    for kind in [
                        TripletType::All,
                        TripletType::Hard,
                        TripletType::SemiHard,
                        TripletType::Easy,
                    ] {
                        let miner = TripletMarginMiner::new(margin, kind, distance);
                        let band = miner.band();
                        miners.push((format!("pml {kind:?}"), Box::new(miner), band));
                    }
                    miners.push((
                        "every".into(),
                        Box::new(BatchAllMiner::new(distance)),
                        Band::every(),
                    ));
                    for (miner_name, miner, band) in &miners {
                        for reducer in [Reducer::Mean, Reducer::AvgNonZero, Reducer::Sum] {
                            let embeddings = tracked(&batch.rows, device);
                            let triplets = miner.mine(embeddings.clone(), batch.labels(device));
                            let listed = TripletMarginLoss::new(margin, distance)
                                .with_reducer(reducer)
                                .forward(embeddings.clone(), &triplets);
                            let (listed_value, listed_gradient) =
                                value_and_gradient(&embeddings, listed);

                            let embeddings = tracked(&batch.rows, device);
                            let banded = BandTripletLoss::new(margin, *band, distance)
                                .with_reducer(reducer)
                                .forward_with_counts(embeddings.clone(), batch.labels(device));
                            prop_assert_eq!(
                                banded.num_triplets,
                                triplets.len(),
                                "{} {}",
                                distance_name,
                                miner_name
                            );
                            let (value, gradient) = value_and_gradient(&embeddings, banded.loss);
                            let what = format!("{distance_name} {miner_name} {reducer:?}");
                            prop_assert!(
                                (value - listed_value).abs() <= 1e-4 * (1.0 + listed_value.abs()),
                                "{}: band {} vs listed {}",
                                what,
                                value,
                                listed_value
                            );
                            for (row, listed_row) in gradient.iter().zip(&listed_gradient) {
                                for (g, l) in row.iter().zip(listed_row) {
                                    prop_assert!(
                                        (g - l).abs() <= 1e-4 * (1.0 + l.abs()),
                                        "{}: gradient {:?} vs listed {:?}",
                                        what,
                                        gradient,
                                        listed_gradient
                                    );
                                }
                            }
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

fn per_anchor_miners_match_brute_force(device: &Device) {
    runner()
        .run(&grid_batch(), |batch| {
            let distance = Euclidean::new();
            let d = host_matrix(&distance, &batch, device);
            let n = batch.labels.len();
            let same = |a: usize, b: usize| a != b && batch.labels[a] == batch.labels[b];
            let differ = |a: usize, b: usize| batch.labels[a] != batch.labels[b];
            let mine =
                |miner: &dyn Miner| miner.mine(batch.embeddings(device), batch.labels(device));

            // Batch-hard: farthest positive, nearest negative, anchors lacking one dropped.
            let mut expected = Vec::new();
            for a in 0..n {
                let ap = (0..n)
                    .filter(|&p| same(a, p))
                    .map(|p| d[a][p])
                    .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))));
                let an = (0..n)
                    .filter(|&q| differ(a, q))
                    .map(|q| d[a][q])
                    .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.min(x))));
                if let (Some(ap), Some(an)) = (ap, an) {
                    expected.push((a, ap, an));
                }
            }
            prop_assert_eq!(
                selected_values(&mine(&BatchHardMiner::new(distance)), &d),
                expected
            );

            // TF-Addons: per positive pair, nearest d_an > d_ap, else the farthest, else a itself.
            let mut expected = Vec::new();
            for a in 0..n {
                for p in (0..n).filter(|&p| same(a, p)) {
                    let negatives: Vec<f32> =
                        (0..n).filter(|&q| differ(a, q)).map(|q| d[a][q]).collect();
                    let beyond = negatives
                        .iter()
                        .copied()
                        .filter(|&x| x > d[a][p])
                        .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.min(x))));
                    let farthest = negatives
                        .iter()
                        .copied()
                        .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))));
                    expected.push((a, d[a][p], beyond.or(farthest).unwrap_or(d[a][a])));
                }
            }
            expected.sort_by(|x, y| x.partial_cmp(y).expect("finite"));
            prop_assert_eq!(
                selected_values(&mine(&TfaSemiHardMiner::new(distance)), &d),
                expected
            );

            // PML BatchEasyHardMiner defaults: nearest positive, nearest negative beyond it.
            let mut expected = Vec::new();
            for a in 0..n {
                let ap = (0..n)
                    .filter(|&p| same(a, p))
                    .map(|p| d[a][p])
                    .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.min(x))));
                if let Some(ap) = ap {
                    let an = (0..n)
                        .filter(|&q| differ(a, q) && d[a][q] > ap)
                        .map(|q| d[a][q])
                        .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.min(x))));
                    if let Some(an) = an {
                        expected.push((a, ap, an));
                    }
                }
            }
            prop_assert_eq!(
                selected_values(&mine(&BatchEasyHardMiner::new(distance)), &d),
                expected
            );
            Ok(())
        })
        .unwrap();
}

/// Every loss of the crate on one batch, by name.
fn all_losses(
    embeddings: Tensor<2>,
    batch: &Batch,
    device: &Device,
) -> Vec<(&'static str, Tensor<1>)> {
    let labels = batch.labels(device);
    let euclidean = Euclidean::new();
    let hard = BatchHardMiner::new(euclidean).mine(embeddings.clone(), labels.clone());
    let tfa = TfaSemiHardMiner::new(euclidean).mine(embeddings.clone(), labels.clone());
    let semi = SemiHardMiner::new(0.5, euclidean).mine(embeddings.clone(), labels.clone());
    let easy_hard = BatchEasyHardMiner::new(euclidean).mine(embeddings.clone(), labels.clone());
    let all = BatchAllMiner::new(euclidean).mine(embeddings.clone(), labels.clone());
    let margin = TripletMarginLoss::new(0.2, euclidean);
    vec![
        (
            "batch-hard",
            margin
                .clone()
                .with_reducer(Reducer::Mean)
                .forward(embeddings.clone(), &hard),
        ),
        (
            "batch-hard soft",
            TripletMarginLoss::soft(euclidean).forward(embeddings.clone(), &hard),
        ),
        (
            "tfa semi-hard",
            margin
                .clone()
                .with_reducer(Reducer::Mean)
                .forward(embeddings.clone(), &tfa),
        ),
        (
            "facenet semi-hard",
            margin.clone().forward(embeddings.clone(), &semi),
        ),
        (
            "batch-easy-hard",
            margin
                .clone()
                .with_reducer(Reducer::Mean)
                .forward(embeddings.clone(), &easy_hard),
        ),
        (
            "all listed soft",
            TripletMarginLoss::soft(SquaredEuclidean::new()).forward(embeddings.clone(), &all),
        ),
        (
            "batch-all",
            BatchAllTripletLoss::new(0.2, euclidean).forward(embeddings.clone(), labels.clone()),
        ),
        (
            "facenet semi-hard band",
            BandTripletLoss::new(0.2, SemiHardMiner::new(0.5, euclidean).band(), euclidean)
                .forward(embeddings.clone(), labels.clone()),
        ),
        (
            "pml semi-hard band cosine",
            BandTripletLoss::new(
                0.1,
                TripletMarginMiner::new(0.1, TripletType::SemiHard, CosineSimilarity).band(),
                CosineSimilarity,
            )
            .with_reducer(Reducer::Mean)
            .forward(embeddings.clone(), labels.clone()),
        ),
        (
            "batch-all mean",
            BatchAllTripletLoss::new(0.2, euclidean)
                .with_reducer(Reducer::Mean)
                .forward(embeddings.clone(), labels.clone()),
        ),
        (
            "batch-all cosine",
            BatchAllTripletLoss::new(0.1, CosineSimilarity)
                .forward(embeddings.clone(), labels.clone()),
        ),
        (
            "contrastive",
            ContrastiveLoss::new(euclidean)
                .with_margins(0.1, 1.5)
                .forward(embeddings.clone(), labels.clone()),
        ),
        (
            "contrastive cosine",
            ContrastiveLoss::new(CosineSimilarity)
                .with_margins(0.9, 0.3)
                .forward(embeddings.clone(), labels.clone()),
        ),
        (
            "circle",
            CircleLoss::default().forward(embeddings.clone(), labels.clone()),
        ),
        (
            "multi-similarity",
            MultiSimilarityLoss::default().forward(embeddings, labels),
        ),
    ]
}

fn loss_values(batch: &Batch, device: &Device) -> Vec<(&'static str, f64)> {
    all_losses(batch.embeddings(device), batch, device)
        .into_iter()
        .map(|(name, loss)| (name, f64::from(loss.into_scalar::<f32>())))
        .collect()
}

fn assert_same_losses(
    left: &[(&str, f64)],
    right: &[(&str, f64)],
    what: &str,
) -> Result<(), TestCaseError> {
    for ((name, a), (_, b)) in left.iter().zip(right) {
        prop_assert!(
            (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
            "{} changes {} loss: {} vs {}",
            what,
            name,
            a,
            b
        );
    }
    Ok(())
}

fn losses_are_permutation_invariant(device: &Device) {
    runner()
        .run(&(smooth_batch(), any::<u64>()), |(batch, seed)| {
            let n = batch.labels.len();
            let mut order: Vec<usize> = (0..n).collect();
            // A seeded Fisher-Yates shuffle.
            let mut state = seed | 1;
            for i in (1..n).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let permuted = Batch {
                rows: order.iter().map(|&i| batch.rows[i].clone()).collect(),
                labels: order.iter().map(|&i| batch.labels[i]).collect(),
            };
            assert_same_losses(
                &loss_values(&batch, device),
                &loss_values(&permuted, device),
                "permuting the batch",
            )
        })
        .unwrap();
}

fn euclidean_losses_are_translation_invariant(device: &Device) {
    runner()
        .run(&(smooth_batch(), -3.0f32..3.0), |(batch, shift)| {
            let moved = Batch {
                rows: batch
                    .rows
                    .iter()
                    .map(|row| {
                        row.iter()
                            .enumerate()
                            .map(|(j, x)| x + shift * (j as f32 + 1.0))
                            .collect()
                    })
                    .collect(),
                labels: batch.labels.clone(),
            };
            // Only the losses on raw euclidean distances are translation invariant.
            let euclidean = |values: Vec<(&'static str, f64)>| -> Vec<(&'static str, f64)> {
                values
                    .into_iter()
                    .filter(|(name, _)| {
                        !name.contains("cosine") && *name != "circle" && *name != "multi-similarity"
                    })
                    .collect()
            };
            assert_same_losses(
                &euclidean(loss_values(&batch, device)),
                &euclidean(loss_values(&moved, device)),
                "translating the batch",
            )
        })
        .unwrap();
}

fn gradients_match_finite_differences(device: &Device) {
    // Losses that are smooth everywhere (no relu kink, no selection switch).
    let smooth_losses: [(&str, LossOf); 3] = [
        ("multi-similarity", |e, l| {
            MultiSimilarityLoss::default().forward(e, l)
        }),
        ("soft all-triplets", |e, l| {
            let triplets = BatchAllMiner::new(Euclidean::new()).mine(e.clone(), l);
            TripletMarginLoss::soft(Euclidean::new()).forward(e, &triplets)
        }),
        ("soft all-triplets squared", |e, l| {
            let triplets = BatchAllMiner::new(SquaredEuclidean::new()).mine(e.clone(), l);
            TripletMarginLoss::soft(SquaredEuclidean::new()).forward(e, &triplets)
        }),
    ];
    runner()
        .run(&smooth_batch(), |batch| {
            for (name, loss) in smooth_losses {
                let embeddings = tracked(&batch.rows, device);
                let (_, gradient) =
                    value_and_gradient(&embeddings, loss(embeddings.clone(), batch.labels(device)));
                let step = 1e-2_f32;
                for (i, j) in [
                    (0, 0),
                    (1, batch.rows[0].len() - 1),
                    (batch.rows.len() - 1, 0),
                ] {
                    let at = |delta: f32| {
                        let mut rows = batch.rows.clone();
                        rows[i][j] += delta;
                        f64::from(
                            loss(matrix(&rows, device), batch.labels(device)).into_scalar::<f32>(),
                        )
                    };
                    let numeric = (at(step) - at(-step)) / (2.0 * f64::from(step));
                    let analytic = gradient[i][j];
                    prop_assert!(
                        (numeric - analytic).abs() <= 2e-3 * (1.0 + analytic.abs()),
                        "{} d/dx[{}][{}]: autodiff {} vs finite difference {}",
                        name,
                        i,
                        j,
                        analytic,
                        numeric
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

fn degenerate_batches_stay_finite(device: &Device) {
    let mut batches = Vec::new();
    let base = vec![
        vec![0.3f32, -1.2, 0.7],
        vec![0.3, -1.2, 0.7],
        vec![1.0, 0.0, 0.0],
        vec![1.0, 0.0, 0.0],
        vec![-0.5, 0.5, 2.0],
    ];
    batches.push((
        "duplicates",
        Batch {
            rows: base.clone(),
            labels: vec![0, 0, 1, 2, 1],
        },
    ));
    batches.push((
        "duplicate across classes",
        Batch {
            rows: base.clone(),
            labels: vec![0, 1, 1, 0, 2],
        },
    ));
    batches.push((
        "zero vectors",
        Batch {
            rows: vec![vec![0.0; 3]; 5],
            labels: vec![0, 0, 1, 1, 2],
        },
    ));
    batches.push((
        "one class",
        Batch {
            rows: base.clone(),
            labels: vec![4; 5],
        },
    ));
    batches.push((
        "singleton classes",
        Batch {
            rows: base.clone(),
            labels: vec![0, 1, 2, 3, 4],
        },
    ));
    batches.push((
        "one row",
        Batch {
            rows: vec![vec![1.0, 2.0, 3.0]],
            labels: vec![0],
        },
    ));
    for scale in [1e-8f32, 1e-3, 1e3, 1e8] {
        let rows = base
            .iter()
            .map(|row| row.iter().map(|x| x * scale).collect())
            .collect();
        batches.push((
            "scaled",
            Batch {
                rows,
                labels: vec![0, 0, 1, 1, 0],
            },
        ));
    }
    for (what, batch) in batches {
        // The losses share only the leaf, so each can run its own backward pass.
        let embeddings = tracked(&batch.rows, device);
        for (name, loss) in all_losses(embeddings.clone(), &batch, device) {
            let (value, gradient) = value_and_gradient(&embeddings, loss);
            assert!(value.is_finite(), "{what}: {name} loss is {value}");
            assert!(
                all_finite(&gradient),
                "{what}: {name} gradient is not finite: {gradient:?}"
            );
        }
    }
}

fn empty_sets_give_zero_loss_and_gradient(device: &Device) {
    for (what, labels) in [
        ("one class", vec![3i64; 4]),
        ("singletons", vec![0, 1, 2, 3]),
    ] {
        let batch = Batch {
            rows: vec![
                vec![0.1, 0.2],
                vec![0.4, -0.3],
                vec![1.0, 1.0],
                vec![-0.7, 0.2],
            ],
            labels,
        };
        let embeddings = tracked(&batch.rows, device);
        for (name, loss) in all_losses(embeddings.clone(), &batch, device) {
            // Multi-similarity averages over all anchors and contrastive has pair terms
            // of the other kind; their empty parts are checked below.
            // TF-Addons' semi-hard loss without negatives is m + mean d_ap by design (its
            // fallback negative is the anchor itself); the fixtures check that value.
            if name == "multi-similarity"
                || name.starts_with("contrastive")
                || (name == "tfa semi-hard" && what == "one class")
            {
                continue;
            }
            let (value, gradient) = value_and_gradient(&embeddings, loss);
            assert_eq!(value, 0.0, "{what}: {name} loss");
            assert!(
                gradient.iter().flatten().all(|&g| g == 0.0),
                "{what}: {name} gradient {gradient:?}"
            );
        }
        let embeddings = tracked(&batch.rows, device);
        let parts = ContrastiveLoss::new(Euclidean::new())
            .forward_parts(embeddings.clone(), batch.labels(device));
        let empty_part = if what == "one class" {
            parts.negative
        } else {
            parts.positive
        };
        let (value, gradient) = value_and_gradient(&embeddings, empty_part);
        assert_eq!(value, 0.0, "{what}: empty contrastive part");
        assert!(
            gradient.iter().flatten().all(|&g| g == 0.0),
            "{what}: contrastive gradient {gradient:?}"
        );
    }
}

fn zero_distance_has_zero_gradient(device: &Device) {
    let rows = vec![vec![0.5f32, -1.0], vec![0.5, -1.0], vec![2.0, 0.0]];
    let embeddings = tracked(&rows, device);
    let distances = Euclidean::new().pairwise(embeddings.clone());
    // d(0, 1) = 0 exactly: its gradient must be 0, not NaN.
    let picked = distances.slice([0..1, 1..2]).reshape([1]);
    let (value, gradient) = value_and_gradient(&embeddings, picked);
    assert_eq!(value, 0.0);
    assert!(gradient.iter().flatten().all(|&g| g == 0.0), "{gradient:?}");
    // Identical rows give bit-identical distances to every other row.
    let d = to_rows(Euclidean::new().pairwise(matrix(&rows, device)));
    assert_eq!(d[0][2].to_bits(), d[1][2].to_bits());
    assert_eq!(d[2][0].to_bits(), d[2][1].to_bits());
}

/// Large enough for the matrix product to tile: copies at far-apart rows must still give
/// bit-identical rows and columns, exact zeros between them, and near-copies exact values.
fn identical_rows_give_bit_identical_distances(device: &Device) {
    let (n, dim) = (100, 37);
    let mut state = 0x1234_5678_u64;
    let mut rows: Vec<Vec<f32>> = (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect()
        })
        .collect();
    let copies = [(5, 97), (40, 63), (0, 99), (5, 31)];
    for (original, copy) in copies {
        rows[copy] = rows[original].clone();
    }
    // A near-copy: one coordinate 1e-3 away.
    rows[70] = rows[12].clone();
    rows[70][3] += 1e-3;
    let distances: [(&str, Box<dyn Distance>); 4] = [
        ("euclidean", Box::new(Euclidean::new())),
        ("squared euclidean", Box::new(SquaredEuclidean::new())),
        ("normalised euclidean", Box::new(Euclidean::normalized())),
        (
            "normalised squared euclidean",
            Box::new(SquaredEuclidean::normalized()),
        ),
    ];
    for (name, distance) in distances {
        let d = to_rows(distance.pairwise(matrix(&rows, device)));
        for (original, copy) in copies {
            assert_eq!(d[original][copy], 0.0, "{name}: d({original}, {copy})");
            for other in 0..n {
                assert_eq!(
                    d[other][original].to_bits(),
                    d[other][copy].to_bits(),
                    "{name}: column {original} vs {copy} at row {other}"
                );
                assert_eq!(
                    d[original][other].to_bits(),
                    d[copy][other].to_bits(),
                    "{name}: row {original} vs {copy} at column {other}"
                );
            }
        }
        let near = if name.contains("normalised") {
            None
        } else {
            Some(if name.contains("squared") { 1e-6 } else { 1e-3 })
        };
        if let Some(expected) = near {
            assert!(
                (d[12][70] - expected).abs() <= 1e-3 * expected,
                "{name}: near-copy distance {} instead of {expected}",
                d[12][70]
            );
        }
    }
}

/// Precision@1, R-precision and MAP@R by sorting each query's dissimilarities on the host;
/// `exclude_self`: queries are the references, each left out of its own neighbours.
fn host_retrieval(
    d: &[Vec<f32>],
    query_labels: &[i64],
    reference_labels: &[i64],
    exclude_self: bool,
) -> RetrievalMetrics {
    let mut sums = [0.0; 3];
    let mut queries = 0;
    for (q, row) in d.iter().enumerate() {
        let mut order: Vec<usize> = (0..row.len())
            .filter(|&c| !(exclude_self && c == q))
            .collect();
        order.sort_by(|&a, &b| row[a].total_cmp(&row[b]));
        let hits: Vec<bool> = order
            .iter()
            .map(|&c| reference_labels[c] == query_labels[q])
            .collect();
        let r = hits.iter().filter(|&&hit| hit).count();
        if r == 0 {
            continue;
        }
        queries += 1;
        let (mut found, mut average_precision) = (0, 0.0);
        for (rank, &hit) in hits[..r].iter().enumerate() {
            if hit {
                found += 1;
                average_precision += f64::from(found) / (rank + 1) as f64;
            }
        }
        sums[0] += f64::from(u8::from(hits[0]));
        sums[1] += f64::from(found) / r as f64;
        sums[2] += average_precision / r as f64;
    }
    let divisor = queries.max(1) as f64;
    RetrievalMetrics {
        precision_at_1: sums[0] / divisor,
        r_precision: sums[1] / divisor,
        mean_average_precision_at_r: sums[2] / divisor,
        num_queries: queries,
    }
}

fn assert_same_metrics(ours: RetrievalMetrics, host: RetrievalMetrics, what: &str) {
    assert_eq!(ours.num_queries, host.num_queries, "{what}: queries");
    for (name, a, b) in [
        ("precision@1", ours.precision_at_1, host.precision_at_1),
        ("R-precision", ours.r_precision, host.r_precision),
        (
            "MAP@R",
            ours.mean_average_precision_at_r,
            host.mean_average_precision_at_r,
        ),
    ] {
        assert!((a - b).abs() < 1e-6, "{what}: {name} {a} vs host {b}");
    }
}

/// Continuous embeddings (no tied distances), euclidean and cosine (negative
/// dissimilarities), the set against itself and two halves against each other.
fn retrieval_matches_host_sort(device: &Device) {
    let strategy = (8usize..60, 2usize..6)
        .prop_flat_map(|(n, d)| (vec(vec(-3.0f32..3.0, d), n), vec(0i64..4, n)));
    runner()
        .run(&strategy, |(rows, labels)| {
            let distances: [(&str, Box<dyn Distance>); 2] = [
                ("euclidean", Box::new(Euclidean::new())),
                ("cosine", Box::new(CosineSimilarity)),
            ];
            for (name, distance) in distances {
                let embeddings = matrix(&rows, device);
                let d: Vec<Vec<f32>> = to_rows(distance.dissimilarity(embeddings.clone()))
                    .into_iter()
                    .map(|row| row.into_iter().map(|x| x as f32).collect())
                    .collect();
                let ours =
                    retrieval_metrics(&distance, embeddings, common::labels(&labels, device));
                assert_same_metrics(ours, host_retrieval(&d, &labels, &labels, true), name);

                let half = rows.len() / 2;
                let ours = retrieval_metrics_between(
                    &distance,
                    matrix(&rows[..half], device),
                    common::labels(&labels[..half], device),
                    matrix(&rows[half..], device),
                    common::labels(&labels[half..], device),
                );
                let between: Vec<Vec<f32>> =
                    d[..half].iter().map(|row| row[half..].to_vec()).collect();
                let host = host_retrieval(&between, &labels[..half], &labels[half..], false);
                assert_same_metrics(ours, host, &format!("{name}, between halves"));
            }
            Ok(())
        })
        .unwrap();
}

macro_rules! backend_properties {
    ($backend:ident, $device:expr) => {
        mod $backend {
            use super::*;

            fn device() -> Option<Device> {
                #[allow(deprecated)]
                $device
            }

            #[test]
            fn band_miners_and_counts_match_brute_force() {
                if let Some(device) = device() {
                    band_miners_match_brute_force(&device);
                }
            }

            #[test]
            fn band_losses_match_listed_triplets() {
                if let Some(device) = device() {
                    super::band_losses_match_listed_triplets(&device);
                }
            }

            #[test]
            fn per_anchor_miners_match_brute_force() {
                if let Some(device) = device() {
                    super::per_anchor_miners_match_brute_force(&device);
                }
            }

            #[test]
            fn retrieval_metrics_match_a_host_sort() {
                if let Some(device) = device() {
                    retrieval_matches_host_sort(&device);
                }
            }

            #[test]
            fn losses_are_permutation_invariant() {
                if let Some(device) = device() {
                    super::losses_are_permutation_invariant(&device);
                }
            }

            #[test]
            fn euclidean_losses_are_translation_invariant() {
                if let Some(device) = device() {
                    super::euclidean_losses_are_translation_invariant(&device);
                }
            }

            #[test]
            fn gradients_match_finite_differences() {
                if let Some(device) = device() {
                    super::gradients_match_finite_differences(&device);
                }
            }

            #[test]
            fn degenerate_batches_stay_finite() {
                if let Some(device) = device() {
                    super::degenerate_batches_stay_finite(&device);
                }
            }

            #[test]
            fn empty_sets_give_zero_loss_and_gradient() {
                if let Some(device) = device() {
                    super::empty_sets_give_zero_loss_and_gradient(&device);
                }
            }

            #[test]
            fn identical_rows_give_bit_identical_distances() {
                if let Some(device) = device() {
                    super::identical_rows_give_bit_identical_distances(&device);
                }
            }

            #[test]
            fn zero_distance_has_zero_gradient() {
                if let Some(device) = device() {
                    super::zero_distance_has_zero_gradient(&device);
                }
            }
        }
    };
}

#[cfg(feature = "flex")]
backend_properties!(flex, Some(Device::flex()));
#[cfg(feature = "ndarray")]
backend_properties!(ndarray, Some(Device::ndarray()));
#[cfg(feature = "wgpu")]
backend_properties!(wgpu, common::wgpu::test_device());
