//! The `xcorr` command line, run as a user would: real photographs, every output kind, and
//! every kind of bad input (one line on stderr, exit code 2, no output file).

mod npy_support;

use assert_cmd::Command;
use npy_support::{descr_of, f32_le, f64_le, npy_bytes, sample_values, typed_npy, DTYPES};
use num_complex::Complex;
use std::path::{Path, PathBuf};
use xcorr::io::{read_image, read_npy, read_npy_planes, write_npy_any, AnyArray};
use xcorr::{Array, Shape};

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn xcorr() -> Command {
    Command::cargo_bin("xcorr").unwrap()
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let out = xcorr().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "xcorr {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_of(&out)
}

/// Run a command that must fail: exit code 2, exactly one line on stderr of the form
/// `xcorr: error: ...` containing every one of `needles`, and no `out` file afterwards.
fn run_fails(args: &[&std::ffi::OsStr], out: &Path, needles: &[&str]) -> String {
    // A guard against hangs, far above the fraction of a second a refusal takes.
    let result = xcorr()
        .args(args)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert_eq!(result.status.code(), Some(2), "xcorr {args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(stderr.starts_with("xcorr: error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{stderr:?} lacks {n:?}");
    }
    assert!(!out.exists(), "{} was written", out.display());
    assert!(result.stdout.is_empty(), "stdout: {}", stdout_of(&result));
    stderr
}

macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new(&$a)),*] };
}

fn argmax(a: &Array<f32>) -> (usize, usize) {
    let i = a
        .data()
        .iter()
        .enumerate()
        .fold(0, |m, (i, &v)| if v > a.data()[m] { i } else { m });
    (i / a.shape().cols(), i % a.shape().cols())
}

/// Cut `rows × cols` at `(r0, c0)` out of `img`.
fn crop(img: &Array<f32>, r0: usize, c0: usize, rows: usize, cols: usize) -> Array<f32> {
    Array::from_fn(Shape::d2(rows, cols), |r, c| img.at(r0 + r, c0 + c))
}

#[test]
fn photograph_against_its_own_crop_peaks_at_the_crop() {
    let dir = tempfile::tempdir().unwrap();
    let coins = data_file("coins.png");
    let image = read_image(&coins).unwrap();
    // A 48×64 window over one coin, at row 130, col 200, with its mean subtracted: plain
    // correlation with a raw crop peaks where the photograph is brightest, not where the crop
    // came from (for coins.png, 11 of 255 crops of this size were found that way, 144 with the
    // mean removed); finding templates robustly is what normalised template matching is for.
    let (r0, c0) = (130, 200);
    let patch = crop(&image, r0, c0, 48, 64);
    let mean = patch.data().iter().sum::<f32>() / patch.data().len() as f32;
    let template = dir.path().join("crop.npy");
    write_npy_any(
        std::fs::File::create(&template).unwrap(),
        &AnyArray::F32(patch.map(|&v| v - mean)),
    )
    .unwrap();

    let out = dir.path().join("valid.npy");
    let stdout = run_ok(args![
        "correlate",
        coins,
        template,
        "--mode",
        "valid",
        "-o",
        out
    ]);
    let result = read_npy(&out).unwrap().to_f32().unwrap();
    assert_eq!(result.shape(), Shape::d2(303 - 48 + 1, 384 - 64 + 1));
    assert_eq!(argmax(&result), (r0, c0));
    assert!(
        stdout.contains(&format!("at [{r0}, {c0}], lag ({r0}, {c0})")),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    // In full mode the peak's index moves by (M − 1) but its lag stays the crop's offset.
    let out = dir.path().join("full.npy");
    let stdout = run_ok(args![
        "correlate",
        coins,
        template,
        "-o",
        out,
        "--backend",
        "cpu"
    ]);
    let result = read_npy(&out).unwrap().to_f32().unwrap();
    assert_eq!(result.shape(), Shape::d2(303 + 48 - 1, 384 + 64 - 1));
    assert_eq!(argmax(&result), (r0 + 47, c0 + 63));
    assert!(stdout.contains(&format!("lag ({r0}, {c0})")), "{stdout}");
}

#[test]
fn colour_photograph_as_png_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let astronaut = data_file("astronaut.png");
    let image = read_image(&astronaut).unwrap();
    let template = dir.path().join("face.npy");
    // float64 template: the computation runs in float64.
    let face = crop(&image, 90, 180, 40, 40).map(|&v| v as f64);
    write_npy_any(
        std::fs::File::create(&template).unwrap(),
        &AnyArray::F64(face),
    )
    .unwrap();
    let out = dir.path().join("heat.png");
    let stdout = run_ok(args![
        "correlate",
        astronaut,
        template,
        "--mode",
        "same",
        "-o",
        out
    ]);
    // A 512 x 512 map drawn one pixel per element, with axes and a colour bar around it.
    let png = image::open(&out).unwrap();
    assert!(
        png.width() > 512 && png.height() > 512,
        "{}x{}",
        png.width(),
        png.height()
    );
    assert!(
        stdout.contains("heatmap") && stdout.contains("in float64 on cpu"),
        "{stdout}"
    );
}

