//! Writes template-matching and registration inputs and xcorr's outputs as .npy files (plus
//! `registration.json`) into a directory, for `scripts/compare_opencv.py` to check against
//! OpenCV's `matchTemplate` and scikit-image's `phase_cross_correlation`.
//!
//! ```text
//! cargo run --release --example vision_dump -- /tmp/vision
//! python scripts/compare_opencv.py /tmp/vision
//! ```

use num_complex::Complex;
use rustfft::FftPlanner;
use std::f64::consts::PI;
use std::io::Write;
use std::path::Path;
use xcorr::matching::{match_template, Method};
use xcorr::registration::{RegisterOptions, Registrar};
use xcorr::{Array, Engine, Shape};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "vision_dump".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let engine = Engine::cpu();
    let root = env!("CARGO_MANIFEST_DIR");
    let coins = image::open(format!("{root}/tests/data/coins.png"))?.to_luma32f();
    let (w, h) = coins.dimensions();
    let coins = Array::new(coins.into_raw(), Shape::d2(h as usize, w as usize))?;

    // Matching: (name, scene, template).
    let small = crop(&coins, 100, 150, 120, 100);
    let cases = [
        ("small_inside", small.clone(), crop(&small, 50, 61, 15, 12)),
        (
            "small_elsewhere",
            small.clone(),
            crop(&coins, 20, 300, 15, 12),
        ),
        ("full", coins.clone(), crop(&coins, 150, 200, 31, 27)),
    ];
    for (name, scene, template) in &cases {
        write_npy(&dir.join(format!("{name}_scene.npy")), scene)?;
        write_npy(&dir.join(format!("{name}_template.npy")), template)?;
        for method in Method::ALL {
            let map = match_template(&engine, scene, template, method)?;
            write_npy(
                &dir.join(format!("{name}_{}.npy", method.name().replace('-', "_"))),
                &map,
            )?;
        }
    }

    // Registration: Fourier-shifted and rolled crops, upsample 1 and 100.
    let reference = crop(&coins, 80, 120, 96, 128).map(|&v| v as f64);
    write_npy(&dir.join("reg_reference.npy"), &reference)?;
    let shifts = [
        (2.37, -5.81),
        (-3.6, 4.25),
        (0.49, -0.51),
        (-10.02, 7.77),
        (3.0, -7.0),
        (60.0, 70.0),
    ];
    let mut json = Vec::new();
    for (i, &(dy, dx)) in shifts.iter().enumerate() {
        let moving = fourier_shift(&reference, dy, dx);
        let file = format!("reg_moving_{i}.npy");
        write_npy(&dir.join(&file), &moving)?;
        for upsample in [1, 100] {
            let options = RegisterOptions {
                upsample,
                ..Default::default()
            };
            let r = Registrar::new(&reference, &options)?.register(&moving)?;
            json.push(format!(
                "{{\"moving\": \"{file}\", \"applied\": [{dy}, {dx}], \"upsample\": {upsample}, \
                 \"shift\": [{}, {}], \"error\": {}, \"peak\": {}, \"phasediff\": {}}}",
                r.shift.0, r.shift.1, r.error, r.peak, r.phase_difference
            ));
        }
    }
    std::fs::write(
        dir.join("registration.json"),
        format!("[\n{}\n]\n", json.join(",\n")),
    )?;
    println!("wrote {}", dir.display());
    Ok(())
}

fn crop<T: xcorr::Element>(
    x: &Array<T>,
    top: usize,
    left: usize,
    rows: usize,
    cols: usize,
) -> Array<T> {
    Array::from_fn(Shape::d2(rows, cols), |r, c| x.at(top + r, left + c))
}

/// `moving(y, x) = x(y − dy, x − dx)`, band-limited: the spectrum times a phase ramp.
fn fourier_shift(x: &Array<f64>, dy: f64, dx: f64) -> Array<f64> {
    let [h, w] = x.shape().axes();
    let mut planner = FftPlanner::<f64>::new();
    let mut data: Vec<Complex<f64>> = x.data().iter().map(|&v| Complex::new(v, 0.0)).collect();
    let transform = |data: &mut Vec<Complex<f64>>,
                     rows: &dyn rustfft::Fft<f64>,
                     cols: &dyn rustfft::Fft<f64>| {
        for row in data.chunks_mut(w) {
            rows.process(row);
        }
        for c in 0..w {
            let mut col: Vec<_> = (0..h).map(|r| data[r * w + c]).collect();
            cols.process(&mut col);
            for r in 0..h {
                data[r * w + c] = col[r];
            }
        }
    };
    let (fr, fc) = (planner.plan_fft_forward(w), planner.plan_fft_forward(h));
    transform(&mut data, fr.as_ref(), fc.as_ref());
    let signed = |k: usize, n: usize| {
        if k < n.div_ceil(2) {
            k as f64
        } else {
            k as f64 - n as f64
        }
    };
    for r in 0..h {
        for c in 0..w {
            let phase = -2.0 * PI * (signed(r, h) * dy / h as f64 + signed(c, w) * dx / w as f64);
            data[r * w + c] *= Complex::from_polar(1.0, phase);
        }
    }
    let (ir, ic) = (planner.plan_fft_inverse(w), planner.plan_fft_inverse(h));
    transform(&mut data, ir.as_ref(), ic.as_ref());
    let n = (h * w) as f64;
    Array::new(data.iter().map(|v| v.re / n).collect(), x.shape()).unwrap()
}

/// A little-endian .npy file (format 1.0) of a 2-D f32 or f64 array.
fn write_npy<T: xcorr::Real + xcorr::Element>(path: &Path, x: &Array<T>) -> std::io::Result<()> {
    let descr = if std::mem::size_of::<T>() == 4 {
        "<f4"
    } else {
        "<f8"
    };
    let [r, c] = x.shape().axes();
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({r}, {c}), }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(b"\x93NUMPY\x01\x00")?;
    file.write_all(&(header.len() as u16).to_le_bytes())?;
    file.write_all(header.as_bytes())?;
    for v in x.data() {
        let v = xcorr::Real::to_f64(*v);
        if std::mem::size_of::<T>() == 4 {
            file.write_all(&(v as f32).to_le_bytes())?;
        } else {
            file.write_all(&v.to_le_bytes())?;
        }
    }
    file.flush()
}
