//! The `xcorr` command line: correlate or convolve two files, list the backends, run a demo.
//!
//! Every failure prints one line, `xcorr: error: <message>`, on stderr and exits with code 2
//! (clap's usage errors too); nothing is written then, and an existing output is left as it
//! was.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod batch;
mod bench;
mod frames;
mod output;
mod overlay;
mod plot;
mod progress;
mod vision;
use batch::{Batch, BatchArgs, BatchSample};
use output::OutputKind;
use vision::{heatmap_values, peak_options, run_match, run_register, MatchArgs, RegisterArgs};
use xcorr::io::{self, AnyArray};
use xcorr::matching::{Mask, Sample, Template};
use xcorr::spec::{lags, Plan};
use xcorr::{Array, Backend, Element, Engine, Error, Mode, Op, Precision, Result, Shape};

#[derive(Parser)]
#[command(
    name = "xcorr",
    version,
    about = "Cross-correlation and convolution of signals and images through FFTs",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The memory a job may use, e.g. 8G, 512M or a byte count: larger inputs and jobs are
    /// refused before they start, from an estimate. Default: half the physical memory.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// How float64 inputs are computed on a GPU, which computes in float32: auto (float64
    /// work runs on the CPU; an explicit --backend gpu refuses it), single (the GPU computes
    /// it in float32 and the result is still float64) or double (float64 on the CPU, as auto).
    #[arg(long, global = true, value_enum, default_value_t = PrecisionArg::Auto)]
    precision: PrecisionArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PrecisionArg {
    Auto,
    Single,
    Double,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Precision {
        match p {
            PrecisionArg::Auto => Precision::Auto,
            PrecisionArg::Single => Precision::Single,
            PrecisionArg::Double => Precision::Double,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Cross-correlate (or convolve) A with B and write the result to OUT.
    ///
    /// A and B are .npy files or images (PNG, JPEG, TIFF, BMP, GIF; read as grayscale in
    /// [0, 1]). .npy dtypes: bool, uint8, int8, uint16, int16 and float16 are read as float32;
    /// uint32, int32, uint64 and int64 as float64; float32, float64, complex64 and complex128
    /// as they are (either byte order, C or Fortran order). 1-D and 2-D arrays, or 3-D
    /// (rows, cols, C) ones: each channel is correlated alone and OUT is (..., C); both inputs
    /// need the same C. If either input is complex both are treated as complex; if either is
    /// float64 (or an integer type read as float64) the result is float64, else float32.
    /// OUT ends in .npy (the numbers in the result's dtype) or .png (a turbo heatmap;
    /// magnitude for complex results).
    ///
    /// Correlation conjugates B: out[k] = sum_n A[n + k] * conj(B[n]), as numpy and scipy
    /// do, so if A contains B shifted by s the peak is at lag s. The correlation is not
    /// normalised: to find where a crop B sits in A, subtract B's mean first, or bright
    /// regions of A win over the true position.
    Correlate(CorrelateArgs),
    /// Find a template in a scene (OpenCV's matchTemplate methods); prints `row col score`
    /// per match, best first (the template's top-left corner).
    ///
    /// `xcorr match TEMPLATE --scenes DIR|GLOB|FILE...` matches one template in many scenes:
    /// one JSON Lines object per scene (or CSV rows, --csv) on stdout or in -o FILE.
    Match(MatchCommand),
    /// Follow a template through FRAMES (folders, patterns or files, in order); one JSON
    /// Lines object per frame with the best match (or CSV rows, --csv).
    Track(TrackCommand),
    /// Register MOVING with REFERENCE by phase correlation; prints the shift `dy dx` that,
    /// applied to MOVING, aligns it with REFERENCE (scikit-image's sign and order).
    ///
    /// `xcorr register REFERENCE --moving DIR|GLOB|FILE...` registers many frames with one
    /// reference: one JSON Lines object per frame (or CSV rows, --csv).
    Register(RegisterCommand),
    /// List the backends this build and machine offer.
    Info,
    /// Hide a patch in a generated scene and find it again by correlation.
    Demo(DemoArgs),
    /// Time the standard workloads (W1-W6, FFT, RFFT) on random data (fixed seed); print the
    /// median milliseconds per workload and backend.
    ///
    /// W1 same correlation, 1024x1024 image with a 64x64 template; W2 full correlation of
    /// two 2048x2048 images; W3 circular centred correlation, 512x512; W4 template matching
    /// ccoeff-normed, 1024x1024 scene, 64x64 template; W4M the same with a binary disc mask
    /// (OpenCV's masked formulas); W5 tracking, 100 frames of 640x480
    /// with a cached 48x48 template, ccorr-normed; W6 registration of two 1024x1024 images,
    /// upsample 100; FFTn a bare n x n complex FFT; RFFTn a bare n x n real-to-complex FFT
    /// (GPU only). "gpu-resident" rows time the GPU with the data already on the device (no
    /// upload or readback).
    Bench(BenchArgs),
}

#[derive(Args)]
struct MatchCommand {
    /// SCENE TEMPLATE: find TEMPLATE in SCENE (image files or 2-D .npy arrays). With
    /// --scenes: TEMPLATE alone.
    #[arg(value_name = "FILES", num_args = 1..=2, required = true)]
    files: Vec<PathBuf>,
    /// Match TEMPLATE in every scene these name: folders (their image and .npy files),
    /// patterns such as 'frames/*.png' (quote them), or files.
    #[arg(long, value_name = "DIR|GLOB|FILE", num_args = 1..)]
    scenes: Vec<String>,
    #[command(flatten)]
    args: MatchArgs,
    #[command(flatten)]
    batch: BatchArgs,
    /// One scene: draw it with each match as a template-sized rectangle, its rank and score
    /// beside it (.png).
    #[arg(long, value_name = "OUT.png")]
    overlay: Option<PathBuf>,
    /// With --overlay: blend the score map over the scene (best matches brightest).
    #[arg(long, requires = "overlay")]
    overlay_map: bool,
    /// With --scenes: draw each scene as DIR/<scene name>.png with its matches on it.
    #[arg(
        long,
        value_name = "DIR",
        requires = "scenes",
        conflicts_with = "overlay"
    )]
    overlay_dir: Option<PathBuf>,
    /// The colour map of --heatmap and --overlay-map.
    #[arg(long, value_enum, default_value_t = plot::Colormap::Turbo)]
    colormap: plot::Colormap,
}

