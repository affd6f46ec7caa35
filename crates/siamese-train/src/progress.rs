//! Progress: an indicatif bar on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports training progress.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    last_line: Instant,
    every: Duration,
}

impl Progress {
    /// A bar when stderr is a terminal (and `quiet` is off), else lines every 10 s.
    pub fn new(total: usize, start: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(
                "{bar:30} step {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(start as u64);
            bar
        });
        Self {
            bar,
            total,
            last_line: Instant::now(),
            every: Duration::from_secs(10),
        }
    }

    /// After a step.
    pub fn step(&mut self, step: usize, loss: f64, images_per_second: f64) {
        let message = format!("loss {loss:.4}  {images_per_second:.0} img/s");
        match &self.bar {
            Some(bar) => {
                bar.set_position(step as u64);
                bar.set_message(message);
            }
            None if self.last_line.elapsed() >= self.every || step == self.total => {
                eprintln!("step {step}/{}  {message}", self.total);
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    /// A line that must not be garbled by the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
