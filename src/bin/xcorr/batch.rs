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

use crate::frames::{decode_ahead, decoder_threads, expand_inputs};
use crate::output::{AtomicFile, OutputKind};
use crate::progress::Progress;
use crate::vision::json_number;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;
use xcorr::io::AnyArray;
use xcorr::matching::{Method, Pending, Sample, Tracker};
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

    /// Decode every frame ahead and hand it to `work`; write what it gives, in order.
    /// Frame `k + 1` is submitted before frame `k` is collected (unless `work` says the next
    /// frame depends on this one), so on a GPU the next upload overlaps this compute.
    /// Returns the number of frames that failed. Fails if every frame failed (nothing could
    /// be done) or, with `--strict`, at the first failure; `-o` is then not written.
    pub fn run<T: BatchSample, W: FrameWork<T>>(
        mut self,
        engine: &Engine,
        mut work: W,
    ) -> Result<usize> {
        let total = self.frames.len();
        let budget = self.budget;
        let decoded = decode_ahead(
            std::mem::take(&mut self.frames),
            LOOKAHEAD,
            decoder_threads(),
            move |path| T::from_any(crate::read_real_input(path, budget)?),
        )?;
        let mut outcomes = Outcomes {
            sink: &mut self.sink,
            progress: Progress::new(total, self.args.quiet),
            strict: self.args.strict,
            command: self.command,
            backend: engine.backend_name(),
            failed: 0,
        };
        let mut in_flight: Option<InFlight<T, W::Pending>> = None;
        for d in decoded {
            if !work.overlaps() {
                if let Some(f) = in_flight.take() {
                    f.collect(&mut work, &mut outcomes)?;
                }
            }
            let start = Instant::now();
            let submitted = d
                .frame
                .and_then(|frame| Ok((work.submit(&d.path, &frame)?, frame)));
            let submit_ms = start.elapsed().as_secs_f64() * 1e3;
            // The previous frame's result, now that this frame is on its way.
            if let Some(f) = in_flight.take() {
                f.collect(&mut work, &mut outcomes)?;
            }
            match submitted {
                Ok((pending, frame)) => {
                    in_flight = Some(InFlight {
                        index: d.index,
                        path: d.path,
                        frame,
                        pending,
                        decode_ms: d.decode_ms,
                        submit_ms,
                    })
                }
                Err(e) => outcomes.record(d.index, &d.path, Err(e), (d.decode_ms, submit_ms))?,
            }
        }
        if let Some(f) = in_flight.take() {
            f.collect(&mut work, &mut outcomes)?;
        }
        let failed = outcomes.failed;
        outcomes
            .progress
            .finish(self.command, total, failed, &outcomes.backend);
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

/// One frame's work in two halves, so that the batch can submit the next frame before it
/// collects this one's result. On the CPU `submit` may do all the work.
pub trait FrameWork<T> {
    /// What a frame carries from `submit` to `collect`.
    type Pending;
    /// Whether the next frame may be submitted before the last one is collected: not where
    /// the next frame's work depends on the last result (a search window around it).
    fn overlaps(&self) -> bool {
        true
    }
    fn submit(&mut self, path: &Path, frame: &Array<T>) -> Result<Self::Pending>;
    fn collect(
        &mut self,
        path: &Path,
        frame: &Array<T>,
        pending: Self::Pending,
    ) -> Result<FrameResult>;
}

/// A submitted frame waiting to be collected (its frame kept for the pictures).
struct InFlight<T, P> {
    index: usize,
    path: PathBuf,
    frame: Array<T>,
    pending: P,
    decode_ms: f64,
    submit_ms: f64,
}

impl<T, P> InFlight<T, P> {
    /// Collect the frame's result and record it; the time spent in `submit` and here is the
    /// frame's compute time.
    fn collect<W: FrameWork<T, Pending = P>>(
        self,
        work: &mut W,
        outcomes: &mut Outcomes<'_>,
    ) -> Result<()> {
        let start = Instant::now();
        let result = work.collect(&self.path, &self.frame, self.pending);
        let compute_ms = self.submit_ms + start.elapsed().as_secs_f64() * 1e3;
        outcomes.record(self.index, &self.path, result, (self.decode_ms, compute_ms))
    }
}

/// Where each frame's outcome goes: results to the sink, failures to stderr (or, with
/// `--strict`, out as the batch's error).
struct Outcomes<'a> {
    sink: &'a mut ResultSink,
    progress: Progress,
    strict: bool,
    command: &'static str,
    backend: String,
    failed: usize,
}