#[derive(Args)]
struct TrackCommand {
    /// The template: an image file or a 2-D .npy array.
    template: PathBuf,
    /// The frames, in order: folders (their image and .npy files, sorted by name with
    /// numbers by value), patterns such as 'frames/*.png' (quote them), or files.
    #[arg(value_name = "FRAMES", required = true)]
    frames: Vec<String>,
    /// Search only R pixels around the last position (faster; the first frame, and the
    /// one after a frame that failed, are searched whole).
    #[arg(long, value_name = "R")]
    search_window: Option<usize>,
    /// Write each frame as DIR/<frame name>.png with the match drawn on it.
    #[arg(long, value_name = "DIR")]
    overlay_dir: Option<PathBuf>,
    /// With --overlay-dir: draw the path of the track so far.
    #[arg(long, requires = "overlay_dir")]
    trail: bool,
    #[command(flatten)]
    args: MatchArgs,
    #[command(flatten)]
    batch: BatchArgs,
}

#[derive(Args)]
struct RegisterCommand {
    #[command(flatten)]
    args: RegisterArgs,
    /// Register every frame these name with REFERENCE: folders, patterns such as
    /// 'frames/*.png' (quote them), or files.
    #[arg(long = "moving", value_name = "DIR|GLOB|FILE", num_args = 1..)]
    moving_frames: Vec<String>,
    /// With --moving: write the results here (JSON Lines, or CSV for a .csv name or --csv).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    #[command(flatten)]
    batch: BatchArgs,
}

#[derive(Args)]
struct BenchArgs {
    /// Which backends to time: auto (the engine's choice), cpu, gpu, or all.
    #[arg(long, value_enum, default_value_t = BenchBackend::All)]
    backend: BenchBackend,
    /// Print {"device": ..., "results": [{"workload", "backend", "median_ms", "runs"}]}.
    #[arg(long)]
    json: bool,
    /// Only these workloads (e.g. --workload W1 --workload FFT1024).
    #[arg(long = "workload", value_name = "NAME")]
    workloads: Vec<String>,
    /// Stop timing a case after this many seconds of runs (at least 3 runs each).
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchBackend {
    Auto,
    Cpu,
    Gpu,
    All,
}

#[derive(Args)]
struct CorrelateArgs {
    /// First input: .npy or image.
    a: PathBuf,
    /// Second input (the template or kernel): .npy or image.
    b: PathBuf,
    /// Which part of the result to keep (scipy.signal's modes, plus circular).
    #[arg(long, value_enum, default_value_t = ModeArg::Full)]
    mode: ModeArg,
    /// Convolve instead of correlating (flip B, no conjugate).
    #[arg(long)]
    convolve: bool,
    /// With --mode circular: B's origin is its centre element, so the zero lag sits at
    /// B's centre (correlating with a centred impulse returns A).
    #[arg(long, visible_alias = "centred")]
    centered: bool,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
    /// Output file: .npy (the numbers), .png (2-D: a heatmap with axes in lags, a colour
    /// bar and the peak marked; 1-D: a line plot against the lag) or .svg (1-D line plot).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    /// The colour map of .png heatmaps.
    #[arg(long, value_enum, default_value_t = plot::Colormap::Turbo)]
    colormap: plot::Colormap,
}

#[derive(Args)]
struct DemoArgs {
    /// Where to write the heatmap of the correlation (.png, or .npy for the numbers).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT",
        default_value = "xcorr-demo.png"
    )]
    output: PathBuf,
    /// Seed of the generated scene and of where the patch is hidden.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Full,
    Same,
    Valid,
    Circular,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Auto,
    Cpu,
    Gpu,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
        }
    }
}

fn main() -> ExitCode {
    // Only xcorr's own warnings unless RUST_LOG asks for more: wgpu logs failed probes of
    // backends it does not end up using (e.g. OpenGL on a headless machine) as errors.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("xcorr=warn"))
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own text on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!(
                "xcorr: error: {}",
                usage_error_line(&e.render().to_string())
            );
            return ExitCode::from(2);
        }
    };
    let budget = cli.max_memory.unwrap_or_else(default_memory_limit);
    let precision = Precision::from(cli.precision);
    let result = match cli.command {
        Command::Correlate(args) => correlate(args, budget, precision),
        Command::Info => {
            info();
            Ok(())
        }
        Command::Demo(args) => demo(args),
        Command::Bench(args) => bench(args),
        Command::Match(cmd) => match_command(cmd, budget, precision),
        Command::Track(cmd) => track_command(cmd, budget, precision),
        Command::Register(cmd) => register_command(cmd, budget, precision),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the message holds.
            let mut message = e.to_string().replace('\n', " ");
            if matches!(e, Error::Memory { .. }) || message.contains("more than the limit of") {
                message.push_str(" (raise it with --max-memory)");
            }
            eprintln!("xcorr: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `8G`, `512M`, `64k`, `1.5GiB` or a plain byte count (binary units).
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: u64 = match unit
        .trim()
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(format!("unknown unit '{unit}' (use K, M, G or T)")),
    };
    match number.parse::<f64>() {
        Ok(v) if v > 0.0 && (v * scale as f64) < u64::MAX as f64 => Ok((v * scale as f64) as u64),
        _ => Err("expected a positive size such as 8G or 512M".into()),
    }
}

/// Half the physical memory (MemTotal in /proc/meminfo); 4 GiB where that cannot be read.
fn default_memory_limit() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
    total_kib.map_or(4 << 30, |k| k * 1024 / 2)
}

/// Refuse a job whose estimated memory exceeds the budget.
fn check_memory(what: impl FnOnce() -> String, needed: u64, budget: u64) -> Result<()> {
    if needed > budget {
        return Err(Error::Memory {
            what: what(),
            needed,
            allowed: budget,
        });
    }
    Ok(())
}

/// clap's usage error as one line: its first paragraph (which may list missing arguments on
/// the lines after the first) without the `error: ` prefix, then where to look.
fn usage_error_line(rendered: &str) -> String {
    let first: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = first.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (see 'xcorr --help')")
}

/// A real 2-D input as f32, named by its file in errors.
fn read_real_image(path: &Path, budget: u64) -> Result<Array<f32>> {
    read_real_input(path, budget)?.into_f32()
}

/// A real 2-D input in its own precision (float32 or float64), named by its file in errors.
fn read_real_input(path: &Path, budget: u64) -> Result<AnyArray> {
    let what = format!("'{}'", path.display());
    let x = io::read_input_limited(path, budget)?;
    check_finite(&x, &what)?;
    if x.is_complex() {
        // The conversion names what is wrong with it.
        x.to_f64()
            .map_err(|e| Error::InvalidArgument(format!("{what}: {e}")))?;
    }
    if x.shape().ndim() != 2 {
        return Err(Error::Dimensions(format!(
            "{what} must be a 2-D image, got shape {}",
            x.shape()
        )));
    }
    Ok(x)
}

