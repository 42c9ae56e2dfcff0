//! The tables a transform reads, computed on the host in f64 and stored as f32 (WGSL's sin
//! and cos are far too coarse for twiddles): per Stockham length its full circle of twiddles,
//! per Bluestein axis its chirps and convolution kernels.

use num_complex::Complex;
use rustfft::FftPlanner;
use std::f64::consts::PI;

/// Every table of one transform, back to back, with the offset of each.
#[derive(Default)]
pub(super) struct Tables {
    pub data: Vec<[f32; 2]>,
    /// (length, offset) of the twiddle circles made so far: both axes may share one.
    circles: Vec<(usize, usize)>,
}

impl Tables {
    /// The offset of the twiddles `exp(-2πi t / len)`, t < len, made on first use.
    pub fn twiddles(&mut self, len: usize) -> usize {
        if let Some(&(_, at)) = self.circles.iter().find(|(l, _)| *l == len) {
            return at;
        }
        let at = self
            .push((0..len).map(|t| Complex::from_polar(1.0, -2.0 * PI * t as f64 / len as f64)));
        self.circles.push((len, at));
        at
    }

    /// The offsets of the chirp (length n) and convolution kernel (length m) of a Bluestein
    /// DFT of length `n` with exponent sign `sign` (see [`bluestein_tables`]).
    pub fn bluestein(&mut self, n: usize, m: usize, sign: f64) -> (usize, usize) {
        let (chirp, kernel) = bluestein_tables(n, m, sign);
        (self.push(chirp), self.push(kernel))
    }

    fn push(&mut self, values: impl IntoIterator<Item = Complex<f64>>) -> usize {
        let at = self.data.len();
        self.data
            .extend(values.into_iter().map(|c| [c.re as f32, c.im as f32]));
        at
    }
}

/// Bluestein's tables for a DFT of length `n` with exponent sign `sign` (−1 forward, +1
/// inverse), computed through a circular convolution of length `m ≥ 2n − 1`:
///
/// `X[k] = w[k] · Σ_j (x[j]·w[j]) · conj(w[k − j])` with `w[j] = exp(sign·πi·j²/n)`.
///
/// Returns the chirp `w` (length n) and the kernel, the FFT of `conj(w)` wrapped onto length
/// m, divided by m so that the unnormalised inverse FFT completes the convolution.
fn bluestein_tables(n: usize, m: usize, sign: f64) -> (Vec<Complex<f64>>, Vec<Complex<f64>>) {
    // j² mod 2n in integers: exp(πi·j²/n) has period 2n in j², and reducing first keeps the
    // angle small, so it stays exact at large n where j² as f64 would lose digits.
    let chirp: Vec<Complex<f64>> = (0..n)
        .map(|j| {
            let q = (j as u128 * j as u128 % (2 * n as u128)) as f64;
            Complex::from_polar(1.0, sign * PI * q / n as f64)
        })
        .collect();
    let mut kernel = vec![Complex::new(0.0, 0.0); m];
    kernel[0] = chirp[0].conj();
    for j in 1..n {
        kernel[j] = chirp[j].conj();
        kernel[m - j] = chirp[j].conj();
    }
    FftPlanner::new().plan_fft_forward(m).process(&mut kernel);
    let scale = 1.0 / m as f64;
    kernel.iter_mut().for_each(|k| *k *= scale);
    (chirp, kernel)
}
