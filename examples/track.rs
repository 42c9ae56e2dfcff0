//! Track a moving, noisy object through a sequence of frames with a cached template.
//!
//! The frames are made from a photograph (`tests/data/astronaut.png`): the background is
//! the photograph mirrored left to right, the object a 48 × 48 patch of the unmirrored
//! photograph (the astronaut's face) that moves along a smooth path at subpixel positions
//! (bilinear resampling), and every frame gets fresh Gaussian noise. A [`Tracker`] keeps the
//! template's spectrum and finds the object in each whole frame by `ccoeff-normed` template
//! matching with a parabola fit for subpixel precision.
//!
//! Prints per-frame positions, the tracking error against the truth, and frames per second
//! on the CPU (and on the GPU when the engine has one), tracking one frame at a time
//! (`Tracker::track`) and pipelined (`Tracker::submit` of frame k + 1 before
//! `Tracker::collect` of frame k), alternated pass by pass; the two must find the same peaks.
//!
//! ```text
//! cargo run --release --example track
//! cargo run --release --example track -- --write-frames DIR   # also save them, for `xcorr track`
//! cargo run --release --example track -- --rounds 4            # time 4 passes over the frames
//! cargo run --release --example track -- --cpu                 # the CPU only
//! ```
//!
//! `--write-frames DIR` writes the template and the frames as float32 `.npy` files
//! (`DIR/template.npy`, `DIR/frames/frame_000.npy`...), so that `xcorr track DIR/template.npy
//! DIR/frames --backend cpu` runs the same work from files and the two rates can be compared.
//! `--rounds N` times N passes over the frames (the rate over all of them), as `xcorr track`
//! given the frame folder N times does, so that warm-up weighs the same in both.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use xcorr::matching::{Method, Tracker};
use xcorr::{Array, Backend, Engine, Shape};

const FRAMES: usize = 60;
const SIZE: usize = 48;
const NOISE: f32 = 0.05;
/// Top-left corner of the object in the unmirrored photograph.
const SOURCE: (usize, usize) = (70, 185);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = format!("{}/tests/data/astronaut.png", env!("CARGO_MANIFEST_DIR"));
    let photo = image::open(&path)?.to_luma32f();
    let (w, h) = photo.dimensions();
    let photo = Array::new(photo.into_raw(), Shape::d2(h as usize, w as usize))?;
    let template = Array::from_fn(Shape::d2(SIZE, SIZE), |r, c| {
        photo.at(SOURCE.0 + r, SOURCE.1 + c)
    });

    let (frames, truth) = make_frames(&photo);
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = match args.iter().position(|a| a == "--rounds") {
        Some(i) => args.get(i + 1).ok_or("--rounds N")?.parse()?,
        None => 1,
    };
    if let Some(i) = args.iter().position(|a| a == "--write-frames") {
        let dir = std::path::PathBuf::from(args.get(i + 1).ok_or("--write-frames DIR")?);
        std::fs::create_dir_all(dir.join("frames"))?;
        xcorr::io::write_npy(std::fs::File::create(dir.join("template.npy"))?, &template)?;
        for (i, frame) in frames.iter().enumerate() {
            let path = dir.join(format!("frames/frame_{i:03}.npy"));
            xcorr::io::write_npy(std::fs::File::create(path)?, frame)?;
        }
        println!(
            "wrote the template and {FRAMES} frames to {}",
            dir.display()
        );
    }
    println!(
        "{FRAMES} frames of {}x{}, object {SIZE}x{SIZE}, noise sigma {NOISE}",
        h, w
    );

    let mut backends = vec![("cpu", Engine::cpu())];
    match Engine::with_backend(Backend::Gpu) {
        _ if args.iter().any(|a| a == "--cpu") => {}
        Ok(engine) => backends.push(("gpu", engine)),
        Err(e) => println!("gpu: not used ({e})"),
    }
    for (name, engine) in backends {
        let tracker = Tracker::new(&engine, &template, frames[0].shape(), Method::CCoeffNormed)?;
        // Each round times one pass of `track` (one frame at a time) and one pipelined pass
        // (frame k + 1 submitted before frame k is collected), alternated so that the
        // machine's load weighs on both alike.
        let mut one_at_a_time = Pass::default();
        let mut pipelined = Pass::default();
        let mut found = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            let mut this = Vec::with_capacity(FRAMES);
            for frame in &frames {
                this.push(tracker.track(frame)?);
            }
            one_at_a_time.add(start.elapsed().as_secs_f64(), 0.0, 0.0);

            let start = Instant::now();
            let (mut submit, mut collect) = (0.0, 0.0);
            let mut piped = Vec::with_capacity(FRAMES);
            let mut in_flight = None;
            for frame in &frames {
                let t = Instant::now();
                let next = tracker.submit(frame)?;
                submit += t.elapsed().as_secs_f64();
                if let Some(pending) = in_flight.replace(next) {
                    let t = Instant::now();
                    piped.push(tracker.collect(pending)?);
                    collect += t.elapsed().as_secs_f64();
                }
            }
            if let Some(pending) = in_flight {
                let t = Instant::now();
                piped.push(tracker.collect(pending)?);
                collect += t.elapsed().as_secs_f64();
            }
            pipelined.add(start.elapsed().as_secs_f64(), submit, collect);
            if piped != this {
                return Err(format!("{name}: the pipelined results differ from track's").into());
            }
            found = this;
        }
        if found.is_empty() {
            continue;
        }
        if name == "cpu" {
            println!("frame   truth (row, col)    found (row, col)    error px   score");
            for (i, (peak, &(ty, tx))) in found.iter().zip(&truth).enumerate() {
                let (y, x) = peak.position();
                let error = (y - ty).hypot(x - tx);
                println!(
                    "{i:5}   ({ty:7.2}, {tx:7.2})   ({y:7.2}, {x:7.2})   {error:8.3}   {:.3}",
                    peak.score
                );
            }
        }
        let errors: Vec<f64> = found
            .iter()
            .zip(&truth)
            .map(|(p, &(ty, tx))| {
                let (y, x) = p.position();
                (y - ty).hypot(x - tx)
            })
            .collect();
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        let worst = errors.iter().cloned().fold(0.0, f64::max);
        println!(
            "{name} ({}): mean error {mean:.3} px, worst {worst:.3} px, {:.1} frames/s",
            engine.backend_name(),
            (FRAMES * rounds) as f64 / one_at_a_time.seconds
        );
        println!(
            "{name}: pipelined {:.1} frames/s (median pass {:.1}, one at a time {:.1}); per \
             frame {:.2} ms submitting + {:.2} ms collecting, against {:.2} ms per track; \
             identical results",
            (FRAMES * rounds) as f64 / pipelined.seconds,
            FRAMES as f64 / pipelined.median(),
            FRAMES as f64 / one_at_a_time.median(),
            pipelined.submit / (FRAMES * rounds) as f64 * 1e3,
            pipelined.collect / (FRAMES * rounds) as f64 * 1e3,
            one_at_a_time.seconds / (FRAMES * rounds) as f64 * 1e3,
        );
    }
    Ok(())
}