fn match_command(cmd: MatchCommand, budget: u64, precision: Precision) -> Result<()> {
    if !cmd.scenes.is_empty() {
        return match_batch(cmd, budget, precision);
    }
    let [scene_path, template_path] = match cmd.files.as_slice() {
        [s, t] => [s.clone(), t.clone()],
        _ => {
            return Err(Error::InvalidArgument(
                "match takes SCENE TEMPLATE, or TEMPLATE --scenes DIR|GLOB... for many scenes"
                    .into(),
            ))
        }
    };
    let mut args = cmd.args;
    let pictures = Pictures {
        overlay: cmd.overlay,
        overlay_map: cmd.overlay_map,
        colormap: cmd.colormap,
        scene: scene_path.clone(),
    };
    args.keep_map = pictures.overlay_map;
    // Output paths are checked before any work, so a typo costs nothing.
    if let Some(path) = &args.output {
        if output::check_output_path(path)? != OutputKind::Npy {
            return Err(Error::InvalidArgument(format!(
                "-o takes a .npy path for the score map, got '{}' (use --heatmap for .png)",
                path.display()
            )));
        }
    }
    for (flag, path) in [
        ("--heatmap", &args.heatmap),
        ("--overlay", &pictures.overlay),
    ] {
        if let Some(path) = path {
            if output::check_output_path(path)? != OutputKind::Png {
                return Err(Error::InvalidArgument(format!(
                    "{flag} takes a .png path, got '{}'",
                    path.display()
                )));
            }
        }
    }
    if args.mask.is_some() || args.color {
        let paths = [scene_path.as_path(), template_path.as_path()];
        return masked_match_command(paths, &args, &pictures, budget, precision);
    }
    let scene = read_real_input(&scene_path, budget)?;
    let template = read_real_input(&template_path, budget)?;
    // Shapes are checked before a backend starts: a GPU probe is slow and drivers may print.
    let (s, t) = (scene.shape(), template.shape());
    if t.rows() > s.rows() || t.cols() > s.cols() {
        return Err(Error::ShapeMismatch(format!(
            "template {t} ('{}') is larger than the scene {s} ('{}')",
            template_path.display(),
            scene_path.display()
        )));
    }
    peak_options(&args, t)?;
    // The correlation, and as much again for the window sums and the statistics maps.
    let plan = Plan::new(Op::Correlate, Mode::Valid, s, t)?;
    check_memory(
        || format!("matching a {t} template in a {s} scene"),
        plan.memory_bytes::<f32>().saturating_mul(2),
        budget,
    )?;
    let engine = Engine::with_backend(args.backend)?.with_precision(precision);
    if computes_in_f64(scene.is_double() || template.is_double(), args.backend) {
        finish_match(
            &engine,
            &scene.to_f64()?,
            &template.to_f64()?,
            &args,
            &pictures,
        )
    } else {
        finish_match(
            &engine,
            &scene.to_f32()?,
            &template.to_f32()?,
            &args,
            &pictures,
        )
    }
}

/// float64 is matched in f64 (on the CPU: the GPU computes in f32, so only an explicit
/// GPU request narrows it): a small variation on a large offset survives.
fn computes_in_f64(any_input_double: bool, backend: Backend) -> bool {
    any_input_double && backend != Backend::Gpu
}

/// `xcorr match TEMPLATE --scenes ...`.
fn match_batch(cmd: MatchCommand, budget: u64, precision: Precision) -> Result<()> {
    let args = &cmd.args;
    let template_path = match cmd.files.as_slice() {
        [t] => t,
        _ => {
            return Err(Error::InvalidArgument(
                "with --scenes, match takes the TEMPLATE alone".into(),
            ))
        }
    };
    if args.heatmap.is_some() {
        return Err(Error::InvalidArgument(
            "--heatmap draws one scene's map; it does not apply with --scenes".into(),
        ));
    }
    if cmd.overlay.is_some() {
        return Err(Error::InvalidArgument(
            "--overlay draws one scene; with --scenes use --overlay-dir DIR".into(),
        ));
    }
    // Before the scenes are listed and a backend starts: a typo costs nothing.
    if let Some(dir) = &cmd.overlay_dir {
        check_overlay_dir(dir)?;
    }
    let on_scene = || {
        cmd.overlay_dir
            .clone()
            .map(|dir| overlay_writer(dir, Drawing::Matches))
    };
    let batch = Batch::new(
        "match",
        &cmd.scenes,
        args.output.as_deref(),
        &batch_args(&cmd.batch, args.json),
        budget,
    )?;
    let template = read_real_input(template_path, budget)?;
    let options = peak_options(args, template.shape())?;
    let engine = Engine::with_backend(args.backend)?.with_precision(precision);
    if computes_in_f64(template.is_double(), args.backend) {
        batch::match_frames(
            batch,
            &engine,
            f64::from_any(template)?,
            args.method,
            options,
            on_scene(),
        )?;
    } else {
        batch::match_frames(
            batch,
            &engine,
            f32::from_any(template)?,
            args.method,
            options,
            on_scene(),
        )?;
    }
    Ok(())
}

/// `--json` in batch mode means JSON Lines.
fn batch_args(batch: &BatchArgs, json: bool) -> BatchArgs {
    BatchArgs {
        jsonl: batch.jsonl || json,
        ..batch.clone()
    }
}

fn track_command(cmd: TrackCommand, budget: u64, precision: Precision) -> Result<()> {
    let args = &cmd.args;
    if args.top != 1 {
        return Err(Error::InvalidArgument(
            "track follows the best match (--top 1); use match --scenes for several".into(),
        ));
    }
    if args.heatmap.is_some() {
        return Err(Error::InvalidArgument(
            "--heatmap does not apply to track".into(),
        ));
    }
    // Before the frames are listed and a backend starts: a typo costs nothing.
    if let Some(dir) = &cmd.overlay_dir {
        check_overlay_dir(dir)?;
    }
    let batch = Batch::new(
        "track",
        &cmd.frames,
        args.output.as_deref(),
        &batch_args(&cmd.batch, args.json),
        budget,
    )?;
    let template = read_real_input(&cmd.template, budget)?;
    let engine = Engine::with_backend(args.backend)?.with_precision(precision);
    let options = || batch::TrackOptions {
        search_window: cmd.search_window,
        on_frame: cmd
            .overlay_dir
            .clone()
            .map(|dir| overlay_writer(dir, Drawing::Track { trail: cmd.trail })),
    };
    if computes_in_f64(template.is_double(), args.backend) {
        batch::track_frames(
            batch,
            &engine,
            f64::from_any(template)?,
            args.method,
            options(),
        )?;
    } else {
        batch::track_frames(
            batch,
            &engine,
            f32::from_any(template)?,
            args.method,
            options(),
        )?;
    }
    Ok(())
}