#[test]
fn small_1d_result_has_numpys_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    std::fs::write(&a, npy_bytes("<f4", false, &[3], &f32_le(&[1.0, 2.0, 3.0]))).unwrap();
    std::fs::write(&b, npy_bytes("<f4", false, &[3], &f32_le(&[0.0, 1.0, 0.5]))).unwrap();
    let out = dir.path().join("out.npy");
    let stdout = run_ok(args!["correlate", a, b, "-o", out]);
    // numpy.correlate([1, 2, 3], [0, 1, 0.5], "full")
    let expect = [0.5f32, 2.0, 3.5, 3.0, 0.0];
    let got = read_npy(&out).unwrap().to_f32().unwrap();
    assert_eq!(got.shape(), Shape::d1(5));
    for (g, e) in got.data().iter().zip(expect) {
        assert!((g - e).abs() < 1e-5, "{:?}", got.data());
    }
    assert!(stdout.contains("peak 3.5000 at [2], lag 0"), "{stdout}");

    // numpy.convolve([1, 2, 3], [0, 1, 0.5], "same") = [1, 2.5, 4]
    let stdout = run_ok(args![
        "correlate",
        a,
        b,
        "--convolve",
        "--mode",
        "same",
        "-o",
        out
    ]);
    let got = read_npy(&out).unwrap().to_f32().unwrap();
    for (g, e) in got.data().iter().zip([1.0, 2.5, 4.0]) {
        assert!((g - e).abs() < 1e-5, "{:?}", got.data());
    }
    assert!(stdout.contains("convolve same"), "{stdout}");

    // A 1-D result is drawn as a line plot against the lag (PNG or SVG).
    let png = dir.path().join("plot.png");
    let stdout = run_ok(args!["correlate", a, b, "-o", png]);
    assert!(stdout.contains("line plot"), "{stdout}");
    let img = image::open(&png).unwrap();
    assert!(
        img.width() > img.height(),
        "{}x{}",
        img.width(),
        img.height()
    );
    let svg = dir.path().join("plot.svg");
    run_ok(args!["correlate", a, b, "-o", svg]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("peak: lag 0"),
        "{text}"
    );
}

#[test]
fn complex_input_makes_complex_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    let signal: Vec<Complex<f64>> = (0..16)
        .map(|i| Complex::new((i as f64 * 0.4).cos(), (i as f64 * 0.9).sin()))
        .collect();
    write_npy_any(
        std::fs::File::create(&a).unwrap(),
        &AnyArray::C64(Array::from_vec(signal.clone())),
    )
    .unwrap();
    // b = a[5..9] as float32 real: promoted to complex.
    let part: Vec<f64> = signal[5..9].iter().map(|c| c.re).collect();
    std::fs::write(&b, npy_bytes("<f8", false, &[4], &f64_le(&part))).unwrap();
    let out = dir.path().join("out.npy");
    let stdout = run_ok(args!["correlate", a, b, "--mode", "circular", "-o", out]);
    let bytes = std::fs::read(&out).unwrap();
    // complex128 in, complex128 out (issue #13 item 7; it was narrowed to complex64).
    assert_eq!(descr_of(&bytes), "<c16");
    assert_eq!(read_npy(&out).unwrap().shape(), Shape::d1(16));
    assert!(
        stdout.contains("complex128") && stdout.contains("peak |value|"),
        "{stdout}"
    );
}

