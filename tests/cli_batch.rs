//! Batch mode of the command line: `xcorr track`, `xcorr match --scenes`, `xcorr register
//! --moving` over folders of frames made from a photograph, and their bad input.

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use xcorr::{Array, Shape};

fn xcorr() -> Command {
    let mut cmd = Command::cargo_bin("xcorr").unwrap();
    cmd.env("RUST_LOG", "off");
    cmd
}

fn photograph() -> Array<f32> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/astronaut.png");
    xcorr::io::read_image(path).unwrap()
}

const FRAME: usize = 128;
const TEMPLATE: usize = 32;
/// The template's top-left corner in the photograph (the astronaut's face).
const SOURCE: (usize, usize) = (90, 200);

/// Where frame `i` is cut from the photograph: a path that moves every frame and keeps the
/// face inside the frame.
fn crop_origin(i: usize, frames: usize) -> (usize, usize) {
    let t = i as f64 / frames as f64 * 2.0 * std::f64::consts::PI;
    let y = 40.0 + 30.0 * (2.0 * t).sin();
    let x = 150.0 + 40.0 * (3.0 * t).cos();
    (y.round() as usize, x.round() as usize)
}

fn save_grey(path: &Path, a: &Array<f32>) {
    let [h, w] = a.shape().axes();
    let bytes: Vec<u8> = a
        .data()
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    image::GrayImage::from_raw(w as u32, h as u32, bytes)
        .unwrap()
        .save(path)
        .unwrap();
}

/// `frames` PNGs `frame_000.png`... in `dir`: moving crops of the photograph with Gaussian
/// noise (sigma 0.03); returns the template's file and its true position in each frame.
fn make_frames(dir: &Path, frames: usize) -> (PathBuf, Vec<(usize, usize)>) {
    let photo = photograph();
    let template = Array::from_fn(Shape::d2(TEMPLATE, TEMPLATE), |r, c| {
        photo.at(SOURCE.0 + r, SOURCE.1 + c)
    });
    let template_path = dir.join("template.png");
    save_grey(&template_path, &template);
    let frames_dir = dir.join("frames");
    std::fs::create_dir(&frames_dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let mut truth = Vec::new();
    for i in 0..frames {
        let (oy, ox) = crop_origin(i, frames);
        let frame = Array::from_fn(Shape::d2(FRAME, FRAME), |r, c| {
            let noise: f32 = (0..4).map(|_| rng.random_range(-0.5f32..0.5)).sum::<f32>() * 0.06;
            photo.at(oy + r, ox + c) + noise
        });
        save_grey(&frames_dir.join(format!("frame_{i:03}.png")), &frame);
        truth.push((SOURCE.0 - oy, SOURCE.1 - ox));
    }
    (template_path, truth)
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// `"key": value` of a flat JSON line, as text.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim()
}

/// The subpixel position `[y, x]` of the first match in a JSON line.
fn position(line: &str) -> (f64, f64) {
    let start = line.find("\"position\": [").unwrap() + 13;
    let rest = &line[start..];
    let inner = &rest[..rest.find(']').unwrap()];
    let mut parts = inner.split(',').map(|p| p.trim().parse::<f64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

fn check_track(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (template, truth) = make_frames(dir.path(), 200);
    let out = xcorr()
        .args(["track", template.to_str().unwrap()])
        .arg(dir.path().join("frames"))
        .args(["--jsonl", "--backend", backend])
        .assert()
        .success();
    let found = lines(&out.get_output().stdout);
    assert_eq!(found.len(), 200);
    for (i, (line, &(ty, tx))) in found.iter().zip(&truth).enumerate() {
        assert_eq!(field(line, "frame"), i.to_string());
        assert!(
            field(line, "file").ends_with(&format!("frame_{i:03}.png\"")),
            "{line}"
        );
        let (y, x) = position(line);
        assert!(
            (y - ty as f64).abs() <= 1.0 && (x - tx as f64).abs() <= 1.0,
            "frame {i}: found ({y}, {x}), truth ({ty}, {tx})"
        );
    }
    let summary = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        summary.contains("200 frames, 0 failed")
            && summary.contains(&format!("frames/s on {backend}")),
        "{summary}"
    );
}

#[test]
fn track_follows_200_frames_on_the_cpu() {
    check_track("cpu");
}

/// Whether the GPU tests run: an adapter exists, or `XCORR_REQUIRE_GPU` is set (then the
/// CLI's own failure fails the test). Says so when they are skipped.
fn gpu_or_required() -> bool {
    if std::env::var_os("XCORR_REQUIRE_GPU").is_none()
        && xcorr::Engine::with_backend(xcorr::Backend::Gpu).is_err()
    {
        eprintln!("skipped: no GPU adapter (set XCORR_REQUIRE_GPU=1 to fail instead)");
        return false;
    }
    true
}

#[test]
fn track_follows_200_frames_on_the_gpu() {
    if !gpu_or_required() {
        return;
    }
    check_track("gpu");
}

#[test]
fn corrupt_frames_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (template, truth) = make_frames(dir.path(), 200);
    let frames = dir.path().join("frames");
    let corrupt = [17, 101, 199];
    for i in corrupt {
        std::fs::write(
            frames.join(format!("frame_{i:03}.png")),
            b"not a PNG at all",
        )
        .unwrap();
    }
    let results = dir.path().join("track.jsonl");
    let out = xcorr()
        .args(["track", template.to_str().unwrap()])
        .arg(frames.join("*.png"))
        .args(["--search-window", "12", "--backend", "cpu", "-o"])
        .arg(&results)
        .assert()
        .success();
    assert!(out.get_output().stdout.is_empty());
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let skipped: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 3, "{stderr}");
    for (line, i) in skipped.iter().zip(corrupt) {
        assert!(line.contains(&format!("frame_{i:03}.png")), "{line}");
    }
    assert!(stderr.contains("200 frames, 3 failed"), "{stderr}");
    let found = lines(&std::fs::read(&results).unwrap());
    assert_eq!(found.len(), 197);
    for line in &found {
        let i: usize = field(line, "frame").parse().unwrap();
        assert!(!corrupt.contains(&i));
        let (y, x) = position(line);
        let (ty, tx) = truth[i];
        assert!(
            (y - ty as f64).abs() <= 1.0 && (x - tx as f64).abs() <= 1.0,
            "{line}"
        );
    }

    // --strict: the first corrupt frame stops the batch, exit 2, and -o is not written.
    let strict = dir.path().join("strict.jsonl");
    let out = xcorr()
        .args(["track", template.to_str().unwrap()])
        .arg(&frames)
        .args(["--strict", "--backend", "cpu", "-o"])
        .arg(&strict)
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("frame_017.png") && stderr.contains("--strict"),
        "{stderr}"
    );
    assert!(!strict.exists());
    assert_no_temporaries(dir.path());
}