/// The pictures `xcorr match` draws of one scene.
struct Pictures {
    overlay: Option<PathBuf>,
    overlay_map: bool,
    colormap: plot::Colormap,
    scene: PathBuf,
}

/// `--overlay-dir` must be a writable folder: checked before any work (a probe file).
fn check_overlay_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::File {
            path: dir.display().to_string(),
            message: "is not a folder (create it first)".into(),
        });
    }
    output::AtomicFile::create(&dir.join("probe.png")).map(drop)
}

/// What a batch's overlay pictures show.
#[derive(Clone, Copy)]
enum Drawing {
    /// `match --scenes`: the scene's matches, ranked.
    Matches,
    /// `track`: the frame's match, and with `trail` the path so far.
    Track { trail: bool },
}

/// Draws each frame of a batch into `dir`, named after the frame's file.
fn overlay_writer(dir: PathBuf, drawing: Drawing) -> batch::FrameDrawer {
    Box::new(move |path, grey, shape, peaks, template| {
        let [rows, cols] = shape.axes();
        let mut canvas = overlay::Canvas::from_scene(Some(path), grey, rows, cols);
        match drawing {
            Drawing::Matches => canvas.draw_matches(peaks, template)?,
            Drawing::Track { trail } => canvas.draw_track(peaks, template, trail)?,
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        output::write_rgb_png(&dir.join(format!("{stem}.png")), &canvas.image)
    })
}

/// Match, write the outputs asked for, print the matches.
fn finish_match<T: Sample>(
    engine: &Engine,
    scene: &Array<T>,
    template: &Array<T>,
    args: &MatchArgs,
    pictures: &Pictures,
) -> Result<()> {
    let found = run_match(engine, scene, template, args)?;
    write_match_outputs(&found, scene, template.shape(), args, pictures)
}

/// Write the outputs `args` and `pictures` ask for, print the matches (`scene`: the grey
/// scene the overlay falls back on when the scene file is no image).
fn write_match_outputs<T: Sample>(
    found: &vision::MatchOutput<T>,
    scene: &Array<T>,
    template: Shape,
    args: &MatchArgs,
    pictures: &Pictures,
) -> Result<()> {
    let peaks: Vec<(usize, usize)> = found.matches.iter().map(|p| (p.row, p.col)).collect();
    if let Some(map) = &found.map {
        if let Some(path) = &args.output {
            output::write_npy(path, map)?;
        }
        if let Some(path) = &args.heatmap {
            let axes = plot::Axes {
                first_row: 0,
                first_col: 0,
                row_label: "scene row (template top)",
                col_label: "scene column (template left)",
                value_label: args.method.name(),
            };
            plot::write_result(path, map, &axes, &peaks, pictures.colormap, false)?;
        }
    }
    if let Some(path) = &pictures.overlay {
        let [rows, cols] = scene.shape().axes();
        let grey = batch::grey(scene);
        let mut canvas = overlay::Canvas::from_scene(Some(&pictures.scene), &grey, rows, cols);
        let t = template.axes();
        if let (true, Some(map)) = (pictures.overlay_map, &found.map) {
            let heat = heatmap_values(map, args.method);
            let [mr, mc] = heat.shape().axes();
            canvas.blend_map(heat.data(), mr, mc, (t[0], t[1]), pictures.colormap);
        }
        canvas.draw_matches(&found.matches, (t[0], t[1]))?;
        output::write_rgb_png(path, &canvas.image)?;
    }
    print!("{}", found.text);
    Ok(())
}

/// An input of a masked or colour match: its planes in f64 (grey, or with `color` every
/// colour channel of an image), the image's alpha plane, and whether it was float64.
struct Planes {
    planes: Vec<Array<f64>>,
    alpha: Option<Array<f64>>,
    double: bool,
}

fn read_planes(path: &Path, budget: u64, color: bool) -> Result<Planes> {
    let widen = |x: &Array<f32>| x.map(|&v| v as f64);
    let is_image = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| io::IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    if !is_image {
        let x = read_real_input(path, budget)?;
        let double = x.is_double();
        return Ok(Planes {
            planes: vec![x.to_f64()?],
            alpha: None,
            double,
        });
    }
    let image = io::read_image_planes_limited(path, budget)?;
    let planes = if color {
        image.colour().iter().map(widen).collect()
    } else {
        vec![widen(&read_real_image(path, budget)?)]
    };
    Ok(Planes {
        planes,
        alpha: image.alpha().map(widen),
        double: false,
    })
}

/// `xcorr match --mask … / --color`: OpenCV's masked and colour formulas.
fn masked_match_command(
    [scene_path, template_path]: [&Path; 2],
    args: &MatchArgs,
    pictures: &Pictures,
    budget: u64,
    precision: Precision,
) -> Result<()> {
    let scene = read_planes(scene_path, budget, args.color)?;
    let template = read_planes(template_path, budget, args.color)?;
    if scene.planes.len() != template.planes.len() {
        return Err(Error::ShapeMismatch(format!(
            "--color: the scene '{}' has {} colour channel(s) and the template '{}' {}: they \
             must have the same",
            scene_path.display(),
            scene.planes.len(),
            template_path.display(),
            template.planes.len()
        )));
    }
    let (s, t) = (scene.planes[0].shape(), template.planes[0].shape());
    if t.rows() > s.rows() || t.cols() > s.cols() {
        return Err(Error::ShapeMismatch(format!(
            "template {t} ('{}') is larger than the scene {s} ('{}')",
            template_path.display(),
            scene_path.display()
        )));
    }
    // The mask: the template's alpha, an image (binary), or a .npy of weights.
    let (mask, binary) = match args.mask.as_deref() {
        None => (None, true),
        Some("alpha") => match &template.alpha {
            Some(alpha) => (Some(vec![alpha.clone()]), true),
            None => {
                return Err(Error::InvalidArgument(format!(
                    "--mask alpha: the template '{}' has no alpha channel",
                    template_path.display()
                )))
            }
        },
        Some(path) => {
            let path = Path::new(path);
            let m = read_planes(path, budget, args.color && template.planes.len() > 1)?;
            let is_npy = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
            (Some(m.planes), !is_npy)
        }
    };
    peak_options(args, t)?;
    // Per channel: the correlations (four spectra) and their f64 copies.
    let plan = Plan::new(Op::Correlate, Mode::Valid, s, t)?;
    check_memory(
        || format!("matching a {t} template in a {s} scene with a mask"),
        plan.memory_bytes::<f64>()
            .saturating_mul(4 * scene.planes.len() as u64),
        budget,
    )?;
    let engine = || Ok(Engine::with_backend(args.backend)?.with_precision(precision));
    if computes_in_f64(scene.double || template.double, args.backend) {
        let mask = template_mask(mask.as_deref(), binary, args)?;
        let template = Template::new(&template.planes, mask.as_ref());
        finish_masked(engine, &scene.planes, template, args, pictures)
    } else {
        let narrow = |x: &[Array<f64>]| x.iter().map(|p| p.map(|&v| v as f32)).collect::<Vec<_>>();
        let mask = template_mask(mask.map(|m| narrow(&m)).as_deref(), binary, args)?;
        let (scene, template) = (narrow(&scene.planes), narrow(&template.planes));
        let template = Template::new(&template, mask.as_ref());
        finish_masked(engine, &scene, template, args, pictures)
    }
}

/// The `--mask` planes as a [`Mask`]: binary (an image's nonzero pixels) or weights (.npy).
fn template_mask<T: Sample>(
    planes: Option<&[Array<T>]>,
    binary: bool,
    args: &MatchArgs,
) -> Result<Option<Mask<T>>> {
    let Some(planes) = planes else {
        return Ok(None);
    };
    let views: Vec<_> = planes.iter().map(Array::view).collect();
    let what = args.mask.as_deref().unwrap_or_default();
    let named = |e: Error| Error::InvalidArgument(format!("--mask {what}: {e}"));
    let mask = if binary {
        Mask::binary(&views)
    } else {
        Mask::weights(&views)
    };
    mask.map(Some).map_err(named)
}

/// Match a checked template; the engine is built only then, so that bad input is refused
/// before a GPU is looked for (whose driver may print to stderr).
fn finish_masked<T: Sample>(
    engine: impl FnOnce() -> Result<Engine>,
    scene: &[Array<T>],
    template: Template<'_, T>,
    args: &MatchArgs,
    pictures: &Pictures,
) -> Result<()> {
    template.validate()?;
    let shape = template.image().planes()[0].shape();
    let found = run_match(&engine()?, scene, template, args)?;
    write_match_outputs(&found, &scene[0], shape, args, pictures)
}

/// `xcorr register --reference-mask`: masked normalized cross-correlation, in f64 unless
/// the GPU was asked for.
fn masked_register_command(
    args: &RegisterArgs,
    moving_path: &Path,
    mask: &Path,
    budget: u64,
    precision: Precision,
) -> Result<()> {
    if !(0.0..=1.0).contains(&args.overlap_ratio) {
        return Err(Error::InvalidArgument(format!(
            "--overlap-ratio must be from 0 to 1, got {}",
            args.overlap_ratio
        )));
    }
    let read = |p: &Path| -> Result<Array<f64>> { read_real_input(p, budget)?.to_f64() };
    let reference = read(&args.reference)?;
    let moving = read(moving_path)?;
    let reference_mask = read(mask)?;
    let moving_mask = args.moving_mask.as_deref().map(read).transpose()?;
    let named = |what: &str, m: &Array<f64>, image: &Array<f64>, path: &Path| -> Result<()> {
        if m.shape() != image.shape() {
            return Err(Error::ShapeMismatch(format!(
                "the {what} mask '{}' has shape {}, the image {}: they must match",
                path.display(),
                m.shape(),
                image.shape()
            )));
        }
        Ok(())
    };
    named("reference", &reference_mask, &reference, mask)?;
    match (&moving_mask, &args.moving_mask) {
        (Some(m), Some(path)) => named("moving", m, &moving, path)?,
        _ if moving.shape() != reference.shape() => {
            return Err(Error::ShapeMismatch(format!(
                "without --moving-mask the images must have one shape, got {} ('{}') and {} ('{}')",
                reference.shape(),
                args.reference.display(),
                moving.shape(),
                moving_path.display()
            )))
        }
        _ => {}
    }
    // Six full-size correlations and their f64 copies.
    let plan = Plan::new(Op::Correlate, Mode::Full, reference.shape(), moving.shape())?;
    check_memory(
        || {
            format!(
                "registering {} and {} with masks",
                reference.shape(),
                moving.shape()
            )
        },
        plan.memory_bytes::<f64>().saturating_mul(8),
        budget,
    )?;
    let engine = Engine::with_backend(args.backend)?.with_precision(precision);
    let text = if args.backend == Backend::Gpu {
        let narrow = |x: &Array<f64>| x.map(|&v| v as f32);
        let moving_mask = moving_mask.as_ref().map(narrow);
        vision::run_register_masked(
            &engine,
            &narrow(&reference),
            &narrow(&moving),
            &narrow(&reference_mask),
            moving_mask.as_ref(),
            args,
        )?
        .0
    } else {
        vision::run_register_masked(
            &engine,
            &reference,
            &moving,
            &reference_mask,
            moving_mask.as_ref(),
            args,
        )?
        .0
    };
    print!("{text}");
    Ok(())
}

fn register_command(cmd: RegisterCommand, budget: u64, precision: Precision) -> Result<()> {
    let args = &cmd.args;
    let moving_path = match (&args.moving, cmd.moving_frames.is_empty()) {
        (Some(path), true) => path.clone(),
        (None, false) => return register_batch(&cmd, budget, precision),
        (Some(_), false) => {
            return Err(Error::InvalidArgument(
                "register takes MOVING or --moving DIR|GLOB..., not both".into(),
            ))
        }
        (None, true) => {
            return Err(Error::InvalidArgument(
                "register needs MOVING (or --moving DIR|GLOB... for many frames)".into(),
            ))
        }
    };
    if cmd.output.is_some() {
        return Err(Error::InvalidArgument(
            "-o writes a batch's results; it applies with --moving".into(),
        ));
    }
    if let Some(mask) = &args.reference_mask {
        return masked_register_command(args, &moving_path, mask, budget, precision);
    }
    let reference = read_real_image(&args.reference, budget)?;
    let moving = read_real_image(&moving_path, budget)?;
    if reference.shape() != moving.shape() {
        return Err(Error::ShapeMismatch(format!(
            "register needs images of one shape, got {} ('{}') and {} ('{}')",
            reference.shape(),
            args.reference.display(),
            moving.shape(),
            moving_path.display()
        )));
    }
    xcorr::RegisterOptions {
        upsample: args.upsample,
        ..Default::default()
    }
    .check()?;
    // Both spectra in complex f64, and the upsampled grid (and its copy) of ⌈1.5·u⌉² points.
    let shape = reference.shape();
    let plan = Plan::new(Op::Correlate, Mode::CIRCULAR, shape, shape)?;
    let region = (3 * args.upsample.min(xcorr::registration::MAX_UPSAMPLE) as u64).div_ceil(2);
    check_memory(
        || format!("registering two {shape} images"),
        plan.memory_bytes::<num_complex::Complex<f64>>()
            .saturating_add(2 * 16 * region * region),
        budget,
    )?;
    let engine = Engine::with_backend(args.backend)?.with_precision(precision);
    let (text, _) = run_register(&engine, &reference, &moving, args)?;
    print!("{text}");
    Ok(())
}

/// `xcorr register REFERENCE --moving ...`.
fn register_batch(cmd: &RegisterCommand, budget: u64, precision: Precision) -> Result<()> {
    let args = &cmd.args;
    let options = xcorr::RegisterOptions {
        upsample: args.upsample,
        window: args.window,
        ..Default::default()
    };
    options.check()?;
    if args.reference_mask.is_some() {
        return Err(Error::InvalidArgument(
            "--reference-mask registers one pair: give MOVING, not --moving".into(),
        ));
    }
    let batch = Batch::new(
        "register",
        &cmd.moving_frames,
        cmd.output.as_deref(),
        &batch_args(&cmd.batch, args.json),
        budget,
    )?;
    let reference = read_real_image(&args.reference, budget)?;
    let engine = Engine::with_backend(args.backend)?.with_precision(precision);
    batch::register_frames(batch, &engine, reference, &options)?;
    Ok(())
}

fn bench(args: BenchArgs) -> Result<()> {
    use bench::{Budget, WORKLOADS};
    for w in &args.workloads {
        if !WORKLOADS.contains(&w.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "unknown workload '{w}' (expected one of {})",
                WORKLOADS.join(", ")
            )));
        }
    }
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        return Err(Error::InvalidArgument(
            "--seconds must be a positive number".into(),
        ));
    }
    let engines = match args.backend {
        BenchBackend::Auto => vec![Engine::new()],
        BenchBackend::Cpu => vec![Engine::cpu()],
        BenchBackend::Gpu => vec![Engine::with_backend(Backend::Gpu)?],
        BenchBackend::All => {
            let mut engines = vec![Engine::cpu()];
            match Engine::with_backend(Backend::Gpu) {
                Ok(gpu) => engines.push(gpu),
                Err(e) => eprintln!("xcorr: bench: no GPU ({e}); timing the CPU only"),
            }
            engines
        }
    };
    let device = engines
        .iter()
        .map(|e| e.backend_name())
        .collect::<Vec<_>>()
        .join("; ");
    let workloads: Vec<&str> = if args.workloads.is_empty() {
        WORKLOADS.to_vec()
    } else {
        args.workloads.iter().map(String::as_str).collect()
    };
    let budget = Budget {
        time: std::time::Duration::from_secs_f64(args.seconds),
        ..Budget::default()
    };
    if !args.json {
        println!("device: {device}");
        println!(
            "{:<9} {:<13} {:>12} {:>5}",
            "workload", "backend", "median ms", "runs"
        );
    }
    let json = args.json;
    let results = bench::run(&engines, &workloads, budget, |m| {
        if !json {
            println!(
                "{:<9} {:<13} {:>12.3} {:>5}",
                m.workload, m.backend, m.median_ms, m.runs
            );
        }
    })?;
    if json {
        println!("{}", bench::to_json(&device, &results));
    }
    Ok(())
}