#[test]
fn centred_circular_with_an_impulse_returns_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    let image = Array::from_fn(Shape::d2(6, 7), |r, c| ((r * 7 + c * 3) % 11) as f32);
    write_npy_any(
        std::fs::File::create(&a).unwrap(),
        &AnyArray::F32(image.clone()),
    )
    .unwrap();
    // 3×4 impulse at its centre element (1, 2).
    let impulse = Array::from_fn(
        Shape::d2(3, 4),
        |r, c| if (r, c) == (1, 2) { 1.0f32 } else { 0.0 },
    );
    write_npy_any(std::fs::File::create(&b).unwrap(), &AnyArray::F32(impulse)).unwrap();
    let out = dir.path().join("out.npy");
    run_ok(args![
        "correlate",
        a,
        b,
        "--mode",
        "circular",
        "--centered",
        "-o",
        out
    ]);
    let got = read_npy(&out).unwrap().to_f32().unwrap();
    for (g, e) in got.data().iter().zip(image.data()) {
        assert!((g - e).abs() < 1e-4, "{:?}", got.data());
    }
}

#[test]
fn bad_inputs_give_one_line_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: Vec<u8>| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let good = write(
        "good.npy",
        npy_bytes("<f4", false, &[4, 4], &f32_le(&[1.0; 16])),
    );
    let full = npy_bytes("<f4", false, &[4, 4], &f32_le(&[1.0; 16]));
    let truncated = write("truncated.npy", full[..full.len() - 6].to_vec());
    let short = write("short.npy", full[..30].to_vec());
    let corrupt = write("corrupt.npy", b"PK\x03\x04 this is a zip, not npy".to_vec());
    let float128 = write("f128.npy", npy_bytes("<f16", false, &[4], &[0; 64]));
    let cube = write(
        "cube.npy",
        npy_bytes("<f4", false, &[2, 3, 4], &f32_le(&[0.5; 24])),
    );
    let empty = write("empty.npy", npy_bytes("<f4", false, &[0, 3], &[]));
    let tall = write(
        "tall.npy",
        npy_bytes("<f4", false, &[33, 17], &f32_le(&[0.25; 33 * 17])),
    );
    let wide = write(
        "wide.npy",
        npy_bytes("<f4", false, &[20, 40], &f32_le(&[0.75; 20 * 40])),
    );
    let line = write(
        "line.npy",
        npy_bytes("<f4", false, &[5], &f32_le(&[1.0; 5])),
    );
    let mut v = vec![1.0f32; 16];
    v[6] = f32::NAN;
    let nan = write("nan.npy", npy_bytes("<f4", false, &[4, 4], &f32_le(&v)));
    v[6] = 1.0;
    v[13] = f32::INFINITY;
    let inf = write("inf.npy", npy_bytes("<f4", false, &[4, 4], &f32_le(&v)));
    let missing = d.join("missing.npy");
    let out = d.join("out.npy");
    let coins = data_file("coins.png");

    run_fails(
        args!["correlate", missing, good, "-o", out],
        &out,
        &["missing.npy", "no such file"],
    );
    run_fails(
        args!["correlate", good, truncated, "-o", out],
        &out,
        &["truncated.npy", "truncated"],
    );
    run_fails(
        args!["correlate", short, good, "-o", out],
        &out,
        &[
            "short.npy",
            "truncated: the file ends inside the .npy header",
        ],
    );
    run_fails(
        args!["correlate", corrupt, good, "-o", out],
        &out,
        &["corrupt.npy", "not a .npy file"],
    );
    run_fails(
        args!["correlate", float128, good, "-o", out],
        &out,
        &["f128.npy", "unsupported dtype float128"],
    );
    run_fails(
        args!["correlate", cube, good, "-o", out],
        &out,
        &[
            "cube.npy",
            "(2, 3, 4)",
            "good.npy",
            "(4, 4)",
            "same number of channels",
        ],
    );
    let cube5 = write(
        "cube5.npy",
        npy_bytes("<f4", false, &[2, 3, 5], &f32_le(&[0.5; 30])),
    );
    run_fails(
        args!["correlate", cube, cube5, "-o", out],
        &out,
        &["(2, 3, 4)", "(2, 3, 5)", "same number of channels"],
    );
    let png = d.join("out.png");
    run_fails(
        args!["correlate", cube, cube, "-o", png],
        &png,
        &["4 channels", "write .npy"],
    );
    let hyper = write(
        "hyper.npy",
        npy_bytes("<f4", false, &[1, 2, 3, 4], &f32_le(&[0.5; 24])),
    );
    run_fails(
        args!["correlate", hyper, good, "-o", out],
        &out,
        &["hyper.npy", "4-D array of shape (1, 2, 3, 4)"],
    );
    run_fails(
        args!["correlate", good, empty, "-o", out],
        &out,
        &["empty.npy", "empty array of shape (0, 3)"],
    );
    run_fails(
        args!["correlate", tall, wide, "--mode", "valid", "-o", out],
        &out,
        &["valid mode", "(33, 17)", "(20, 40)"],
    );
    run_fails(
        args!["correlate", good, coins, "--mode", "circular", "-o", out],
        &out,
        &["circular mode", "no larger", "(4, 4)", "(303, 384)"],
    );
    run_fails(
        args!["correlate", good, line, "-o", out],
        &out,
        &["same number of dimensions"],
    );
    run_fails(
        args!["correlate", good, good, "--centered", "-o", out],
        &out,
        &["--centered", "circular"],
    );
    run_fails(
        args![
            "correlate",
            good,
            good,
            "--mode",
            "same",
            "--centred",
            "-o",
            out
        ],
        &out,
        &["--centered"],
    );
    let txt = d.join("out.txt");
    run_fails(
        args!["correlate", good, good, "-o", txt],
        &txt,
        &["out.txt", "unknown output type '.txt'"],
    );
    let nodir = d.join("no/such/dir/out.npy");
    run_fails(
        args!["correlate", good, good, "-o", nodir],
        &nodir,
        &["does not exist"],
    );
    run_fails(
        args!["correlate", nan, good, "-o", out],
        &out,
        &["first input", "nan.npy", "NaN", "[1, 2]"],
    );
    run_fails(
        args!["correlate", good, inf, "-o", out],
        &out,
        &["second input", "inf.npy", "inf", "[3, 1]"],
    );
    let csv = write("table.csv", b"1,2\n3,4\n".to_vec());
    run_fails(
        args!["correlate", csv, good, "-o", out],
        &out,
        &["table.csv", "unknown file type '.csv'"],
    );
}