/// The times of the passes of one way of tracking.
#[derive(Default)]
struct Pass {
    /// Wall time of every pass, and their sum; the time spent in `submit` and in `collect`.
    passes: Vec<f64>,
    seconds: f64,
    submit: f64,
    collect: f64,
}

impl Pass {
    fn add(&mut self, seconds: f64, submit: f64, collect: f64) {
        self.passes.push(seconds);
        self.seconds += seconds;
        self.submit += submit;
        self.collect += collect;
    }

    fn median(&self) -> f64 {
        let mut sorted = self.passes.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }
}

/// The frames and the object's true top-left corner in each.
fn make_frames(photo: &Array<f32>) -> (Vec<Array<f32>>, Vec<(f64, f64)>) {
    let [h, w] = photo.shape().axes();
    let mirrored = Array::from_fn(photo.shape(), |r, c| photo.at(r, w - 1 - c));
    let mut rng = ChaCha8Rng::seed_from_u64(2008);
    let mut frames = Vec::with_capacity(FRAMES);
    let mut truth = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // A Lissajous path well inside the frame.
        let t = i as f64 / FRAMES as f64 * 2.0 * std::f64::consts::PI;
        let y = (h - SIZE) as f64 / 2.0 + 0.35 * (h - SIZE) as f64 * (2.0 * t).sin();
        let x = (w - SIZE) as f64 / 2.0 + 0.4 * (w - SIZE) as f64 * (3.0 * t).cos();
        let mut frame = mirrored.clone();
        // Object pixel (r, c) of the frame shows the photograph at SOURCE + (r − y, c − x).
        let (top, left) = (y.floor() as usize, x.floor() as usize);
        for r in top..top + SIZE + 1 {
            for c in left..left + SIZE + 1 {
                let (sy, sx) = (r as f64 - y, c as f64 - x);
                if sy >= 0.0 && sx >= 0.0 && sy <= (SIZE - 1) as f64 && sx <= (SIZE - 1) as f64 {
                    frame.data_mut()[r * w + c] =
                        bilinear(photo, SOURCE.0 as f64 + sy, SOURCE.1 as f64 + sx);
                }
            }
        }
        for v in frame.data_mut() {
            *v += NOISE * gaussian(&mut rng);
        }
        frames.push(frame);
        truth.push((y, x));
    }
    (frames, truth)
}

fn bilinear(x: &Array<f32>, y: f64, c: f64) -> f32 {
    let (r0, c0) = (y.floor() as usize, c.floor() as usize);
    let (fy, fx) = ((y - r0 as f64) as f32, (c - c0 as f64) as f32);
    let at = |r: usize, c: usize| x.at(r, c);
    (1.0 - fy) * ((1.0 - fx) * at(r0, c0) + fx * at(r0, c0 + 1))
        + fy * ((1.0 - fx) * at(r0 + 1, c0) + fx * at(r0 + 1, c0 + 1))
}

/// A standard normal sample (Box–Muller).
fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}
