//! The logic of the `xcorr match` and `xcorr register` subcommands, for the binary to call.
//!
//! The binary parses the arguments (embedding [`MatchArgs`] / [`RegisterArgs`] with
//! `#[command(flatten)]` or as subcommand variants), loads the files, builds the [`Engine`]
//! from `--backend`, calls [`run_match`] / [`run_register`], prints the returned text and —
//! for `match` — writes [`MatchOutput::map`] to `-o MAP.npy` and a colour rendering of
//! [`heatmap_values`] to `--heatmap MAP.png`. Nothing here touches files.
//!
//! # Output
//!
//! `xcorr match` prints one line per match, best first: `row col score` (the template's
//! top-left corner in the scene). With `--json`, one object:
//!
//! ```json
//! {"method": "ccoeff-normed", "shape": [106, 89],
//!  "matches": [{"row": 50, "col": 61, "score": 1, "position": [50.02, 61.0]}]}
//! ```
//!
//! `shape` is the score map's `(H − h + 1, W − w + 1)`; `position` is the match refined to
//! subpixel precision by a parabola fit per axis (see `xcorr::peaks::refine_parabola`).
//!
//! `xcorr register` prints the shift `dy dx` (rounded to the upsampling's precision). With
//! `--json`: `{"shift": [dy, dx], "error": e, "peak": p}`, the fields of
//! [`Registration`](xcorr::registration::Registration).

use xcorr::array::{Array, ArrayView, Real, Shape};
use xcorr::engine::{Backend, Engine};
use xcorr::error::{Error, Result};
use xcorr::matching::{match_peaks, match_template, Image, Method, Sample, Template};
use xcorr::peaks::{self, Distance, Peak, PeakOptions};
use xcorr::registration::{
    register_masked, MaskedRegistration, RegisterOptions, Registrar, Registration, Window,
};

use std::fmt::Write;
use std::path::PathBuf;

/// How `xcorr match` (one scene or a batch) and `xcorr track` match: the options they share.
/// The files are the commands' own arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct MatchArgs {
    /// sqdiff, sqdiff-normed, ccorr, ccorr-normed, ccoeff or ccoeff-normed (OpenCV's
    /// formulas; best is the minimum for sqdiff*).
    #[arg(long, default_value = "ccoeff-normed")]
    pub method: Method,
    /// Report the K best matches.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub top: usize,
    /// Matches closer than D pixels (Chebyshev distance) to a better one are dropped;
    /// default: half the template's smaller side, at least 1.
    // Negative numbers are taken as values so that `--min-distance -1` gets our range
    // error, not clap's advice to write `-- -1` (which would make it a file name).
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub min_distance: Option<f64>,
    /// One scene: write the score map as .npy. A batch: write the results there (JSON Lines,
    /// or CSV for a .csv name or --csv) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Write the score map as a colour image (best matches brightest).
    #[arg(long, value_name = "MAP.png")]
    pub heatmap: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub backend: Backend,
    /// Return the score map even without -o or --heatmap (for pictures drawn from it).
    #[arg(skip)]
    pub keep_map: bool,
    /// Template mask, OpenCV's `matchTemplate` mask: an image (nonzero = weight 1, as
    /// OpenCV reads a uint8 mask), a 2-D .npy of float weights (≥ 0), or `alpha` for the
    /// template image's alpha channel. The template's shape; one channel, or with --color one
    /// per colour channel.
    #[arg(long, value_name = "MASK|alpha")]
    pub mask: Option<String>,
    /// Match colour images channel by channel, every term summed over the channels as
    /// OpenCV does. Without it (the default) images are converted to grey (luma) first.
    #[arg(long)]
    pub color: bool,
}