#[test]
fn a_failed_run_leaves_an_existing_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    std::fs::write(&out, b"previous result").unwrap();
    let result = xcorr()
        .args(args![
            "correlate",
            dir.path().join("missing.npy"),
            data_file("coins.png"),
            "-o",
            out
        ])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(std::fs::read(&out).unwrap(), b"previous result");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "temporary files left behind");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    let coins = data_file("coins.png");
    for args in [
        &args!["correlate", coins, coins, "--mode", "diagonal", "-o", out][..],
        &args!["correlate", coins, coins][..],
        &args!["correlate", coins, "-o", out][..],
        &args!["correlate", coins, coins, "--backend", "tpu", "-o", out][..],
        &args!["frobnicate"][..],
    ] {
        // One line, not clap's usage block.
        run_fails(args, &out, &["(see 'xcorr --help')"]);
    }
    xcorr().arg("--help").assert().success();
    xcorr().args(["correlate", "--help"]).assert().success();
}

#[test]
fn gpu_request_runs_or_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    let coins = data_file("coins.png");
    let result = xcorr()
        .args(args![
            "correlate",
            coins,
            coins,
            "--mode",
            "same",
            "--backend",
            "gpu",
            "-o",
            out
        ])
        .output()
        .unwrap();
    if result.status.success() {
        assert!(out.exists());
    } else {
        // Graphics drivers may print their own lines while the GPU is probed; xcorr's own
        // message is the last line.
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2));
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("xcorr: error: "), "{stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn info_lists_the_cpu() {
    let out = xcorr().arg("info").output().unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).contains("cpu"), "{}", stdout_of(&out));
}