fn info() {
    println!("xcorr {}", env!("CARGO_PKG_VERSION"));
    println!("backends:");
    for line in Engine::available_backends() {
        println!("  {line}");
    }
    let auto = Engine::new();
    match auto.fallback_reason() {
        Some(why) => println!("auto (the default) uses: {} ({why})", auto.backend_name()),
        None => println!("auto (the default) uses: {}", auto.backend_name()),
    }
}

// ---------------------------------------------------------------------------------------------
// correlate

fn correlate(args: CorrelateArgs, budget: u64, precision: Precision) -> Result<()> {
    let mode = match (args.mode, args.centered) {
        (ModeArg::Full, false) => Mode::Full,
        (ModeArg::Same, false) => Mode::Same,
        (ModeArg::Valid, false) => Mode::Valid,
        (ModeArg::Circular, centred) => Mode::Circular { centred },
        (_, true) => {
            return Err(Error::InvalidArgument(
                "--centered only applies to --mode circular".into(),
            ))
        }
    };
    let op = if args.convolve {
        Op::Convolve
    } else {
        Op::Correlate
    };
    // Everything that can be checked cheaply is checked before the inputs are read, and the
    // inputs before a backend is started: probing for a GPU is slow, and graphics drivers
    // may print their own lines on stderr while it runs.
    let kind = output::check_output_path(&args.output)?;
    let a = io::read_input_planes_limited(&args.a, budget)?;
    let b = io::read_input_planes_limited(&args.b, budget)?;
    let what_a = format!("first input '{}'", args.a.display());
    let what_b = format!("second input '{}'", args.b.display());
    let channels = match (a.channels(), b.channels()) {
        (None, None) => None,
        (Some(ca), Some(cb)) if ca == cb => Some(ca),
        _ => {
            return Err(Error::ShapeMismatch(format!(
                "the {what_a} has shape {} and the {what_b} {}: correlating channels needs \
                 both inputs 3-D (rows, cols, channels) with the same number of channels",
                a.describe_shape(),
                b.describe_shape()
            )))
        }
    };
    if channels.is_some() && kind == OutputKind::Png {
        return Err(Error::InvalidArgument(format!(
            "a result with {} channels cannot be drawn as one .png heatmap; write .npy",
            channels.unwrap_or(0)
        )));
    }
    for plane in a.planes() {
        check_finite(plane, &what_a)?;
    }
    for plane in b.planes() {
        check_finite(plane, &what_b)?;
    }
    let (shape_a, shape_b) = (a.planes()[0].shape(), b.planes()[0].shape());
    let plan = Plan::new(op, mode, shape_a, shape_b)?;
    let complex = a.planes()[0].is_complex() || b.planes()[0].is_complex();
    let double = a.planes()[0].is_double() || b.planes()[0].is_double();
    let needed = match (complex, double) {
        (false, false) => job_memory::<f32>(&plan, channels),
        (false, true) => job_memory::<f64>(&plan, channels),
        (true, false) => job_memory::<num_complex::Complex<f32>>(&plan, channels),
        (true, true) => job_memory::<num_complex::Complex<f64>>(&plan, channels),
    };
    check_memory(
        || {
            format!(
                "{op_name} {} x {}",
                a.describe_shape(),
                b.describe_shape(),
                op_name = match op {
                    Op::Correlate => "correlating",
                    Op::Convolve => "convolving",
                }
            )
        },
        needed,
        budget,
    )?;
    let engine = Engine::with_backend(args.backend.into())?.with_precision(precision);

    let job = Job {
        engine: &engine,
        op,
        mode,
        out: &args.output,
        kind,
        channels,
        colormap: args.colormap,
    };
    let (a, b) = (a.into_planes(), b.into_planes());
    let summary = match (complex, double) {
        (false, false) => job.run(
            &convert(a, AnyArray::into_f32)?,
            &convert(b, AnyArray::into_f32)?,
        ),
        (false, true) => job.run(
            &convert(a, AnyArray::into_f64)?,
            &convert(b, AnyArray::into_f64)?,
        ),
        (true, false) => job.run(
            &convert(a, |x| Ok(x.to_c32()))?,
            &convert(b, |x| Ok(x.to_c32()))?,
        ),
        (true, true) => job.run(
            &convert(a, |x| Ok(x.to_c64()))?,
            &convert(b, |x| Ok(x.to_c64()))?,
        ),
    }
    .map_err(|e| name_inputs(e, &what_a, &what_b))?;
    println!("{summary}");
    Ok(())
}

