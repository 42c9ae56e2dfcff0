//! Batch mode: one template (or reference) against many frames — `xcorr match TEMPLATE
//! --scenes ...`, `xcorr track TEMPLATE FRAMES...`, `xcorr register REF --moving ...`.
//!
//! The template's spectrum is built once per frame shape ([`Tracker`]; the reference's by a
//! [`Registrar`]); frames are decoded ahead on other threads ([`crate::frames`]); each frame's
//! result is written as soon as it is known, as one JSON Lines object or CSV rows, to stdout
//! or atomically to `-o FILE`. A frame that cannot be read or matched is reported on stderr
//! by name and skipped (`--strict`: the batch stops, exit 2, and `-o` is not written).
//!
//! # Output
//!
//! JSON Lines, one object per frame that succeeded (positions are the template's top-left
//! corner; `position` is refined to subpixel precision):
//!
//! ```json
//! {"frame": 0, "file": "f/0001.png", "matches": [{"row": 50, "col": 61, "score": 0.98, "position": [50.1, 60.9]}], "decode_ms": 1.2, "compute_ms": 3.4}
//! {"frame": 0, "file": "f/0001.png", "shift": [1.5, -2], "error": 0.1, "peak": 0.9, "decode_ms": 1.2, "compute_ms": 3.4}
//! ```
//!
//! CSV: a header, then one row per match (`frame,file,rank,row,col,y,x,score,decode_ms,
//! compute_ms`) or per registered frame (`frame,file,dy,dx,error,peak,decode_ms,compute_ms`).

use crate::frames::{decode_ahead, expand_inputs};
use crate::output::{AtomicFile, OutputKind};
use crate::progress::Progress;
use crate::vision::json_number;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xcorr::io::AnyArray;
use xcorr::matching::{Method, Sample, Tracker};
use xcorr::peaks::{self, Peak, PeakOptions};
use xcorr::registration::{RegisterOptions, Registrar, Registration};
use xcorr::{Array, Engine, Error, Result, Shape};

/// The options every batch command shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BatchArgs {
    /// Write results as JSON Lines, one object per frame (the default; also --json).
    #[arg(long, conflicts_with = "csv")]
    pub jsonl: bool,
    /// Write results as CSV, one row per match.
    #[arg(long)]
    pub csv: bool,
    /// Stop at the first frame that cannot be read or matched (exit 2, -o left unwritten)
    /// instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// No progress bar and no summary line (failures are still reported).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Frames decoded ahead of the engine: enough for both cores, and a little slack.
const LOOKAHEAD: usize = 4;
/// Trackers kept for frames of different shapes before the cache is emptied.
const TRACKER_CACHE: usize = 8;

/// The precisions a batch computes in (f32, or f64 as the single-pair commands choose).
pub trait BatchSample: Sample {
    fn from_any(array: AnyArray) -> Result<Array<Self>>;
}

impl BatchSample for f32 {
    fn from_any(array: AnyArray) -> Result<Array<f32>> {
        array.into_f32()
    }
}

impl BatchSample for f64 {
    fn from_any(array: AnyArray) -> Result<Array<f64>> {
        array.into_f64()
    }
}

/// What one frame gave.
pub enum FrameResult {
    /// Matches, best first, in frame coordinates.
    Matches(Vec<Peak>),
    /// A registration.
    Shift(Registration),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Csv,
}

/// Where results go, line by line: stdout (flushed per frame, so a pipe sees them at once)
/// or a file written atomically.
pub struct ResultSink {
    format: Format,
    file: Option<AtomicFile>,
    header_written: bool,
}

impl ResultSink {
    /// Check `-o` and the format flags and open the output before any work: an unwritable
    /// directory fails here, with nothing computed and nothing written.
    pub fn open(output: Option<&Path>, args: &BatchArgs) -> Result<ResultSink> {
        let by_extension = output.and_then(xcorr::io::extension);
        let format = if args.csv || (!args.jsonl && by_extension.as_deref() == Some("csv")) {
            Format::Csv
        } else {
            Format::JsonLines
        };
        let file = match output {
            Some(path) => {
                if path.is_dir() {
                    return Err(crate::output::file_error(
                        path,
                        "is a directory, not a file",
                    ));
                }
                Some(AtomicFile::create(path)?)
            }
            None => None,
        };
        Ok(ResultSink {
            format,
            file,
            header_written: false,
        })
    }