impl Outcomes<'_> {
    fn record(
        &mut self,
        index: usize,
        path: &Path,
        result: Result<FrameResult>,
        timings: (f64, f64),
    ) -> Result<()> {
        self.progress.step();
        let e = match result {
            Ok(result) => return self.sink.write(index, path, &result, timings),
            Err(e) => e,
        };
        let message = e.to_string().replace('\n', " ");
        let name = path.display();
        if self.strict {
            self.progress
                .finish(self.command, index + 1, self.failed + 1, &self.backend);
            return Err(Error::InvalidArgument(format!(
                "'{name}': {message} (stopped by --strict)"
            )));
        }
        self.failed += 1;
        self.progress
            .report(&format!("xcorr: skipped '{name}': {message}"));
        Ok(())
    }
}

/// One template, prepared once per frame shape met ([`Tracker`] keeps its spectrum).
pub struct TemplateMatcher<'e, T: Sample> {
    engine: &'e Engine,
    template: Array<T>,
    method: Method,
    /// Shared with the frames in flight, which keep theirs if the cache is emptied.
    trackers: HashMap<Shape, Rc<Tracker<T>>>,
}

/// A frame submitted to a [`TemplateMatcher`]: its tracker and what it will give.
pub enum Found<T: Sample> {
    /// The best match, in a window whose top-left corner in the frame is `offset`.
    Best {
        tracker: Rc<Tracker<T>>,
        pending: Pending<T, Peak>,
        offset: (usize, usize),
    },
    /// The map, searched for `options.count` peaks.
    Map {
        tracker: Rc<Tracker<T>>,
        pending: Pending<T, Array<T>>,
        options: PeakOptions,
    },
}

impl<T: Sample> Found<T> {
    /// The matches, best first, in frame coordinates.
    pub fn collect(self) -> Result<Vec<Peak>> {
        match self {
            Found::Best {
                tracker,
                pending,
                offset,
            } => {
                let mut peak = tracker.collect(pending)?;
                peak.row += offset.0;
                peak.col += offset.1;
                Ok(vec![peak])
            }
            Found::Map {
                tracker,
                pending,
                options,
            } => Ok(peaks::top_k(tracker.collect(pending)?.view(), &options)),
        }
    }
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

    fn tracker(&mut self, frame: Shape) -> Result<Rc<Tracker<T>>> {
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
            self.trackers.insert(frame, Rc::new(tracker));
        }
        Ok(Rc::clone(&self.trackers[&frame]))
    }

    /// Submit `frame` for its `options.count` best matches (one without the map leaving a
    /// GPU); [`Found::collect`] gives them.
    pub fn submit(&mut self, frame: &Array<T>, options: &PeakOptions) -> Result<Found<T>> {
        let tracker = self.tracker(frame.shape())?;
        if options.count == 1 {
            let pending = tracker.submit(frame)?;
            return Ok(Found::Best {
                tracker,
                pending,
                offset: (0, 0),
            });
        }
        let pending = tracker.submit_map(frame)?;
        Ok(Found::Map {
            tracker,
            pending,
            options: *options,
        })
    }

    /// Submit `frame` for the best match within `radius` pixels of `previous` (the
    /// template's top-left corner in the last frame): only that window of the frame is
    /// matched.
    pub fn submit_near(
        &mut self,
        frame: &Array<T>,
        previous: (usize, usize),
        radius: usize,
    ) -> Result<Found<T>> {
        let [fh, fw] = frame.shape().axes();
        let [th, tw] = self.template.shape().axes();
        // A window of one size for every frame, slid to stay inside the frame, so one
        // tracker serves the whole track.
        let (wh, ww) = ((th + 2 * radius).min(fh), (tw + 2 * radius).min(fw));
        let top = previous.0.saturating_sub(radius).min(fh.saturating_sub(wh));
        let left = previous.1.saturating_sub(radius).min(fw.saturating_sub(ww));
        let window = Array::from_fn(Shape::d2(wh, ww), |r, c| frame.at(top + r, left + c));
        let tracker = self.tracker(window.shape())?;
        let pending = tracker.submit(&window)?;
        Ok(Found::Best {
            tracker,
            pending,
            offset: (top, left),
        })
    }
}

/// `xcorr match --scenes`'s work: the best matches of every frame, each frame drawn if asked.
struct MatchWork<'e, T: Sample> {
    matcher: TemplateMatcher<'e, T>,
    options: PeakOptions,
    on_scene: Option<FrameDrawer>,
}