/// Frames too small for the template in the middle of a pipelined `track` (frame k + 1 is
/// submitted before frame k is collected): each is reported, in order, and every other
/// frame keeps its match.
fn check_small_frames_fail_alone(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (template, truth) = make_frames(dir.path(), 40);
    let frames = dir.path().join("frames");
    let small = [9, 10, 25];
    for i in small {
        let tiny = Array::from_fn(Shape::d2(TEMPLATE - 1, FRAME), |r, c| {
            (r + c) as f32 / 300.0
        });
        save_grey(&frames.join(format!("frame_{i:03}.png")), &tiny);
    }
    let out = xcorr()
        .args(["track", template.to_str().unwrap()])
        .arg(&frames)
        .args(["--jsonl", "--backend", backend])
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let skipped: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 3, "{stderr}");
    for (line, i) in skipped.iter().zip(small) {
        assert!(
            line.contains(&format!("frame_{i:03}.png")) && line.contains("larger than the frame"),
            "{line}"
        );
    }
    assert!(stderr.contains("40 frames, 3 failed"), "{stderr}");
    let found = lines(&out.get_output().stdout);
    let indices: Vec<usize> = found
        .iter()
        .map(|l| field(l, "frame").parse().unwrap())
        .collect();
    let expected: Vec<usize> = (0..40).filter(|i| !small.contains(i)).collect();
    assert_eq!(indices, expected);
    for (line, &i) in found.iter().zip(&expected) {
        let (y, x) = position(line);
        let (ty, tx) = truth[i];
        assert!(
            (y - ty as f64).abs() <= 1.0 && (x - tx as f64).abs() <= 1.0,
            "{line}"
        );
    }
}

#[test]
fn small_frames_in_a_pipelined_track_fail_alone_on_the_cpu() {
    check_small_frames_fail_alone("cpu");
}

#[test]
fn small_frames_in_a_pipelined_track_fail_alone_on_the_gpu() {
    if !gpu_or_required() {
        return;
    }
    check_small_frames_fail_alone("gpu");
}

