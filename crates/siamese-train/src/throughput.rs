//! Training throughput without the first step, which compiles kernels on wgpu (seconds) and
//! warms caches everywhere.

/// Training throughput of this process, leaving out its first step (which compiles kernels
/// on wgpu and warms caches everywhere).
pub struct Throughput {
    first_step: usize,
    images: usize,
    seconds: f64,
}

impl Throughput {
    /// Counting from the step after `step`, the first one this process runs.
    pub fn after_first_of(step: usize) -> Self {
        Self {
            first_step: step + 1,
            images: 0,
            seconds: 0.0,
        }
    }

    /// Adds step `step` (1-based); for the first step, returns its seconds instead.
    pub fn add(&mut self, step: usize, images: usize, seconds: f64) -> Option<f64> {
        if step == self.first_step {
            return Some(seconds);
        }
        self.images += images;
        self.seconds += seconds;
        None
    }

    /// Images per second over the counted steps; `None` before the second step.
    pub fn images_per_second(&self) -> Option<f64> {
        (self.seconds > 0.0).then(|| self.images as f64 / self.seconds)
    }

    /// "N img/s after the first step", or why there is no figure.
    pub fn describe(&self) -> String {
        match self.images_per_second() {
            Some(rate) => format!("{rate:.0} img/s after the first step"),
            None => "too few steps to time".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Throughput;

    #[test]
    fn the_first_step_of_the_process_is_left_out() {
        // A resumed process whose first step is step 41 (1-based).
        let mut throughput = Throughput::after_first_of(40);
        assert_eq!(throughput.images_per_second(), None);
        assert_eq!(throughput.add(41, 80, 6.0), Some(6.0));
        assert_eq!(throughput.images_per_second(), None);
        assert_eq!(throughput.describe(), "too few steps to time");
        assert_eq!(throughput.add(42, 80, 0.5), None);
        assert_eq!(throughput.add(43, 80, 0.3), None);
        assert_eq!(throughput.images_per_second(), Some(200.0));
        assert_eq!(throughput.describe(), "200 img/s after the first step");
    }
}