impl<T: Sample> FrameWork<T> for MatchWork<'_, T> {
    type Pending = Found<T>;

    fn submit(&mut self, _: &Path, frame: &Array<T>) -> Result<Found<T>> {
        self.matcher.submit(frame, &self.options)
    }

    fn collect(&mut self, path: &Path, frame: &Array<T>, found: Found<T>) -> Result<FrameResult> {
        let found = found.collect()?;
        if let Some(draw) = self.on_scene.as_mut() {
            let [th, tw] = self.matcher.template.shape().axes();
            draw(path, &grey(frame), frame.shape(), &found, (th, tw))?;
        }
        Ok(FrameResult::Matches(found))
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
    on_scene: Option<FrameDrawer>,
) -> Result<usize> {
    let work = MatchWork {
        matcher: TemplateMatcher::new(engine, template, method),
        options,
        on_scene,
    };
    batch.run(engine, work)
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

/// `xcorr track`'s work: the track so far, and where to search next.
struct TrackWork<'e, T: Sample> {
    matcher: TemplateMatcher<'e, T>,
    options: TrackOptions,
    track: Vec<Peak>,
    /// The last frame's position; `None` after a failed frame (the next is searched whole).
    previous: Option<(usize, usize)>,
    single: PeakOptions,
}

impl<T: Sample> FrameWork<T> for TrackWork<'_, T> {
    type Pending = Found<T>;

    /// A search window is placed around the last frame's position, so with one the next
    /// frame waits for this one's result.
    fn overlaps(&self) -> bool {
        self.options.search_window.is_none()
    }

    fn submit(&mut self, _: &Path, frame: &Array<T>) -> Result<Found<T>> {
        let submitted = match (self.options.search_window, self.previous) {
            (Some(radius), Some(at)) => self.matcher.submit_near(frame, at, radius),
            _ => self.matcher.submit(frame, &self.single),
        };
        if submitted.is_err() {
            self.previous = None;
        }
        submitted
    }

    fn collect(&mut self, path: &Path, frame: &Array<T>, found: Found<T>) -> Result<FrameResult> {
        let peak = match found.collect() {
            Ok(found) => found[0],
            Err(e) => {
                // Lost: search the next frame whole.
                self.previous = None;
                return Err(e);
            }
        };
        self.previous = Some((peak.row, peak.col));
        self.track.push(peak);
        if let Some(draw) = self.options.on_frame.as_mut() {
            let [th, tw] = self.matcher.template.shape().axes();
            draw(path, &grey(frame), frame.shape(), &self.track, (th, tw))?;
        }
        Ok(FrameResult::Matches(vec![peak]))
    }
}

/// `xcorr track TEMPLATE FRAMES...`: the template's best match in every frame, in order.
pub fn track_frames<T: BatchSample>(
    batch: Batch,
    engine: &Engine,
    template: Array<T>,
    method: Method,
    options: TrackOptions,
) -> Result<usize> {
    let work = TrackWork {
        matcher: TemplateMatcher::new(engine, template, method),
        options,
        track: Vec::new(),
        previous: None,
        single: PeakOptions {
            extremum: method.extremum(),
            ..PeakOptions::default()
        },
    };
    batch.run(engine, work)
}

/// `xcorr register`'s work: each frame registered whole at submission (a [`Registrar`]
/// has no submit-then-collect seam).
struct RegisterWork {
    registrar: Registrar,
    shape: Shape,
}

impl<T: Sample> FrameWork<T> for RegisterWork {
    type Pending = Registration;

    fn submit(&mut self, _: &Path, frame: &Array<T>) -> Result<Registration> {
        if frame.shape() != self.shape {
            return Err(Error::ShapeMismatch(format!(
                "frame {} differs from the reference {}",
                frame.shape(),
                self.shape
            )));
        }
        self.registrar.register(frame)
    }

    fn collect(&mut self, _: &Path, _: &Array<T>, found: Registration) -> Result<FrameResult> {
        Ok(FrameResult::Shift(found))
    }
}

/// `xcorr register REF --moving ...`: the shift of every frame against the reference.
pub fn register_frames<T: BatchSample>(
    batch: Batch,
    engine: &Engine,
    reference: Array<T>,
    options: &RegisterOptions,
) -> Result<usize> {
    let work = RegisterWork {
        registrar: Registrar::with_engine(engine, &reference, options)?,
        shape: reference.shape(),
    };
    batch.run::<T, _>(engine, work)
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
        let near = |m: &mut TemplateMatcher<f32>, at, radius| {
            m.submit_near(&frame, at, radius)
                .unwrap()
                .collect()
                .unwrap()[0]
        };
        let peak = near(&mut m, (37, 46), 5);
        assert_eq!((peak.row, peak.col), (40, 50));
        // Near the frame's corner the window slides back inside the frame (rows 20..60,
        // cols 29..70), so it still holds the template.
        let peak = near(&mut m, (55, 60), 16);
        assert_eq!((peak.row, peak.col), (40, 50));
    }
}
