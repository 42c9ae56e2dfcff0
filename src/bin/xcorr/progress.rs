//! What a batch tells the person watching: a progress bar with rate and time left (on stderr,
//! only when stderr is a terminal), per-frame failures, and one summary line at the end.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    bar: ProgressBar,
    quiet: bool,
    start: Instant,
}

impl Progress {
    /// A bar over `frames` frames; hidden when `quiet` or when stderr is not a terminal
    /// (a log file or a pipe gets no control characters).
    pub fn new(frames: usize, quiet: bool) -> Progress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(
                Some(frames as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} frames  {per_sec:.0}  {elapsed} elapsed, {eta} left",
                )
                .expect("a valid template"),
            );
            bar
        };
        Progress {
            bar,
            quiet,
            start: Instant::now(),
        }
    }

    /// One more frame done (or failed).
    pub fn step(&self) {
        self.bar.inc(1);
    }

    /// A line on stderr that does not tear the bar (failures are printed even when quiet).
    pub fn report(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Clear the bar and print the summary line (unless quiet).
    pub fn finish(&self, command: &str, frames: usize, failed: usize, backend: &str) {
        self.bar.finish_and_clear();
        if self.quiet {
            return;
        }
        let seconds = self.start.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            frames as f64 / seconds
        } else {
            0.0
        };
        eprintln!(
            "xcorr {command}: {frames} frames, {failed} failed, {:.2} s, {rate:.1} frames/s on {backend}",
            seconds
        );
    }
}