/// The memory of a job on `T`: the plan's, and every further channel's inputs and output.
fn job_memory<T: Element>(plan: &Plan, channels: Option<usize>) -> u64 {
    let per_channel = [plan.a, plan.b, plan.out]
        .iter()
        .map(|s| s.len() as u64)
        .sum::<u64>()
        .saturating_mul(std::mem::size_of::<T>() as u64);
    let more = channels.unwrap_or(1).saturating_sub(1) as u64;
    plan.memory_bytes::<T>()
        .saturating_add(more.saturating_mul(per_channel))
}

/// Every plane as `T`.
fn convert<T: Element>(
    planes: Vec<AnyArray>,
    to: impl Fn(AnyArray) -> Result<Array<T>>,
) -> Result<Vec<Array<T>>> {
    planes.into_iter().map(to).collect()
}

/// Refuse NaN and infinities, naming the file and the index.
fn check_finite(x: &AnyArray, what: &str) -> Result<()> {
    match x {
        AnyArray::F32(a) => a.view().validate(what),
        AnyArray::F64(a) => a.view().validate(what),
        AnyArray::C32(a) => a.view().validate(what),
        AnyArray::C64(a) => a.view().validate(what),
    }
}

/// The engine names its inputs "first input" and "second input"; say which files those are.
fn name_inputs(e: Error, what_a: &str, what_b: &str) -> Error {
    let rename = |what: String| match what.as_str() {
        "first input" => what_a.to_string(),
        "second input" => what_b.to_string(),
        _ => what,
    };
    match e {
        Error::NonFinite { what, value, index } => Error::NonFinite {
            what: rename(what),
            value,
            index,
        },
        Error::Empty { what, shape } => Error::Empty {
            what: rename(what),
            shape,
        },
        other => other,
    }
}

