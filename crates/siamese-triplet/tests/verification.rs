//! Verification metrics on cases small enough to check by hand: perfect separation, full
//! overlap, ties, and rates at fixed false-accept levels.

use siamese_triplet::metrics::{VerificationError, VerificationMetrics};

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
}

#[test]
fn perfect_separation() {
    let metrics =
        VerificationMetrics::new(&[0.1, 0.2, 0.8, 0.9], &[true, true, false, false]).expect("ok");
    close(metrics.auc, 1.0);
    close(metrics.eer, 0.0);
    close(metrics.eer_threshold, 0.2);
    close(metrics.best_accuracy, 1.0);
    close(metrics.best_accuracy_threshold, 0.2);
    let tar = metrics.tar_at_far(0.0);
    close(tar.tar, 1.0);
    close(tar.threshold, 0.2);
    // ROC: accept nothing, then one point per distinct score.
    let points: Vec<(f64, f64)> = metrics.roc.iter().map(|p| (p.far, p.tar)).collect();
    assert_eq!(
        points,
        vec![(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]
    );
}

#[test]
fn inverted_separation() {
    // Same pairs scored farther than every different pair: AUC 0, EER 1.
    let metrics =
        VerificationMetrics::new(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]).expect("ok");
    close(metrics.auc, 0.0);
    close(metrics.eer, 1.0);
    // Rejecting everything is then the best: half the pairs (the different ones) right.
    close(metrics.best_accuracy, 0.5);
    assert_eq!(metrics.best_accuracy_threshold, f64::NEG_INFINITY);
}

#[test]
fn full_overlap() {
    // Every score equal: one step from (0, 0) to (1, 1).
    let metrics =
        VerificationMetrics::new(&[0.5; 6], &[true, true, true, false, false, false]).expect("ok");
    close(metrics.auc, 0.5);
    close(metrics.eer, 0.5);
    close(metrics.best_accuracy, 0.5);
    assert_eq!(metrics.roc.len(), 2);
    let tar = metrics.tar_at_far(0.1);
    close(tar.tar, 0.0);
    assert!(!tar.meaningful, "3 different pairs cannot resolve FAR 0.1");
}

#[test]
fn ties_between_classes_count_half() {
    // same: 0.1, 0.5; different: 0.5, 0.9. Pairs (same, different): (0.1, 0.5) win,
    // (0.1, 0.9) win, (0.5, 0.5) tie, (0.5, 0.9) win: AUC = 3.5 / 4.
    let metrics =
        VerificationMetrics::new(&[0.1, 0.5, 0.5, 0.9], &[true, true, false, false]).expect("ok");
    close(metrics.auc, 0.875);
    // ROC: (0,0) -> t=0.1 (0, .5) -> t=0.5 (.5, 1) -> t=0.9 (1, 1). FRR − FAR: 1, .5, −.5:
    // the crossing is halfway between the 2nd and 3rd points: FAR = .25.
    close(metrics.eer, 0.25);
    // Accuracy: t=0.1: (1 + 2) / 4; t=0.5: (2 + 1) / 4; the smaller threshold is kept.
    close(metrics.best_accuracy, 0.75);
    close(metrics.best_accuracy_threshold, 0.1);
    let at = metrics.rates_at(0.7);
    close(at.far, 0.5);
    close(at.tar, 1.0);
}

#[test]
fn tar_at_far_levels() {
    // 10 same pairs at 0, 1, …, 9; 1000 different pairs at 5.5, 6.5, …: FAR 1e-2 allows 10
    // false accepts (5.5 … 14.5), and every same pair is below 14.5.
    let mut scores: Vec<f64> = (0..10).map(f64::from).collect();
    let mut same = vec![true; 10];
    scores.extend((0..1000).map(|i| 5.5 + f64::from(i)));
    same.extend(vec![false; 1000]);
    let metrics = VerificationMetrics::new(&scores, &same).expect("ok");
    let at_1e2 = metrics.tar_at_far(1e-2);
    close(at_1e2.tar, 1.0);
    assert!(at_1e2.meaningful);
    // FAR 1e-3 allows one false accept (5.5), so the threshold can rise to 6 (before
    // 6.5): same pairs 0 … 6 are accepted.
    let at_1e3 = metrics.tar_at_far(1e-3);
    close(at_1e3.tar, 0.7);
    close(at_1e3.threshold, 6.0);
    assert!(at_1e3.meaningful);
    // FAR 1e-4 needs 10,000 different pairs to mean anything; here it allows no false
    // accept: same pairs 0 … 5.
    let at_1e4 = metrics.tar_at_far(1e-4);
    close(at_1e4.tar, 0.6);
    assert!(!at_1e4.meaningful);
}

#[test]
fn bad_input_is_an_error() {
    assert_eq!(
        VerificationMetrics::new(&[0.1, 0.2], &[true, true]),
        Err(VerificationError::OneSided {
            same: 2,
            different: 0
        })
    );
    assert!(matches!(
        VerificationMetrics::new(&[0.1], &[true, false]),
        Err(VerificationError::LengthMismatch { .. })
    ));
    assert_eq!(
        VerificationMetrics::new(&[0.1, f64::NAN], &[true, false]),
        Err(VerificationError::NotANumber { index: 1 })
    );
}