fn assert_no_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().ends_with(".part"),
            "{name:?} left behind"
        );
    }
}

#[test]
fn match_scenes_writes_csv_with_the_top_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (template, truth) = make_frames(dir.path(), 6);
    let out = xcorr()
        .args(["match", template.to_str().unwrap(), "--scenes"])
        .arg(dir.path().join("frames"))
        .args(["--top", "2", "--csv", "--backend", "cpu", "--quiet"])
        .assert()
        .success();
    assert!(
        out.get_output().stderr.is_empty(),
        "--quiet prints no summary"
    );
    let rows = lines(&out.get_output().stdout);
    assert_eq!(
        rows[0],
        "frame,file,rank,row,col,y,x,score,decode_ms,compute_ms"
    );
    assert_eq!(rows.len(), 1 + 6 * 2);
    for (i, &(ty, tx)) in truth.iter().enumerate() {
        let best: Vec<&str> = rows[1 + 2 * i].split(',').collect();
        assert_eq!(best[0], i.to_string());
        assert_eq!(best[2], "1");
        assert_eq!(
            (best[3], best[4]),
            (ty.to_string().as_str(), tx.to_string().as_str())
        );
        let second: Vec<&str> = rows[2 + 2 * i].split(',').collect();
        assert_eq!(second[2], "2");
        assert!(second[7].parse::<f64>().unwrap() < best[7].parse::<f64>().unwrap());
    }
}

#[test]
fn register_moving_frames_against_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let photo = photograph();
    let crop =
        |oy: usize, ox: usize| Array::from_fn(Shape::d2(96, 96), |r, c| photo.at(oy + r, ox + c));
    let reference = dir.path().join("ref.png");
    save_grey(&reference, &crop(100, 200));
    let shifts = [(0usize, 0usize), (3, 5), (7, 1)];
    for (i, &(dy, dx)) in shifts.iter().enumerate() {
        save_grey(
            &dir.path().join(format!("m{i}.png")),
            &crop(100 + dy, 200 + dx),
        );
    }
    let out = xcorr()
        .args(["register", reference.to_str().unwrap(), "--moving"])
        .arg(dir.path().join("m*.png"))
        .args(["--backend", "cpu", "--quiet"])
        .assert()
        .success();
    let found = lines(&out.get_output().stdout);
    assert_eq!(found.len(), 3);
    for (line, &(dy, dx)) in found.iter().zip(&shifts) {
        // Moving shows the photograph moved by (-dy, -dx): shifting it by (dy, dx) aligns it.
        assert!(line.contains(&format!("\"shift\": [{dy}, {dx}]")), "{line}");
    }
}