    fn write(
        &mut self,
        index: usize,
        path: &Path,
        result: &FrameResult,
        timings: (f64, f64),
    ) -> Result<()> {
        let mut text = String::new();
        if self.format == Format::Csv && !self.header_written {
            text.push_str(match result {
                FrameResult::Matches(_) => {
                    "frame,file,rank,row,col,y,x,score,decode_ms,compute_ms\n"
                }
                FrameResult::Shift(_) => "frame,file,dy,dx,error,peak,decode_ms,compute_ms\n",
            });
            self.header_written = true;
        }
        let (decode, compute) = (ms(timings.0), ms(timings.1));
        let name = path.display().to_string();
        match (self.format, result) {
            (Format::JsonLines, FrameResult::Matches(found)) => {
                let items: Vec<String> = found.iter().map(match_json).collect();
                text.push_str(&format!(
                    "{{\"frame\": {index}, \"file\": {}, \"matches\": [{}], \"decode_ms\": {decode}, \"compute_ms\": {compute}}}\n",
                    json_string(&name),
                    items.join(", ")
                ));
            }
            (Format::JsonLines, FrameResult::Shift(r)) => text.push_str(&format!(
                "{{\"frame\": {index}, \"file\": {}, \"shift\": [{}, {}], \"error\": {}, \"peak\": {}, \"decode_ms\": {decode}, \"compute_ms\": {compute}}}\n",
                json_string(&name),
                json_number(r.shift.0),
                json_number(r.shift.1),
                json_number(r.error),
                json_number(r.peak)
            )),
            (Format::Csv, FrameResult::Matches(found)) => {
                for (rank, p) in found.iter().enumerate() {
                    let (y, x) = p.position();
                    text.push_str(&format!(
                        "{index},{},{},{},{},{},{},{},{decode},{compute}\n",
                        csv_field(&name),
                        rank + 1,
                        p.row,
                        p.col,
                        json_number(y),
                        json_number(x),
                        json_number(p.score)
                    ));
                }
            }
            (Format::Csv, FrameResult::Shift(r)) => text.push_str(&format!(
                "{index},{},{},{},{},{},{decode},{compute}\n",
                csv_field(&name),
                json_number(r.shift.0),
                json_number(r.shift.1),
                json_number(r.error),
                json_number(r.peak)
            )),
        }
        match &mut self.file {
            Some(file) => {
                let written = file.writer().write_all(text.as_bytes());
                written.map_err(|e| file.write_error(&e))
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::File {
                        path: "<stdout>".into(),
                        message: format!("cannot write: {}", xcorr::io::io_message(&e)),
                    })
            }
        }
    }

    /// Put the results file in place (nothing to do for stdout).
    fn commit(self) -> Result<()> {
        match self.file {
            Some(file) => file.commit(),
            None => Ok(()),
        }
    }
}

/// Milliseconds with two decimals, as a JSON/CSV number.
fn ms(v: f64) -> String {
    format!("{:.2}", v)
}

fn match_json(p: &Peak) -> String {
    let (y, x) = p.position();
    format!(
        "{{\"row\": {}, \"col\": {}, \"score\": {}, \"position\": [{}, {}]}}",
        p.row,
        p.col,
        json_number(p.score),
        json_number(y),
        json_number(x)
    )
}

/// A JSON string literal (file names may hold quotes, backslashes or control characters).
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A batch ready to run: the frames' files, where results go, what to tell the user.
pub struct Batch {
    pub command: &'static str,
    pub frames: Vec<PathBuf>,
    pub sink: ResultSink,
    pub args: BatchArgs,
    pub budget: u64,
}