struct Job<'p> {
    engine: &'p Engine,
    op: Op,
    mode: Mode,
    out: &'p Path,
    kind: OutputKind,
    /// The inputs' channels, when they have any (one plane per channel).
    channels: Option<usize>,
    colormap: plot::Colormap,
}

impl Job<'_> {
    /// Compute each plane (channel), write, and describe what was done in one line.
    fn run<T: Element>(&self, a: &[Array<T>], b: &[Array<T>]) -> Result<String> {
        let outs = a
            .iter()
            .zip(b)
            .map(|(a, b)| self.engine.compute(self.op, a, b, self.mode))
            .collect::<Result<Vec<_>>>()?;
        // The peak over every channel; the first channel wins a tie.
        let (channel, (index, score)) = outs.iter().map(peak).enumerate().fold(
            (0, ((0, 0), f64::NEG_INFINITY)),
            |best, (k, p)| {
                if p.1 > best.1 .1 {
                    (k, p)
                } else {
                    best
                }
            },
        );
        let lag_name = match self.op {
            Op::Correlate => "lag",
            Op::Convolve => "sum index",
        };
        let (shape_a, shape_b) = (a[0].shape(), b[0].shape());
        let axis_lags = lags(self.op, self.mode, shape_a, shape_b)?;
        // Pictures show one plane: results with channels are written only as .npy.
        let out = &outs[0];
        let (row_label, col_label) = match (self.op, out.shape().ndim()) {
            (Op::Correlate, 1) => ("", "lag"),
            (Op::Correlate, _) => ("row lag", "column lag"),
            (Op::Convolve, 1) => ("", "sum index"),
            (Op::Convolve, _) => ("row sum index", "column sum index"),
        };
        let axes = plot::Axes {
            first_row: if out.shape().ndim() == 1 {
                0
            } else {
                axis_lags[0][0] as i64
            },
            first_col: axis_lags[axis_lags.len() - 1][0] as i64,
            row_label,
            col_label,
            value_label: self_op_name(self.op),
        };
        match (self.kind, self.channels) {
            (OutputKind::Npy, None) => output::write_npy(self.out, out)?,
            (OutputKind::Npy, Some(_)) => output::write_npy_planes(self.out, &outs)?,
            (OutputKind::Png | OutputKind::Svg, _) => plot::write_result(
                self.out,
                out,
                &axes,
                &[index],
                self.colormap,
                self.kind == OutputKind::Svg,
            )?,
        }
        let plot_kind = if out.shape().ndim() == 1 {
            "line plot"
        } else {
            "heatmap"
        };
        let what = match self.kind {
            OutputKind::Npy => npy_dtype::<T>().to_string(),
            OutputKind::Png | OutputKind::Svg if T::IS_COMPLEX => {
                format!("{plot_kind} of |result|")
            }
            OutputKind::Png | OutputKind::Svg => plot_kind.to_string(),
        };
        let (at, lag) = if out.shape().ndim() == 1 {
            (
                format!("[{}]", index.1),
                format!("{}", axis_lags[0][index.1]),
            )
        } else {
            (
                format!("[{}, {}]", index.0, index.1),
                format!("({}, {})", axis_lags[0][index.0], axis_lags[1][index.1]),
            )
        };
        let op_name = match self.op {
            Op::Correlate => "correlate",
            Op::Convolve => "convolve",
        };
        let peak_name = if T::IS_COMPLEX {
            "peak |value|"
        } else {
            "peak"
        };
        let with_channels = |shape: Shape| match self.channels {
            None => shape.to_string(),
            Some(c) => {
                let dims = shape.dims();
                let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                format!("({}, {c})", dims.join(", "))
            }
        };
        let (at, in_channel) = match self.channels {
            None => (at, String::new()),
            Some(c) => (
                at,
                format!(" of channel {channel} (of {c}, each correlated alone)"),
            ),
        };
        let computed_in = if self.engine.runs_on_gpu::<T>() {
            "float32"
        } else {
            <T::Real as xcorr::Real>::NAME
        };
        Ok(format!(
            "wrote {} ({what}, shape {}): {op_name} {} {} x {} in {computed_in} on {}; {peak_name} {} at {at}{in_channel}, {lag_name} {lag}",
            self.out.display(),
            with_channels(outs[0].shape()),
            self.mode,
            with_channels(shape_a),
            with_channels(shape_b),
            backend_used::<T>(self.engine),
            format_score(score),
        ))
    }
}