fn failure(cmd: &mut Command) -> String {
    let out = cmd.assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.starts_with("xcorr: error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn bad_batches_fail_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (template, _) = make_frames(dir.path(), 3);
    let t = template.to_str().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let results = dir.path().join("out.jsonl");

    let e = failure(
        xcorr()
            .args(["track", t])
            .arg(&empty)
            .arg("-o")
            .arg(&results),
    );
    assert!(e.contains("holds no frames"), "{e}");
    let e = failure(
        xcorr()
            .args(["match", t, "--scenes"])
            .arg(dir.path().join("frames/*.tif"))
            .arg("-o")
            .arg(&results),
    );
    assert!(e.contains("matches no files"), "{e}");
    let e = failure(
        xcorr()
            .args(["register", t, "--moving"])
            .arg(dir.path().join("frames"))
            .arg("-o")
            .arg(dir.path().join("no-such-dir/out.jsonl")),
    );
    assert!(e.contains("no-such-dir"), "{e}");
    // Unwritable locations that hold for root too: a file as the folder, a folder as -o.
    let e = failure(
        xcorr()
            .args(["track", t])
            .arg(dir.path().join("frames"))
            .arg("-o")
            .arg(template.join("out.jsonl")),
    );
    assert!(e.contains("cannot create a file"), "{e}");
    let e = failure(
        xcorr()
            .args(["match", t, "--scenes"])
            .arg(dir.path().join("frames"))
            .arg("-o")
            .arg(&empty),
    );
    assert!(e.contains("is a directory"), "{e}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root ignores permissions; the check only means something for other users.
        if std::fs::write(locked.join("probe"), b"").is_err() {
            let e = failure(
                xcorr()
                    .args(["track", t])
                    .arg(dir.path().join("frames"))
                    .arg("-o")
                    .arg(locked.join("out.jsonl")),
            );
            assert!(e.contains("cannot create a file"), "{e}");
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Every frame smaller than the template: each is reported, then nothing could be done.
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    for i in 0..2 {
        save_grey(
            &small.join(format!("s{i}.png")),
            &Array::from_fn(Shape::d2(20, 40), |r, c| {
                ((r * 7 + c * 3) % 11) as f32 / 11.0
            }),
        );
    }
    let out = xcorr()
        .args(["track", t])
        .arg(&small)
        .arg("-o")
        .arg(&results)
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr.matches("is larger than the frame").count(),
        2,
        "{stderr}"
    );
    assert!(stderr.contains("none of the 2 frames"), "{stderr}");
    assert!(!results.exists());

    // Some frames too small: those are reported, the others matched.
    std::fs::copy(
        dir.path().join("frames/frame_000.png"),
        small.join("s2.png"),
    )
    .unwrap();
    let out = xcorr()
        .args(["match", t, "--scenes"])
        .arg(&small)
        .args(["--backend", "cpu"])
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("s0.png") && stderr.contains("s1.png"),
        "{stderr}"
    );
    assert_eq!(lines(&out.get_output().stdout).len(), 1);
    assert_no_temporaries(dir.path());
}

fn rgb(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// The colour of the best match's rectangle (the binary's `overlay::PALETTE[0]`).
const FIRST_RECTANGLE: [u8; 3] = [255, 64, 64];

#[test]
fn match_overlay_and_heatmap_mark_the_match() {
    let dir = tempfile::tempdir().unwrap();
    let coins = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/coins.png");
    let photo = xcorr::io::read_image(&coins).unwrap();
    let template = Array::from_fn(Shape::d2(40, 50), |r, c| photo.at(100 + r, 200 + c));
    let template_path = dir.path().join("t.png");
    save_grey(&template_path, &template);
    let (overlay, heat) = (dir.path().join("overlay.png"), dir.path().join("heat.png"));
    xcorr()
        .arg("match")
        .args([&coins, &template_path])
        .args(["--backend", "cpu", "--overlay"])
        .arg(&overlay)
        .arg("--heatmap")
        .arg(&heat)
        .assert()
        .success();
    // coins.png is 384 wide: drawn 1:1. The rectangle's edges run along the match's
    // top-left corner (100, 200) and its far corner (139, 249); inside, the photograph.
    let img = rgb(&overlay);
    assert_eq!(img.dimensions(), (384, 303));
    for (x, y) in [
        (200, 100),
        (249, 100),
        (200, 139),
        (249, 139),
        (225, 100),
        (200, 120),
        (249, 120),
        (225, 139),
    ] {
        assert_eq!(img.get_pixel(x, y).0, FIRST_RECTANGLE, "({x}, {y})");
    }
    let inside = img.get_pixel(225, 120).0;
    assert_eq!(
        inside[0], inside[1],
        "the grey photograph inside the rectangle"
    );
    assert_ne!(img.get_pixel(199, 99).0, FIRST_RECTANGLE);

    // The heatmap: a colour bar (turbo's top colour above its bottom colour in one column),
    // and the best match ringed in white.
    let img = rgb(&heat);
    let turbo = |t: f64| {
        let c = colorous::TURBO.eval_continuous(t);
        [c.r, c.g, c.b]
    };
    // The bar's end bands are half a band inside the range, and turbo changes fast at its
    // dark end.
    let near = |p: [u8; 3], q: [u8; 3]| p.iter().zip(q).all(|(&a, b)| a.abs_diff(b) <= 24);
    let (w, h) = img.dimensions();
    let bar = (w / 2..w).any(|x| {
        let column: Vec<[u8; 3]> = (0..h).map(|y| img.get_pixel(x, y).0).collect();
        let top = column.iter().position(|&p| near(p, turbo(1.0)));
        let bottom = column.iter().rposition(|&p| near(p, turbo(0.0)));
        matches!((top, bottom), (Some(t), Some(b)) if b > t + 100)
    });
    assert!(bar, "no colour bar");
    // The map (264 x 335) is drawn 1:1 from (70, 16): the ring of radius 8 around (200, 100).
    let (cx, cy) = (70 + 200, 16 + 100);
    let white = (cx - 12..=cx + 12)
        .flat_map(|x| (cy - 12..=cy + 12).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 == [255, 255, 255])
        .count();
    assert!(white > 20, "{white} white pixels around the best match");
}

#[test]
fn track_overlays_draw_the_match_and_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let (template, truth) = make_frames(dir.path(), 12);
    let overlays = dir.path().join("overlays");
    std::fs::create_dir(&overlays).unwrap();
    xcorr()
        .args(["track", template.to_str().unwrap()])
        .arg(dir.path().join("frames"))
        .args(["--backend", "cpu", "--trail", "--overlay-dir"])
        .arg(&overlays)
        .assert()
        .success();
    assert_eq!(std::fs::read_dir(&overlays).unwrap().count(), 12);
    // 128 x 128 frames are drawn 3x enlarged.
    let last = rgb(&overlays.join("frame_011.png"));
    assert_eq!(last.dimensions(), (384, 384));
    let (ty, tx) = truth[11];
    let (y, x) = (ty as u32 * 3, tx as u32 * 3);
    let side = TEMPLATE as u32 * 3;
    for (px, py) in [(x, y + 10), (x + side - 1, y + 10), (x + 10, y + side - 1)] {
        assert_eq!(last.get_pixel(px, py).0, FIRST_RECTANGLE, "({px}, {py})");
    }
    let trail = last.pixels().filter(|p| p.0 == [255, 200, 0]).count();
    assert!(trail > 50, "{trail} trail pixels");
    // The first frame has no path yet.
    let first = rgb(&overlays.join("frame_000.png"));
    assert_eq!(first.pixels().filter(|p| p.0 == [255, 200, 0]).count(), 0);

    // A missing overlay folder is an error before any work.
    let e = failure(
        xcorr()
            .args(["track", template.to_str().unwrap()])
            .arg(dir.path().join("frames"))
            .arg("--overlay-dir")
            .arg(dir.path().join("missing")),
    );
    assert!(e.contains("not a folder"), "{e}");
}

#[test]
fn match_scenes_overlays_draw_each_scenes_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (template, truth) = make_frames(dir.path(), 4);
    let overlays = dir.path().join("overlays");
    std::fs::create_dir(&overlays).unwrap();
    let results = dir.path().join("found.jsonl");
    xcorr()
        .args(["match", template.to_str().unwrap(), "--scenes"])
        .arg(dir.path().join("frames"))
        .args(["--top", "2", "--backend", "cpu", "--quiet", "-o"])
        .arg(&results)
        .arg("--overlay-dir")
        .arg(&overlays)
        .assert()
        .success();
    let found = lines(&std::fs::read(&results).unwrap());
    assert_eq!(found.len(), 4);
    let mut names: Vec<_> = std::fs::read_dir(&overlays)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "frame_000.png",
            "frame_001.png",
            "frame_002.png",
            "frame_003.png"
        ]
    );
    let side = TEMPLATE as u32 * 3;
    for (i, &(ty, tx)) in truth.iter().enumerate() {
        // 128 x 128 scenes are drawn 3x enlarged; the best match's rectangle is on the face.
        let img = rgb(&overlays.join(format!("frame_{i:03}.png")));
        assert_eq!(img.dimensions(), (384, 384));
        let (y, x) = (ty as u32 * 3, tx as u32 * 3);
        for (px, py) in [(x, y + 10), (x + side - 1, y + 10), (x + 10, y + side - 1)] {
            assert_eq!(
                img.get_pixel(px, py).0,
                FIRST_RECTANGLE,
                "{i}: ({px}, {py})"
            );
        }
        // The second match is drawn too, in the second colour.
        let second = img.pixels().filter(|p| p.0 == [64, 220, 64]).count();
        assert!(second > 100, "{i}: {second} pixels of the second rectangle");
    }

    // --overlay-dir is a batch flag, and --overlay a single scene's.
    let e = failure(
        xcorr()
            .args(["match", template.to_str().unwrap(), "--scenes"])
            .arg(dir.path().join("frames"))
            .arg("--overlay")
            .arg(dir.path().join("one.png")),
    );
    assert!(e.contains("--overlay-dir"), "{e}");
    let e = failure(
        xcorr()
            .args(["match", template.to_str().unwrap(), "--scenes"])
            .arg(dir.path().join("frames"))
            .arg("--overlay-dir")
            .arg(&results),
    );
    assert!(e.contains("not a folder"), "{e}");
    assert!(!dir.path().join("one.png").exists());
}