impl Batch {
    /// Expand the inputs and open the output: every check that needs no frame.
    pub fn new(
        command: &'static str,
        inputs: &[String],
        output: Option<&Path>,
        args: &BatchArgs,
        budget: u64,
    ) -> Result<Batch> {
        if inputs.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{command}: no frames given"
            )));
        }
        if let Some(path) = output {
            if let Ok(OutputKind::Npy | OutputKind::Png) = crate::output::check_output_path(path) {
                return Err(Error::InvalidArgument(format!(
                    "-o takes the results file in batch mode (.jsonl or .csv), got '{}'",
                    path.display()
                )));
            }
        }
        let frames = expand_inputs(inputs)?;
        let sink = ResultSink::open(output, args)?;
        Ok(Batch {
            command,
            frames,
            sink,
            args: args.clone(),
            budget,
        })
    }

    /// Decode every frame ahead and hand it to `process`; write what it returns. Returns the
    /// number of frames that failed. Fails if every frame failed (nothing could be done) or,
    /// with `--strict`, at the first failure; `-o` is then not written.
    pub fn run<T: BatchSample>(
        mut self,
        engine: &Engine,
        mut process: impl FnMut(&Path, &Array<T>) -> Result<FrameResult>,
    ) -> Result<usize> {
        let total = self.frames.len();
        let budget = self.budget;
        let progress = Progress::new(total, self.args.quiet);
        let decoded = decode_ahead(std::mem::take(&mut self.frames), LOOKAHEAD, move |path| {
            T::from_any(crate::read_real_input(path, budget)?)
        });
        let mut failed = 0;
        for d in decoded {
            let start = Instant::now();
            let result = d.frame.and_then(|frame| process(&d.path, &frame));
            let compute_ms = start.elapsed().as_secs_f64() * 1e3;
            progress.step();
            match result {
                Ok(result) => {
                    self.sink
                        .write(d.index, &d.path, &result, (d.decode_ms, compute_ms))?
                }
                Err(e) => {
                    let message = e.to_string().replace('\n', " ");
                    let name = d.path.display();
                    if self.args.strict {
                        progress.finish(
                            self.command,
                            d.index + 1,
                            failed + 1,
                            &engine.backend_name(),
                        );
                        return Err(Error::InvalidArgument(format!(
                            "'{name}': {message} (stopped by --strict)"
                        )));
                    }
                    failed += 1;
                    progress.report(&format!("xcorr: skipped '{name}': {message}"));
                }
            }
        }
        progress.finish(self.command, total, failed, &engine.backend_name());
        if failed == total {
            return Err(Error::InvalidArgument(format!(
                "{}: none of the {total} frames could be processed",
                self.command
            )));
        }
        self.sink.commit()?;
        Ok(failed)
    }
}

/// One template, prepared once per frame shape met ([`Tracker`] keeps its spectrum).
pub struct TemplateMatcher<'e, T: Sample> {
    engine: &'e Engine,
    template: Array<T>,
    method: Method,
    trackers: HashMap<Shape, Tracker<T>>,
}

impl<'e, T: Sample> TemplateMatcher<'e, T> {
    pub fn new(engine: &'e Engine, template: Array<T>, method: Method) -> Self {
        TemplateMatcher {
            engine,
            template,
            method,
            trackers: HashMap::new(),
        }
    }

    fn tracker(&mut self, frame: Shape) -> Result<&Tracker<T>> {
        let t = self.template.shape();
        if t.rows() > frame.rows() || t.cols() > frame.cols() {
            return Err(Error::ShapeMismatch(format!(
                "the template {t} is larger than the frame {frame}"
            )));
        }
        if !self.trackers.contains_key(&frame) {
            if self.trackers.len() >= TRACKER_CACHE {
                self.trackers.clear();
            }
            let tracker = Tracker::new(self.engine, &self.template, frame, self.method)?;
            self.trackers.insert(frame, tracker);
        }
        Ok(&self.trackers[&frame])
    }

    /// The `options.count` best matches in `frame` (one without the map leaving a GPU).
    pub fn find(&mut self, frame: &Array<T>, options: &PeakOptions) -> Result<Vec<Peak>> {
        let tracker = self.tracker(frame.shape())?;
        if options.count == 1 {
            return Ok(vec![tracker.track(frame)?]);
        }
        let map = tracker.match_frame(frame)?;
        Ok(peaks::top_k(map.view(), options))
    }

    /// The best match within `radius` pixels of `previous` (the template's top-left corner
    /// in the last frame): only that window of the frame is matched.
    pub fn find_near(
        &mut self,
        frame: &Array<T>,
        previous: (usize, usize),
        radius: usize,
    ) -> Result<Peak> {
        let [fh, fw] = frame.shape().axes();
        let [th, tw] = self.template.shape().axes();
        // A window of one size for every frame, slid to stay inside the frame, so one
        // tracker serves the whole track.
        let (wh, ww) = ((th + 2 * radius).min(fh), (tw + 2 * radius).min(fw));
        let top = previous.0.saturating_sub(radius).min(fh.saturating_sub(wh));
        let left = previous.1.saturating_sub(radius).min(fw.saturating_sub(ww));
        let window = Array::from_fn(Shape::d2(wh, ww), |r, c| frame.at(top + r, left + c));
        let mut peak = self.tracker(window.shape())?.track(&window)?;
        peak.row += top;
        peak.col += left;
        Ok(peak)
    }
}