#[test]
fn demo_finds_what_it_hid() {
    let dir = tempfile::tempdir().unwrap();
    for seed in [7u64, 1, 2, 3, 1234] {
        let out = dir.path().join(format!("demo-{seed}.png"));
        let stdout = run_ok(args!["demo", "--seed", seed.to_string(), "-o", out]);
        let hidden = stdout
            .lines()
            .find_map(|l| {
                l.split_once("top-left corner at ")
                    .map(|(_, t)| t.to_string())
            })
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(
            stdout.contains(&format!("found it at {hidden} ")),
            "{stdout}"
        );
        // The 225 x 225 map, enlarged twice, with axes and a colour bar around it.
        let img = image::open(&out).unwrap();
        assert!(
            img.width() > 450 && img.height() > 450,
            "{}x{}",
            img.width(),
            img.height()
        );
    }
    // The default output name, in the working directory.
    let stdout = xcorr()
        .arg("demo")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(stdout.status.success());
    assert!(dir.path().join("xcorr-demo.png").exists());
}

/// A bad `XCORR_WORKGROUP_FFT` is an error naming the variable, not a quiet fallback to the
/// CPU (the default backend is auto).
#[test]
fn bad_workgroup_fft_setting_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    let result = xcorr()
        .env("XCORR_WORKGROUP_FFT", "sideways")
        .args(args![
            "correlate",
            data_file("coins.png"),
            data_file("coins.png"),
            "-o",
            out
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("XCORR_WORKGROUP_FFT") && stderr.contains("on, off or auto"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// Issue #13's hostile inputs, each refused with one line and exit 2 before anything is
/// written (the library side is in `tests/hostile.rs`).
#[test]
fn hostile_inputs_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.npy");
    let write = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // A 141-byte file whose shape (9223372036854775811, 2) wraps to 6 elements.
    let mut h =
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775811, 2), }".to_vec();
    h.resize(117, b' ');
    h.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    bytes.extend_from_slice(&h);
    bytes.extend_from_slice(&[0; 24]);
    let wraps = write("w.npy", &bytes);
    let nested = write("hang.npy", b"\x93NUMPY\x01\x00\x11\x00{{{{{{{{{{{{{{{{\n");
    let good = write(
        "good.npy",
        &npy_bytes("<f4", false, &[4, 4], &f32_le(&[1.0; 16])),
    );
    for backend in ["cpu", "auto"] {
        run_fails(
            args!["correlate", wraps, wraps, "--backend", backend, "-o", out],
            &out,
            &["w.npy", "too large"],
        );
        run_fails(
            args!["correlate", nested, good, "--backend", backend, "-o", out],
            &out,
            &["hang.npy", "not a valid .npy file"],
        );
    }
    #[cfg(unix)]
    {
        let zero = d.join("zero.npy");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        run_fails(
            args!["correlate", zero, good, "-o", out],
            &out,
            &["zero.npy", "not a regular file"],
        );
    }
    // Inputs and jobs past --max-memory.
    let coins = data_file("coins.png");
    run_fails(
        args!["--max-memory", "100K", "correlate", coins, coins, "-o", out],
        &out,
        &[
            "coins.png",
            "more than the limit of 100.0 KiB",
            "--max-memory",
        ],
    );
    run_fails(
        args!["correlate", coins, coins, "--max-memory", "1M", "-o", out],
        &out,
        &[
            "needs about",
            "more than the limit of 1.0 MiB",
            "--max-memory",
        ],
    );
    run_fails(
        args!["match", coins, good, "--max-memory", "1M", "-o", out],
        &out,
        &["matching", "more than the limit", "--max-memory"],
    );
    run_fails(
        args!["correlate", good, good, "--max-memory", "lots", "-o", out],
        &out,
        &["--max-memory"],
    );
    // Upsampling past its documented maximum, on the CPU and wherever auto goes.
    for factor in ["1001", "18446744073709551615"] {
        for backend in ["cpu", "auto"] {
            run_fails(
                args![
                    "register",
                    coins,
                    coins,
                    "--upsample",
                    factor,
                    "--backend",
                    backend
                ],
                &out,
                &["from 1 to 1000"],
            );
        }
    }
    // `--min-distance -1` is a value out of range, not a misplaced flag.
    run_fails(
        args!["match", coins, good, "--min-distance", "-1"],
        &out,
        &["--min-distance must be a non-negative number, got -1"],
    );
}