/// `xcorr register REFERENCE MOVING`: the shift that registers MOVING with REFERENCE.
#[derive(clap::Args, Clone, Debug)]
pub struct RegisterArgs {
    /// Reference image (image file or 2-D .npy).
    pub reference: PathBuf,
    /// Moving image, the same shape as the reference (or many: --moving).
    pub moving: Option<PathBuf>,
    /// Subpixel precision of 1/N pixel (1: integer shifts; at most 1000).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub upsample: usize,
    /// hann or none.
    #[arg(long, default_value = "none")]
    pub window: Window,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// auto, cpu or gpu. The GPU computes in f32; cpu computes in f64.
    #[arg(long, default_value = "auto")]
    pub backend: Backend,
    /// Register by masked normalized cross-correlation (scikit-image's
    /// `reference_mask`): pixels where this image or .npy is 0 are ignored. Integer shifts.
    #[arg(long, value_name = "M1")]
    pub reference_mask: Option<PathBuf>,
    /// The moving image's mask (default: the reference mask; needs --reference-mask).
    #[arg(long, value_name = "M2", requires = "reference_mask")]
    pub moving_mask: Option<PathBuf>,
    /// With masks: lags where fewer than R times the largest overlap of valid pixels
    /// overlap score 0 (scikit-image's `overlap_ratio`).
    #[arg(
        long,
        value_name = "R",
        default_value_t = 0.3,
        requires = "reference_mask"
    )]
    pub overlap_ratio: f64,
}

/// What `xcorr match` produced: the text to print and — when `-o` or `--heatmap` asked for
/// it — the score map. Without them a GPU engine reads back only the matches.
pub struct MatchOutput<T> {
    pub text: String,
    pub map: Option<Array<T>>,
    /// The matches, best first.
    pub matches: Vec<Peak>,
}

/// The peak search `args` ask for, checked (callers check it before starting a backend).
pub fn peak_options(args: &MatchArgs, template: Shape) -> Result<PeakOptions> {
    if args.top == 0 {
        return Err(Error::InvalidArgument("--top must be at least 1".into()));
    }
    let min_distance = match args.min_distance {
        Some(d) if !(d.is_finite() && d >= 0.0) => {
            return Err(Error::InvalidArgument(format!(
                "--min-distance must be a non-negative number, got {d}"
            )))
        }
        Some(d) => d,
        None => {
            let [h, w] = template.axes();
            (h.min(w).div_ceil(2)).max(1) as f64
        }
    };
    Ok(PeakOptions {
        count: args.top,
        min_distance,
        distance: Distance::Chebyshev,
        extremum: args.method.extremum(),
        subpixel: true,
    })
}

/// Match `template` in `scene` as `args` say (grey or colour planes, with or without a mask);
/// returns the text to print and the map.
pub fn run_match<'a, T: Sample>(
    engine: &Engine,
    scene: impl Into<Image<'a, T>>,
    template: impl Into<Template<'a, T>>,
    args: &MatchArgs,
) -> Result<MatchOutput<T>> {
    let (scene, template) = (scene.into(), template.into());
    let shape = |x: &Image<'_, T>| x.planes().first().map_or(Shape::d2(0, 0), |p| p.shape());
    let (scene_shape, template_shape) = (shape(&scene), shape(template.image()));
    let options = peak_options(args, template_shape)?;
    let (map, matches) = if args.output.is_some() || args.heatmap.is_some() || args.keep_map {
        let map = match_template(engine, scene, template, args.method)?;
        let matches = peaks::top_k(map.view(), &options);
        (Some(map), matches)
    } else {
        let matches = match_peaks(engine, scene, template, args.method, &options)?;
        (None, matches)
    };
    let text = match_text::<T>(args, scene_shape, template_shape, &matches);
    Ok(MatchOutput { text, map, matches })
}

