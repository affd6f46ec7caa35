//! Principal component analysis to two dimensions, for the embedding map.

/// Projects `rows` points of `dim` values (row-major) onto their two principal axes:
/// returns the 2-D points and the fraction of the variance each axis explains.
///
/// The `dim × dim` covariance is built on the host (the report embeds at most a few
/// thousand points of a few hundred dimensions) and its two leading eigenvectors found by
/// power iteration with deflation.
pub fn project_2d(values: &[f32], rows: usize, dim: usize) -> (Vec<(f64, f64)>, [f64; 2]) {
    if rows == 0 || dim == 0 {
        return (Vec::new(), [0.0, 0.0]);
    }
    let mut mean = vec![0.0f64; dim];
    for row in values.chunks(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v) / rows as f64;
        }
    }
    let centred: Vec<f64> = values
        .chunks(dim)
        .flat_map(|row| row.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m))
        .collect();
    let mut covariance = vec![0.0f64; dim * dim];
    for row in centred.chunks(dim) {
        for i in 0..dim {
            for j in i..dim {
                covariance[i * dim + j] += row[i] * row[j];
            }
        }
    }
    for i in 0..dim {
        for j in i..dim {
            covariance[i * dim + j] /= rows as f64;
            covariance[j * dim + i] = covariance[i * dim + j];
        }
    }
    let total: f64 = (0..dim).map(|i| covariance[i * dim + i]).sum();
    let mut axes = Vec::new();
    let mut explained = [0.0; 2];
    for (component, share) in explained.iter_mut().enumerate() {
        let mut vector: Vec<f64> = (0..dim)
            .map(|i| 1.0 + (i + component) as f64 * 0.01)
            .collect();
        let mut eigenvalue = 0.0;
        for _ in 0..200 {
            let mut next: Vec<f64> = (0..dim)
                .map(|i| (0..dim).map(|j| covariance[i * dim + j] * vector[j]).sum())
                .collect();
            let norm = next.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            next.iter_mut().for_each(|v| *v /= norm);
            eigenvalue = norm;
            vector = next;
        }
        // Deflate: remove this component before finding the next.
        for i in 0..dim {
            for j in 0..dim {
                covariance[i * dim + j] -= eigenvalue * vector[i] * vector[j];
            }
        }
        *share = if total > 0.0 { eigenvalue / total } else { 0.0 };
        axes.push(vector);
    }
    let points = centred
        .chunks(dim)
        .map(|row| {
            let project = |axis: &Vec<f64>| row.iter().zip(axis).map(|(a, b)| a * b).sum();
            (project(&axes[0]), project(&axes[1]))
        })
        .collect();
    (points, explained)
}

#[cfg(test)]
mod tests {
    use super::project_2d;

    #[test]
    fn finds_the_axes_of_an_elongated_cloud() {
        // Points spread 10× more along (1, 1, 0) than along (1, -1, 0), none along z.
        let mut values = Vec::new();
        for i in -5i32..=5 {
            for j in -1i32..=1 {
                let (a, b) = (f64::from(i), f64::from(j) * 0.5);
                values.extend([(a + b) as f32, (a - b) as f32, 0.0]);
            }
        }
        let rows = values.len() / 3;
        let (points, explained) = project_2d(&values, rows, 3);
        assert_eq!(points.len(), rows);
        assert!(explained[0] > 0.95 && explained[1] > 0.0, "{explained:?}");
        assert!((explained[0] + explained[1] - 1.0).abs() < 1e-9);
        // The first coordinate is ±√2·i: the main axis is (1, 1, 0)/√2.
        let first = points[0].0.abs();
        assert!((first - 5.0 * 2f64.sqrt()).abs() < 1e-6, "{first}");
    }
}