/// What a result's values are called on a plot.
fn self_op_name(op: Op) -> &'static str {
    match op {
        Op::Correlate => "correlation",
        Op::Convolve => "convolution",
    }
}

/// The numpy name of `T`, as the result is written.
fn npy_dtype<T: Element>() -> &'static str {
    match (T::IS_COMPLEX, std::mem::size_of::<T::Real>()) {
        (false, 4) => "float32",
        (false, _) => "float64",
        (true, 4) => "complex64",
        (true, _) => "complex128",
    }
}

/// Where `compute::<T>` ran. The GPU computes in f32: an auto engine that found a GPU still
/// sends f64 work to the CPU unless `--precision single` lets the GPU take it.
fn backend_used<T: Element>(engine: &Engine) -> String {
    if !engine.is_cpu() && !engine.runs_on_gpu::<T>() {
        format!(
            "{}, as the GPU computes in float32 (--precision single runs float64 there)",
            Engine::cpu().backend_name()
        )
    } else {
        engine.backend_name()
    }
}

/// The largest value (real results) or magnitude (complex results): `((row, col), score)`.
/// The first one wins a tie.
fn peak<T: Element>(out: &Array<T>) -> ((usize, usize), f64) {
    let (row, col) = plot::best_index(out);
    let v = out.data()[row * out.shape().cols() + col];
    let score = if T::IS_COMPLEX {
        v.abs_f64()
    } else {
        xcorr::Real::to_f64(v.to_complex().re)
    };
    ((row, col), score)
}

fn format_score(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

// ---------------------------------------------------------------------------------------------
// demo

const SCENE: usize = 256;
const PATCH: usize = 32;

/// Generate a smooth random scene, paste a patch of finer-grained texture into it at a
/// seeded spot, and find the patch again: zero-mean both, correlate in `valid` mode, take
/// the argmax. The patch has the scene's brightness and contrast, so it does not stand out
/// by level, only by its texture, which is what the correlation matches.
fn demo(args: DemoArgs) -> Result<()> {
    output::check_output_path(&args.output)?;
    let engine = Engine::with_backend(args.backend.into())?;
    let mut rng = SplitMix64(args.seed);

    let mut scene = normalised(box_blur(noise(&mut rng, SCENE, SCENE), SCENE, SCENE, 4, 3));
    let patch = normalised(box_blur(noise(&mut rng, PATCH, PATCH), PATCH, PATCH, 1, 1));
    let span = (SCENE - PATCH + 1) as u64;
    let hidden = ((rng.next() % span) as usize, (rng.next() % span) as usize);
    for r in 0..PATCH {
        for c in 0..PATCH {
            scene[(hidden.0 + r) * SCENE + c + hidden.1] = patch[r * PATCH + c];
        }
    }
    println!(
        "scene: {SCENE}x{SCENE} smooth random texture (seed {}); hid a {PATCH}x{PATCH} patch of \
         finer texture with its top-left corner at row {}, col {}",
        args.seed, hidden.0, hidden.1
    );

    let scene = Array::new(zero_mean(scene), Shape::d2(SCENE, SCENE))?;
    let template = Array::new(zero_mean(patch), Shape::d2(PATCH, PATCH))?;
    let out = engine.correlate(&scene, &template, Mode::Valid)?;
    let ((row, col), score) = peak(&out);
    // Valid mode with the scene first: output index (r, c) is lag (r, c), the template's
    // top-left corner in the scene.
    let axis_lags = lags(Op::Correlate, Mode::Valid, scene.shape(), template.shape())?;
    let found = (axis_lags[0][row] as usize, axis_lags[1][col] as usize);
    let runner_up = best_outside(&out, (row, col), PATCH);
    println!(
        "found it at row {}, col {} (correlation {}, best elsewhere {}) on {}",
        found.0,
        found.1,
        format_score(score),
        format_score(runner_up),
        engine.backend_name()
    );
    if found != hidden {
        return Err(Error::InvalidArgument(format!(
            "demo failed: the patch was hidden at {hidden:?} but found at {found:?}"
        )));
    }
    output::write_output(&args.output, &out)?;
    println!(
        "wrote {} ({} correlation map)",
        args.output.display(),
        out.shape()
    );
    Ok(())
}

/// The largest value farther than `radius` (on either axis) from `at`.
fn best_outside(out: &Array<f32>, at: (usize, usize), radius: usize) -> f64 {
    let cols = out.shape().cols();
    out.data()
        .iter()
        .enumerate()
        .filter(|(i, _)| (i / cols).abs_diff(at.0) > radius || (i % cols).abs_diff(at.1) > radius)
        .map(|(_, &v)| v as f64)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// A small, fast, seedable generator (SplitMix64): the demo needs no dependency for this.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn noise(rng: &mut SplitMix64, rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols).map(|_| rng.uniform()).collect()
}

/// `passes` box blurs of half-width `radius` along both axes, wrapping at the edges (so the
/// texture has the same statistics everywhere).
fn box_blur(mut v: Vec<f32>, rows: usize, cols: usize, radius: usize, passes: usize) -> Vec<f32> {
    let width = (2 * radius + 1) as f32;
    for _ in 0..passes {
        let mut h = vec![0.0; v.len()];
        for r in 0..rows {
            for c in 0..cols {
                let s: f32 = (0..=2 * radius)
                    .map(|k| v[r * cols + (c + cols + k - radius) % cols])
                    .sum();
                h[r * cols + c] = s / width;
            }
        }
        for r in 0..rows {
            for c in 0..cols {
                let s: f32 = (0..=2 * radius)
                    .map(|k| h[((r + rows + k - radius) % rows) * cols + c])
                    .sum();
                v[r * cols + c] = s / width;
            }
        }
    }
    v
}

/// Scaled into [0, 1] like an image.
fn normalised(v: Vec<f32>) -> Vec<f32> {
    let (lo, hi) = v
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    v.into_iter().map(|x| (x - lo) / (hi - lo)).collect()
}

fn zero_mean(v: Vec<f32>) -> Vec<f32> {
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    v.into_iter().map(|x| x - mean as f32).collect()
}