/// The text `xcorr match` prints for `matches` (see the module docs).
fn match_text<T: Sample>(
    args: &MatchArgs,
    scene: Shape,
    template: Shape,
    matches: &[Peak],
) -> String {
    let score = |p: &Peak| <T as Real>::from_f64(p.score);
    let mut text = String::new();
    if args.json {
        let (s, t) = (scene.dims(), template.dims());
        let shape: Vec<String> = s
            .iter()
            .zip(&t)
            .map(|(s, t)| (s - t + 1).to_string())
            .collect();
        let items: Vec<String> = matches
            .iter()
            .map(|p| {
                let (y, x) = p.position();
                format!(
                    "{{\"row\": {}, \"col\": {}, \"score\": {}, \"position\": [{}, {}]}}",
                    p.row,
                    p.col,
                    json_number(Real::to_f64(score(p))),
                    json_number(y),
                    json_number(x)
                )
            })
            .collect();
        writeln!(
            text,
            "{{\"method\": \"{}\", \"shape\": [{}], \"matches\": [{}]}}",
            args.method,
            shape.join(", "),
            items.join(", ")
        )
        .expect("writing to a String");
    } else {
        for p in matches {
            writeln!(text, "{} {} {}", p.row, p.col, score(p)).expect("writing to a String");
        }
    }
    text
}

/// The map rescaled to `[0, 1]` with the best score at 1 (flipped for `sqdiff*`), for
/// colouring. A constant map becomes all 1.
pub fn heatmap_values<T: Sample>(map: &Array<T>, method: Method) -> Array<f32> {
    let values: Vec<f64> = map.data().iter().map(|&v| Real::to_f64(v)).collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = hi - lo;
    let flip = method.extremum() == peaks::Extremum::Min;
    Array::new(
        values
            .iter()
            .map(|&v| {
                let t = if span > 0.0 { (v - lo) / span } else { 1.0 };
                (if flip && span > 0.0 { 1.0 - t } else { t }) as f32
            })
            .collect(),
        map.shape(),
    )
    .expect("same shape")
}

/// Register `moving` with `reference` as `args` say; returns the text to print and the result.
pub fn run_register<'a, T: Sample>(
    engine: &Engine,
    reference: impl Into<ArrayView<'a, T>>,
    moving: impl Into<ArrayView<'a, T>>,
    args: &RegisterArgs,
) -> Result<(String, Registration)> {
    let options = RegisterOptions {
        upsample: args.upsample,
        window: args.window,
        ..Default::default()
    };
    let found = Registrar::with_engine(engine, reference, &options)?.register(moving)?;
    let (dy, dx) = found.shift;
    let text = if args.json {
        format!(
            "{{\"shift\": [{}, {}], \"error\": {}, \"peak\": {}}}\n",
            json_number(dy),
            json_number(dx),
            json_number(found.error),
            json_number(found.peak)
        )
    } else {
        // Enough decimals for a step of 1/upsample.
        let decimals = (args.upsample as f64).log10().ceil().max(0.0) as usize;
        format!("{:.*} {:.*}\n", decimals, dy + 0.0, decimals, dx + 0.0)
    };
    Ok((text, found))
}

/// Masked registration (`--reference-mask`): the integer shift of the masked normalized
/// cross-correlation; returns the text to print and the result.
pub fn run_register_masked<T: Sample>(
    engine: &Engine,
    reference: &Array<T>,
    moving: &Array<T>,
    reference_mask: &Array<T>,
    moving_mask: Option<&Array<T>>,
    args: &RegisterArgs,
) -> Result<(String, MaskedRegistration)> {
    let found = register_masked(
        engine,
        reference,
        moving,
        reference_mask,
        moving_mask,
        args.overlap_ratio,
    )?;
    let (dy, dx) = found.shift;
    let text = if args.json {
        format!(
            "{{\"shift\": [{}, {}], \"peak\": {}}}\n",
            json_number(dy),
            json_number(dx),
            json_number(found.peak)
        )
    } else {
        format!("{} {}\n", dy + 0.0, dx + 0.0)
    };
    Ok((text, found))
}