#[test]
fn float64_results_stay_float64() {
    // Products near 1e300: finite in float64, inf in float32.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    std::fs::write(
        &a,
        npy_bytes("<f8", false, &[3], &f64_le(&[1e150, 2e150, 3e150])),
    )
    .unwrap();
    std::fs::write(&b, npy_bytes("<f8", false, &[2], &f64_le(&[1e150, 1e150]))).unwrap();
    let out = dir.path().join("out.npy");
    let stdout = run_ok(args!["correlate", a, b, "--backend", "cpu", "-o", out]);
    assert!(stdout.contains("(float64, shape (4,))"), "{stdout}");
    assert_eq!(descr_of(&std::fs::read(&out).unwrap()), "<f8");
    let got = read_npy(&out).unwrap().to_f64().unwrap();
    let expect = [1e300, 3e300, 5e300, 3e300];
    for (g, e) in got.data().iter().zip(expect) {
        assert!((g - e).abs() <= 1e-12 * e, "{:?}", got.data());
    }
}

/// `out` (a result read back) against the direct sums of `reference.rs`: the largest error
/// over the largest magnitude of the reference.
fn error_against_direct_sums(
    out: &[Complex<f64>],
    a: &Array<Complex<f64>>,
    b: &Array<Complex<f64>>,
    mode: xcorr::Mode,
) -> f64 {
    let want = xcorr::reference::compute(xcorr::Op::Correlate, mode, a.view(), b.view()).unwrap();
    assert_eq!(out.len(), want.data().len());
    let scale = want.data().iter().map(|v| v.norm()).fold(0.0, f64::max);
    let err = out
        .iter()
        .zip(want.data())
        .map(|(o, w)| (o - w).norm())
        .fold(0.0, f64::max);
    err / scale
}

/// The result dtype of `correlate` for two inputs read as `promoted`: its `.npy` descr.
fn result_descr(promoted: &str) -> &'static str {
    match promoted {
        "float32" => "<f4",
        "float64" => "<f8",
        "complex64" => "<c8",
        _ => "<c16",
    }
}

#[test]
fn every_input_dtype_round_trips_through_correlate() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, out) = (
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
        dir.path().join("out.npy"),
    );
    let (sa, sb) = ([5usize, 7], [3usize, 2]);
    for &(name, code, promoted) in DTYPES {
        let va = sample_values(code, 35);
        // A different stretch of values for the kernel.
        let vb: Vec<_> = sample_values(code, 41).split_off(35);
        let a = Array::new(va.clone(), Shape::d2(5, 7)).unwrap();
        let b = Array::new(vb.clone(), Shape::d2(3, 2)).unwrap();
        let one_byte = code.ends_with('1');
        for big in if one_byte {
            vec![false]
        } else {
            vec![false, true]
        } {
            for fortran in [false, true] {
                std::fs::write(&pa, typed_npy(code, big, fortran, &sa, &va)).unwrap();
                std::fs::write(&pb, typed_npy(code, !big, fortran, &sb, &vb)).unwrap();
                let stdout = run_ok(args!["correlate", pa, pb, "--backend", "cpu", "-o", out]);
                let what = format!("{name} big={big} fortran={fortran}: {stdout}");
                assert!(
                    stdout.contains(&format!("({promoted}, shape (7, 8))")),
                    "{what}"
                );
                let bytes = std::fs::read(&out).unwrap();
                assert_eq!(descr_of(&bytes), result_descr(promoted), "{what}");
                let got = read_npy(&out).unwrap();
                assert_eq!(got.dtype_name(), promoted, "{what}");
                let err = error_against_direct_sums(got.to_c64().data(), &a, &b, xcorr::Mode::Full);
                let bound = if promoted.ends_with("32") || promoted == "complex64" {
                    1e-6
                } else {
                    1e-13
                };
                assert!(err <= bound, "{what}: error {err:e}");
            }
        }
    }
}