/// `xcorr match TEMPLATE --scenes ...`: the best `options.count` matches in every frame,
/// each scene handed to `on_scene` with them (for the overlay pictures).
pub fn match_frames<T: BatchSample>(
    batch: Batch,
    engine: &Engine,
    template: Array<T>,
    method: Method,
    options: PeakOptions,
    mut on_scene: Option<FrameDrawer>,
) -> Result<usize> {
    let mut matcher = TemplateMatcher::new(engine, template, method);
    let [th, tw] = matcher.template.shape().axes();
    batch.run(engine, |path, frame: &Array<T>| {
        let found = matcher.find(frame, &options)?;
        if let Some(draw) = on_scene.as_mut() {
            draw(path, &grey(frame), frame.shape(), &found, (th, tw))?;
        }
        Ok(FrameResult::Matches(found))
    })
}

/// A frame's values as the pictures take them.
pub fn grey<T: Sample>(frame: &Array<T>) -> Vec<f32> {
    frame
        .data()
        .iter()
        .map(|&v| xcorr::Real::to_f64(v) as f32)
        .collect()
}

/// What `xcorr track` does besides finding the template.
pub struct TrackOptions {
    /// Search only this many pixels around the last position (the first frame, and the one
    /// after a failed frame, are searched whole).
    pub search_window: Option<usize>,
    /// Called with each frame (for the overlay pictures).
    pub on_frame: Option<FrameDrawer>,
}

/// Draws a frame of a batch: its file, its grey values and shape, its matches (`track`: the
/// track so far), and the template's `(rows, cols)`.
pub type FrameDrawer = Box<dyn FnMut(&Path, &[f32], Shape, &[Peak], (usize, usize)) -> Result<()>>;

/// `xcorr track TEMPLATE FRAMES...`: the template's best match in every frame, in order.
pub fn track_frames<T: BatchSample>(
    batch: Batch,
    engine: &Engine,
    template: Array<T>,
    method: Method,
    mut options: TrackOptions,
) -> Result<usize> {
    let mut matcher = TemplateMatcher::new(engine, template, method);
    let mut track: Vec<Peak> = Vec::new();
    let mut previous: Option<(usize, usize)> = None;
    let single = PeakOptions {
        extremum: method.extremum(),
        ..PeakOptions::default()
    };
    batch.run(engine, |path, frame: &Array<T>| {
        let found = match (options.search_window, previous) {
            (Some(radius), Some(at)) => matcher.find_near(frame, at, radius),
            _ => matcher.find(frame, &single).map(|mut v| v.remove(0)),
        };
        let peak = match found {
            Ok(peak) => peak,
            Err(e) => {
                // Lost: search the next frame whole.
                previous = None;
                return Err(e);
            }
        };
        previous = Some((peak.row, peak.col));
        track.push(peak);
        if let Some(draw) = options.on_frame.as_mut() {
            let [th, tw] = matcher.template.shape().axes();
            draw(path, &grey(frame), frame.shape(), &track, (th, tw))?;
        }
        Ok(FrameResult::Matches(vec![peak]))
    })
}

/// `xcorr register REF --moving ...`: the shift of every frame against the reference.
pub fn register_frames<T: BatchSample>(
    batch: Batch,
    engine: &Engine,
    reference: Array<T>,
    options: &RegisterOptions,
) -> Result<usize> {
    let registrar = Registrar::with_engine(engine, &reference, options)?;
    let shape = reference.shape();
    batch.run(engine, |_, frame: &Array<T>| {
        if frame.shape() != shape {
            return Err(Error::ShapeMismatch(format!(
                "frame {} differs from the reference {shape}",
                frame.shape()
            )));
        }
        Ok(FrameResult::Shift(registrar.register(frame)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_for_json_and_csv() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(json_string("\u{1}"), "\"\\u0001\"");
        assert_eq!(csv_field("plain.png"), "plain.png");
        assert_eq!(csv_field("a,\"b\".png"), "\"a,\"\"b\"\".png\"");
    }

    #[test]
    fn a_window_search_finds_the_template_near_the_last_position() {
        let texture = |r: usize, c: usize| {
            (((r * 131 + c * 7) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as f32 / 1024.0
        };
        let frame = Array::from_fn(Shape::d2(60, 70), texture);
        let template = Array::from_fn(Shape::d2(8, 9), |r, c| frame.at(40 + r, 50 + c));
        let engine = Engine::cpu();
        let mut m = TemplateMatcher::new(&engine, template, Method::CCoeffNormed);
        let peak = m.find_near(&frame, (37, 46), 5).unwrap();
        assert_eq!((peak.row, peak.col), (40, 50));
        // Near the frame's corner the window slides back inside the frame (rows 20..60,
        // cols 29..70), so it still holds the template.
        let peak = m.find_near(&frame, (55, 60), 16).unwrap();
        assert_eq!((peak.row, peak.col), (40, 50));
    }
}