/// A finite f64 as a JSON number (shortest round-trip form; `-0` as `0`).
pub fn json_number(v: f64) -> String {
    debug_assert!(v.is_finite());
    format!("{}", v + 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use xcorr::array::Shape;

    #[derive(Parser)]
    enum Cli {
        Match(MatchArgs),
        Register(RegisterArgs),
    }

    fn match_args(extra: &[&str]) -> MatchArgs {
        let mut argv = vec!["xcorr", "match"];
        argv.extend(extra);
        match Cli::try_parse_from(argv).unwrap() {
            Cli::Match(m) => m,
            Cli::Register(_) => unreachable!(),
        }
    }

    #[test]
    fn arguments_parse_with_defaults() {
        let m = match_args(&[]);
        assert_eq!(m.method, Method::CCoeffNormed);
        assert_eq!((m.top, m.min_distance, m.json), (1, None, false));
        assert_eq!(m.backend, Backend::Auto);
        let m = match_args(&[
            "--method",
            "sqdiff",
            "--top",
            "3",
            "--min-distance",
            "4",
            "-o",
            "m.npy",
            "--json",
        ]);
        assert_eq!(m.method, Method::SqDiff);
        assert_eq!((m.top, m.min_distance, m.json), (3, Some(4.0), true));
        assert_eq!(m.output.unwrap(), PathBuf::from("m.npy"));
        assert!(Cli::try_parse_from(["xcorr", "match", "--method", "ncc"]).is_err());
        let Cli::Register(r) = Cli::try_parse_from([
            "xcorr",
            "register",
            "a",
            "b",
            "--upsample",
            "100",
            "--window",
            "hann",
        ])
        .unwrap() else {
            unreachable!()
        };
        assert_eq!((r.upsample, r.window), (100, Window::Hann));
    }

    /// Pseudo-random values in [0, 1).
    fn texture(r: usize, c: usize) -> f32 {
        (((r * 97 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as f32 / 1024.0
    }

    #[test]
    fn match_text_and_json() {
        let scene = Array::from_fn(Shape::d2(20, 20), texture);
        let template = Array::from_fn(Shape::d2(4, 4), |r, c| scene.at(5 + r, 9 + c));
        let engine = Engine::cpu();
        let out = run_match(&engine, &scene, &template, &match_args(&["--top", "2"])).unwrap();
        assert!(out.map.is_none(), "no -o or --heatmap: only the matches");
        let first = out.text.lines().next().unwrap();
        assert!(first.starts_with("5 9 "), "{first}");
        assert_eq!(out.text.lines().count(), 2);
        let out = run_match(
            &engine,
            &scene,
            &template,
            &match_args(&["--json", "-o", "m.npy"]),
        )
        .unwrap();
        assert!(out.text.starts_with("{\"method\": \"ccoeff-normed\", \"shape\": [17, 17], \"matches\": [{\"row\": 5, \"col\": 9, \"score\": "), "{}", out.text);
        let heat = heatmap_values(out.map.as_ref().unwrap(), Method::CCoeffNormed);
        assert_eq!(heat.at(5, 9), 1.0);
    }

    #[test]
    fn register_text_and_json() {
        let a = Array::from_fn(Shape::d2(16, 16), |r, c| texture(r, c) as f64);
        let b = Array::from_fn(Shape::d2(16, 16), |r, c| a.at((r + 14) % 16, (c + 3) % 16));
        let Cli::Register(mut args) =
            Cli::try_parse_from(["xcorr", "register", "a", "b", "--upsample", "100"]).unwrap()
        else {
            unreachable!()
        };
        let (text, _) = run_register(&Engine::cpu(), &a, &b, &args).unwrap();
        assert_eq!(text, "-2.00 3.00\n");
        args.json = true;
        let (text, _) = run_register(&Engine::cpu(), &a, &b, &args).unwrap();
        assert!(
            text.starts_with("{\"shift\": [-2, 3], \"error\": "),
            "{text}"
        );
        assert!(text.contains("\"peak\": "));
    }
}
