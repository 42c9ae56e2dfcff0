//! `xcorr match` and `xcorr register` on a real photograph, and their bad input.

use assert_cmd::Command;
use std::path::PathBuf;

fn xcorr() -> Command {
    let mut cmd = Command::cargo_bin("xcorr").unwrap();
    cmd.env("RUST_LOG", "off");
    cmd
}

fn coins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/coins.png")
}

/// A crop of the photograph (rows 100..140, cols 200..250) written as .npy.
fn write_crop(dir: &std::path::Path) -> PathBuf {
    let img = xcorr::io::read_image(coins()).unwrap();
    let crop = xcorr::Array::from_fn(xcorr::Shape::d2(40, 50), |r, c| img.at(100 + r, 200 + c));
    let path = dir.join("crop.npy");
    xcorr::io::write_npy(std::fs::File::create(&path).unwrap(), &crop).unwrap();
    path
}

#[test]
fn match_finds_a_crop_of_the_photograph() {
    let dir = tempfile::tempdir().unwrap();
    let crop = write_crop(dir.path());
    let map = dir.path().join("map.npy");
    let heat = dir.path().join("map.png");
    let out = xcorr()
        .args([
            "match",
            coins().to_str().unwrap(),
            crop.to_str().unwrap(),
            "--backend",
            "cpu",
        ])
        .args([
            "-o",
            map.to_str().unwrap(),
            "--heatmap",
            heat.to_str().unwrap(),
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let first: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&first[..2], &["100", "200"], "{text}");
    assert!(map.exists() && heat.exists());
    let json = xcorr()
        .args([
            "match",
            coins().to_str().unwrap(),
            crop.to_str().unwrap(),
            "--json",
            "--backend",
            "cpu",
        ])
        .assert()
        .success();
    let text = String::from_utf8(json.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("\"matches\": [{\"row\": 100, \"col\": 200"),
        "{text}"
    );
}

#[test]
fn register_recovers_an_integer_shift() {
    let dir = tempfile::tempdir().unwrap();
    let img = xcorr::io::read_image(coins()).unwrap();
    let (rows, cols) = (img.shape().rows(), img.shape().cols());
    // moving = reference rolled by (+5, −9): registering it needs (−5, +9).
    let moving = xcorr::Array::from_fn(img.shape(), |r, c| {
        img.at((r + rows - 5) % rows, (c + 9) % cols)
    });
    let path = dir.path().join("moving.npy");
    xcorr::io::write_npy(std::fs::File::create(&path).unwrap(), &moving).unwrap();
    let out = xcorr()
        .args([
            "register",
            coins().to_str().unwrap(),
            path.to_str().unwrap(),
            "--json",
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("\"shift\": [-5, 9]"), "{text}");
}

/// Each case exits 2 with one line of stderr containing its needle, and leaves `out` unwritten.
fn exits_2_naming(cases: &[(Vec<String>, &str)], out: &std::path::Path) {
    for (args, needle) in cases {
        let run = xcorr().args(args).assert().code(2);
        let err = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} left a file");
    }
}

#[test]
fn bad_vision_input_exits_2_with_one_line_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let crop = write_crop(dir.path());
    let map = dir.path().join("map.npy");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "match".into(),
                crop.display().to_string(),
                coins().display().to_string(),
                "-o".into(),
                map.display().to_string(),
            ],
            "larger than the scene",
        ),
        (
            vec![
                "register".into(),
                coins().display().to_string(),
                crop.display().to_string(),
            ],
            "one shape",
        ),
        (
            vec![
                "match".into(),
                coins().display().to_string(),
                crop.display().to_string(),
                "-o".into(),
                dir.path().join("m.png").display().to_string(),
            ],
            ".npy",
        ),
        (
            vec![
                "match".into(),
                coins().display().to_string(),
                "missing.npy".into(),
            ],
            "missing.npy",
        ),
    ];
    exits_2_naming(&cases, &map);
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn mask_alpha_matches_the_cut_out_patch_exactly() {
    // patch_cutout.png is a patch of the photograph with a transparent surround, pasted
    // at (150, 210) on other coins: with its alpha as the mask the match is perfect, without
    // it the surround spoils the score.
    let run = |extra: &[&str]| {
        let mut args = vec![
            "match".to_string(),
            data("patch_on_coins.png").display().to_string(),
            data("patch_cutout.png").display().to_string(),
            "--color".into(),
            "--json".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = xcorr().args(&args).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let masked = run(&["--mask", "alpha"]);
    assert!(
        masked.contains("\"row\": 150, \"col\": 210, \"score\": 0.9999"),
        "{masked}"
    );
    let plain = run(&[]);
    let score: f64 = plain
        .split("\"score\": ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(score < 0.9, "{plain}");
}

#[test]
fn bad_masks_and_channels_exit_2_naming_the_problem_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let crop = write_crop(dir.path()); // 40 × 50
    let map = dir.path().join("map.npy");
    let npy = |name: &str, shape: xcorr::Shape, value: &dyn Fn(usize) -> f64| {
        let path = dir.path().join(name);
        let x = xcorr::Array::new((0..shape.len()).map(value).collect(), shape).unwrap();
        xcorr::io::write_npy(std::fs::File::create(&path).unwrap(), &x).unwrap();
        path.display().to_string()
    };
    let wrong_shape = npy("shape.npy", xcorr::Shape::d2(30, 30), &|_| 1.0);
    let zero = npy("zero.npy", xcorr::Shape::d2(40, 50), &|_| 0.0);
    let negative = npy("neg.npy", xcorr::Shape::d2(40, 50), &|i| {
        if i == 7 {
            -0.5
        } else {
            1.0
        }
    });
    let s = |p: PathBuf| p.display().to_string();
    let grey_match = |mask: &str| {
        vec![
            "match".to_string(),
            s(coins()),
            s(crop.clone()),
            "--mask".into(),
            mask.to_string(),
            "-o".into(),
            s(map.clone()),
        ]
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (grey_match(&wrong_shape), "mask has shape"),
        (grey_match(&zero), "all zero"),
        (grey_match(&negative), "non-negative"),
        (grey_match("alpha"), "no alpha channel"),
        (
            vec![
                "match".into(),
                s(data("astronaut.png")),
                s(coins()),
                "--color".into(),
                "-o".into(),
                s(map.clone()),
            ],
            "channel",
        ),
    ];
    exits_2_naming(&cases, &map);
}