#[test]
fn mixed_dtypes_compute_in_the_wider_type() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, out) = (
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
        dir.path().join("out.npy"),
    );
    let va = sample_values("u1", 12);
    let vb = sample_values("i4", 4);
    std::fs::write(&pa, typed_npy("u1", false, false, &[12], &va)).unwrap();
    std::fs::write(&pb, typed_npy("i4", true, false, &[4], &vb)).unwrap();
    let stdout = run_ok(args!["correlate", pa, pb, "--backend", "cpu", "-o", out]);
    assert!(stdout.contains("(float64, shape (15,))"), "{stdout}");
    let got = read_npy(&out).unwrap().to_c64();
    let (a, b) = (Array::from_vec(va), Array::from_vec(vb));
    let err = error_against_direct_sums(got.data(), &a, &b, xcorr::Mode::Full);
    assert!(err <= 1e-13, "{err:e}");
}

#[test]
fn float64_correlate_matches_direct_sums_to_1e_12() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, out) = (
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
        dir.path().join("out.npy"),
    );
    let noise = |i: usize| ((i as f64 * 12.9898).sin() * 43758.5453).fract() - 0.5;
    let a: Vec<f64> = (0..40 * 33).map(noise).collect();
    let b: Vec<f64> = (0..7 * 5).map(|i| noise(i + 5000)).collect();
    std::fs::write(&pa, npy_bytes("<f8", false, &[40, 33], &f64_le(&a))).unwrap();
    std::fs::write(&pb, npy_bytes("<f8", false, &[7, 5], &f64_le(&b))).unwrap();
    let ca = Array::new(
        a.iter().map(|&v| Complex::new(v, 0.0)).collect(),
        Shape::d2(40, 33),
    );
    let cb = Array::new(
        b.iter().map(|&v| Complex::new(v, 0.0)).collect(),
        Shape::d2(7, 5),
    );
    let (ca, cb) = (ca.unwrap(), cb.unwrap());
    for (mode_arg, mode) in [
        ("full", xcorr::Mode::Full),
        ("same", xcorr::Mode::Same),
        ("valid", xcorr::Mode::Valid),
        ("circular", xcorr::Mode::CIRCULAR),
    ] {
        let stdout = run_ok(args![
            "correlate",
            pa,
            pb,
            "--mode",
            mode_arg,
            "--backend",
            "cpu",
            "-o",
            out
        ]);
        assert!(stdout.contains("in float64 on cpu"), "{stdout}");
        assert_eq!(descr_of(&std::fs::read(&out).unwrap()), "<f8");
        let got = read_npy(&out).unwrap().to_c64();
        let err = error_against_direct_sums(got.data(), &ca, &cb, mode);
        assert!(err <= 1e-12, "{mode_arg}: {err:e}");
        // Each element to 1e-12 of itself where it is not a near-cancellation.
        let want =
            xcorr::reference::compute(xcorr::Op::Correlate, mode, ca.view(), cb.view()).unwrap();
        let scale = want.data().iter().map(|v| v.norm()).fold(0.0, f64::max);
        for (g, w) in got.data().iter().zip(want.data()) {
            if w.norm() > 1e-3 * scale {
                assert!((g - w).norm() <= 1e-12 * w.norm(), "{mode_arg}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn three_d_inputs_correlate_each_channel() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, out) = (
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
        dir.path().join("out.npy"),
    );
    let (h, w, kh, kw, c) = (9, 8, 3, 4, 3);
    for (code, fortran, promoted) in [("f8", false, "float64"), ("u2", true, "float32")] {
        let va = sample_values(code, h * w * c);
        let vb: Vec<_> = sample_values(code, h * w * c + kh * kw * c).split_off(h * w * c);
        std::fs::write(&pa, typed_npy(code, true, fortran, &[h, w, c], &va)).unwrap();
        std::fs::write(&pb, typed_npy(code, false, fortran, &[kh, kw, c], &vb)).unwrap();
        let stdout = run_ok(args![
            "correlate",
            pa,
            pb,
            "--mode",
            "same",
            "--backend",
            "cpu",
            "-o",
            out
        ]);
        assert!(
            stdout.contains(&format!("({promoted}, shape (9, 8, 3))")),
            "{stdout}"
        );
        assert!(stdout.contains("of channel"), "{stdout}");
        let planes = read_npy_planes(&out, u64::MAX).unwrap();
        assert_eq!(planes.describe_shape(), "(9, 8, 3)");
        for k in 0..c {
            let plane_a = Array::from_fn(Shape::d2(h, w), |r, q| va[(r * w + q) * c + k]);
            let plane_b = Array::from_fn(Shape::d2(kh, kw), |r, q| vb[(r * kw + q) * c + k]);
            let got = planes.planes()[k].to_c64();
            assert_eq!(planes.planes()[k].dtype_name(), promoted);
            let err = error_against_direct_sums(got.data(), &plane_a, &plane_b, xcorr::Mode::Same);
            let bound = if promoted == "float32" { 1e-6 } else { 1e-13 };
            assert!(err <= bound, "{code} channel {k}: {err:e}");
        }
    }
}

/// Whether `--backend gpu` can run here; with `XCORR_REQUIRE_GPU=1` it must.
fn gpu_available() -> bool {
    let info = stdout_of(&xcorr().arg("info").output().unwrap());
    let has = info
        .lines()
        .any(|l| l.trim_start().starts_with("gpu: ") && !l.contains("no adapter"));
    if !has && std::env::var("XCORR_REQUIRE_GPU").as_deref() == Ok("1") {
        panic!("XCORR_REQUIRE_GPU=1 but xcorr info lists no GPU: {info}");
    }
    has
}

#[test]
fn precision_decides_where_float64_runs_on_the_gpu() {
    if !gpu_available() {
        eprintln!("skipping: no GPU adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, out) = (
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
        dir.path().join("out.npy"),
    );
    let noise = |i: usize| ((i as f64 * 78.233).sin() * 43758.5453).fract() - 0.5;
    let a: Vec<f64> = (0..24 * 30).map(noise).collect();
    let b: Vec<f64> = (0..5 * 6).map(|i| noise(i + 900)).collect();
    std::fs::write(&pa, npy_bytes("<f8", false, &[24, 30], &f64_le(&a))).unwrap();
    std::fs::write(&pb, npy_bytes("<f8", false, &[5, 6], &f64_le(&b))).unwrap();
    // Without a setting, and with double, an explicit GPU refuses float64, naming the flag.
    // (Graphics drivers may print lines of their own while the GPU is probed: xcorr's
    // message is the last line.)
    for extra in [&[][..], &["--precision", "double"][..]] {
        let result = xcorr()
            .args(args!["correlate", pa, pb, "--backend", "gpu", "-o", out])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("xcorr: error: "), "{stderr}");
        assert!(last.contains("--precision single"), "{stderr}");
        assert!(!out.exists());
    }
    // single: computed on the GPU in float32, written as float64.
    let stdout = run_ok(args![
        "--precision",
        "single",
        "correlate",
        pa,
        pb,
        "--backend",
        "gpu",
        "-o",
        out
    ]);
    assert!(stdout.contains("(float64, shape (28, 35))"), "{stdout}");
    assert!(stdout.contains("in float32 on gpu"), "{stdout}");
    assert_eq!(descr_of(&std::fs::read(&out).unwrap()), "<f8");
    let got = read_npy(&out).unwrap().to_c64();
    let to_c =
        |v: &[f64], s| Array::new(v.iter().map(|&x| Complex::new(x, 0.0)).collect(), s).unwrap();
    let (ca, cb) = (to_c(&a, Shape::d2(24, 30)), to_c(&b, Shape::d2(5, 6)));
    let err = error_against_direct_sums(got.data(), &ca, &cb, xcorr::Mode::Full);
    assert!(err <= 1e-5 && err > 1e-12, "{err:e}");
    // auto with the automatic backend: float64 on the CPU, to 1e-12.
    let stdout = run_ok(args!["correlate", pa, pb, "-o", out]);
    assert!(stdout.contains("in float64 on cpu"), "{stdout}");
    let got = read_npy(&out).unwrap().to_c64();
    assert!(error_against_direct_sums(got.data(), &ca, &cb, xcorr::Mode::Full) <= 1e-12);
}
