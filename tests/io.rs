//! `.npy` and image files: round trips, numpy's layouts, and every way a file can be wrong.

mod npy_support;

use npy_support::{descr_of, f32_le, f64_be, f64_le, npy_bytes, sample_values, typed_npy, DTYPES};
use num_complex::Complex;
use std::path::{Path, PathBuf};
use xcorr::io::{
    read_image, read_input, read_npy, read_npy_from, read_npy_limited, read_npy_planes,
    read_npy_planes_from, write_npy, write_npy_any, write_npy_planes, AnyArray, Planes,
};
use xcorr::{Array, Error, Shape};

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Deterministic values that are not all alike: a few digits after the point, both signs.
fn wiggle(i: usize) -> f64 {
    ((i as f64) * 0.7311).sin() * 3.0 + (i % 5) as f64 * 0.25
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The message of an error that must be `Error::File` for `path`.
fn file_message(err: Error, path: &Path) -> String {
    match err {
        Error::File { path: p, message } => {
            assert_eq!(p, path.display().to_string());
            message
        }
        other => panic!("expected Error::File, got {other:?}"),
    }
}

fn all_dtypes(shape: Shape) -> Vec<AnyArray> {
    let re = |r: usize, c: usize| wiggle(r * 31 + c);
    let im = |r: usize, c: usize| wiggle(r * 17 + c + 1000);
    vec![
        AnyArray::F32(Array::from_fn(shape, |r, c| re(r, c) as f32)),
        AnyArray::F64(Array::from_fn(shape, re)),
        AnyArray::C32(Array::from_fn(shape, |r, c| {
            Complex::new(re(r, c) as f32, im(r, c) as f32)
        })),
        AnyArray::C64(Array::from_fn(shape, |r, c| {
            Complex::new(re(r, c), im(r, c))
        })),
    ]
}

#[test]
fn round_trip_every_dtype_1d_and_2d() {
    let dir = tempfile::tempdir().unwrap();
    for shape in [
        Shape::d1(7),
        Shape::d2(3, 5),
        Shape::d2(1, 4),
        Shape::d2(6, 1),
    ] {
        for a in all_dtypes(shape) {
            let path = dir.path().join(format!("{}.npy", a.dtype_name()));
            write_npy_any(std::fs::File::create(&path).unwrap(), &a).unwrap();
            let back = read_npy(&path).unwrap();
            assert_eq!(back, a, "{} {}", a.dtype_name(), shape);
            assert_eq!(back.shape().ndim(), shape.ndim());
        }
    }
}

#[test]
fn written_headers_carry_numpy_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let expect = [
        ("float32", "<f4"),
        ("float64", "<f8"),
        ("complex64", "<c8"),
        ("complex128", "<c16"),
    ];
    for (a, (name, descr)) in all_dtypes(Shape::d2(2, 3)).iter().zip(expect) {
        assert_eq!(a.dtype_name(), name);
        let path = dir.path().join("x.npy");
        write_npy_any(std::fs::File::create(&path).unwrap(), a).unwrap();
        assert_eq!(descr_of(&std::fs::read(&path).unwrap()), descr);
    }
}

#[test]
fn results_keep_their_precision() {
    // Issue #13 item 7: float64 results used to be narrowed to float32 (1e300 became inf).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    let real = Array::from_fn(Shape::d2(4, 3), |r, c| wiggle(r * 3 + c) * 1e300);
    write_npy(std::fs::File::create(&path).unwrap(), &real).unwrap();
    assert_eq!(descr_of(&std::fs::read(&path).unwrap()), "<f8");
    assert_eq!(read_npy(&path).unwrap(), AnyArray::F64(real.clone()));
    let single = real.map(|&v| (v / 1e300) as f32);
    write_npy(std::fs::File::create(&path).unwrap(), &single).unwrap();
    assert_eq!(descr_of(&std::fs::read(&path).unwrap()), "<f4");
    assert_eq!(read_npy(&path).unwrap(), AnyArray::F32(single));

    let complex = Array::from_fn(Shape::d1(5), |_, c| Complex::new(wiggle(c), -wiggle(c + 9)));
    write_npy(std::fs::File::create(&path).unwrap(), &complex).unwrap();
    assert_eq!(descr_of(&std::fs::read(&path).unwrap()), "<c16");
    assert_eq!(read_npy(&path).unwrap(), AnyArray::C64(complex.clone()));
    let complex = complex.map(|v| Complex::new(v.re as f32, v.im as f32));
    write_npy(std::fs::File::create(&path).unwrap(), &complex).unwrap();
    assert_eq!(descr_of(&std::fs::read(&path).unwrap()), "<c8");
    assert_eq!(read_npy(&path).unwrap(), AnyArray::C32(complex));
}

#[test]
fn reads_numpy_layouts_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let v: Vec<f64> = (0..6).map(wiggle).collect();

    let p = write_bytes(
        dir.path(),
        "f4.npy",
        &npy_bytes(
            "<f4",
            false,
            &[2, 3],
            &f32_le(&v.iter().map(|&x| x as f32).collect::<Vec<_>>()),
        ),
    );
    let a = read_npy(&p).unwrap();
    assert_eq!(a.shape(), Shape::d2(2, 3));
    assert_eq!(a.to_f32().unwrap().at(1, 2), v[5] as f32);

    let p = write_bytes(
        dir.path(),
        "f8.npy",
        &npy_bytes("<f8", false, &[6], &f64_le(&v)),
    );
    assert_eq!(
        read_npy(&p).unwrap(),
        AnyArray::F64(Array::from_vec(v.clone()))
    );

    // Big-endian data is byte-swapped on reading.
    let p = write_bytes(
        dir.path(),
        "be.npy",
        &npy_bytes(">f8", false, &[2, 3], &f64_be(&v)),
    );
    assert_eq!(
        read_npy(&p).unwrap(),
        AnyArray::F64(Array::new(v.clone(), Shape::d2(2, 3)).unwrap())
    );

    // complex64: re, im pairs of float32.
    let pairs: Vec<f32> = vec![1.0, -2.0, 3.5, 0.25];
    let p = write_bytes(
        dir.path(),
        "c8.npy",
        &npy_bytes("<c8", false, &[2], &f32_le(&pairs)),
    );
    assert_eq!(
        read_npy(&p).unwrap(),
        AnyArray::C32(Array::from_vec(vec![
            Complex::new(1.0, -2.0),
            Complex::new(3.5, 0.25)
        ]))
    );
    let p = write_bytes(
        dir.path(),
        "c16.npy",
        &npy_bytes("<c16", false, &[1, 1], &f64_le(&[7.0, -8.0])),
    );
    assert_eq!(
        read_npy(&p).unwrap(),
        AnyArray::C64(Array::new(vec![Complex::new(7.0, -8.0)], Shape::d2(1, 1)).unwrap())
    );
}

#[test]
fn uint8_reads_as_float32_raw_values() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = vec![0, 1, 127, 128, 254, 255];
    let p = write_bytes(
        dir.path(),
        "u8.npy",
        &npy_bytes("|u1", false, &[3, 2], &bytes),
    );
    let a = read_npy(&p).unwrap();
    assert_eq!(a.dtype_name(), "float32");
    assert_eq!(
        a.to_f32().unwrap().data(),
        &[0.0, 1.0, 127.0, 128.0, 254.0, 255.0]
    );
}

#[test]
fn fortran_order_is_transposed_to_row_major() {
    let dir = tempfile::tempdir().unwrap();
    // np.asfortranarray(np.arange(6.0).reshape(2, 3)) stores the columns: 0 3 1 4 2 5.
    let stored = [0.0, 3.0, 1.0, 4.0, 2.0, 5.0];
    let p = write_bytes(
        dir.path(),
        "f.npy",
        &npy_bytes("<f8", true, &[2, 3], &f64_le(&stored)),
    );
    let a = read_npy(&p).unwrap().to_f64().unwrap();
    assert_eq!(a.shape(), Shape::d2(2, 3));
    assert_eq!(a.data(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    // 1-D Fortran order is the same as C order.
    let p = write_bytes(
        dir.path(),
        "f1.npy",
        &npy_bytes("<f8", true, &[3], &f64_le(&[1.0, 2.0, 3.0])),
    );
    assert_eq!(
        read_npy(&p).unwrap().to_f64().unwrap().data(),
        &[1.0, 2.0, 3.0]
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.npy");
    let msg = file_message(read_npy(&p).unwrap_err(), &p);
    assert_eq!(msg, "no such file");
    let p = dir.path().join("nope.png");
    assert_eq!(
        file_message(read_input(&p).unwrap_err(), &p),
        "no such file"
    );
}

#[test]
fn truncated_data() {
    let dir = tempfile::tempdir().unwrap();
    let full = npy_bytes("<f4", false, &[4, 4], &f32_le(&[1.0; 16]));
    let p = write_bytes(dir.path(), "t.npy", &full[..full.len() - 5]);
    let msg = file_message(read_npy(&p).unwrap_err(), &p);
    assert!(msg.starts_with("truncated"), "{msg}");
    assert!(msg.contains("64 bytes") && msg.contains("59"), "{msg}");
}

#[test]
fn corrupt_or_truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let full = npy_bytes("<f4", false, &[4, 4], &f32_le(&[1.0; 16]));
    let bad_dict: Vec<u8> = npy_bytes("<f4", false, &[4], &[])
        .iter()
        .map(|&b| if b == b'{' { b'[' } else { b })
        .collect();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"this is not an npy file at all".to_vec(),
            "not a .npy file (it does not start with the npy magic bytes)",
        ),
        (vec![], "empty file (0 bytes), not a .npy array"),
        (
            full[..4].to_vec(),
            "truncated: the file ends inside the .npy header",
        ),
        (
            full[..40].to_vec(),
            "truncated: the file ends inside the .npy header",
        ),
        (bad_dict, "not a valid .npy file ("),
    ];
    for (bytes, expect) in cases {
        let p = write_bytes(dir.path(), "c.npy", &bytes);
        let msg = file_message(read_npy(&p).unwrap_err(), &p);
        assert!(msg.starts_with(expect), "{msg}");
    }
}

#[test]
fn every_dtype_in_every_order_reads_as_its_promoted_type() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [3usize, 5];
    for &(name, code, promoted) in DTYPES {
        let values = sample_values(code, 15);
        for big in [false, true] {
            for fortran in [false, true] {
                let bytes = typed_npy(code, big, fortran, &shape, &values);
                let p = write_bytes(dir.path(), "t.npy", &bytes);
                let a = read_npy(&p).unwrap();
                let what = format!("{name} big={big} fortran={fortran}");
                assert_eq!(a.dtype_name(), promoted, "{what}");
                assert_eq!(a.shape(), Shape::d2(3, 5), "{what}");
                // Every value exact: the promoted type holds each of them.
                let got = a.to_c64();
                assert_eq!(got.data(), &values[..], "{what}");
                // The stream reader agrees with the file reader.
                assert_eq!(read_npy_from(&bytes[..]).unwrap(), a, "{what}");
            }
        }
    }
}

#[test]
fn bool_reads_any_nonzero_byte_as_one() {
    let bytes = npy_bytes("|b1", false, &[4], &[0, 1, 2, 255]);
    let a = read_npy_from(&bytes[..]).unwrap();
    assert_eq!(a.to_f32().unwrap().data(), &[0.0, 1.0, 1.0, 1.0]);
}

#[test]
fn unsupported_dtypes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for (descr, size, name) in [
        ("<f16", 16, "float128"),
        ("<i16", 16, "int128"),
        ("<c32", 32, "complex256"),
        ("|S4", 4, "bytes"),
    ] {
        let p = write_bytes(
            dir.path(),
            "d.npy",
            &npy_bytes(descr, false, &[3], &vec![0u8; 3 * size]),
        );
        let msg = file_message(read_npy(&p).unwrap_err(), &p);
        assert!(
            msg.starts_with(&format!("unsupported dtype {name} ('{descr}')")),
            "{msg}"
        );
        assert!(msg.contains("float16, float32"), "{msg}");
    }
}

#[test]
fn three_d_and_zero_d_are_refused_with_their_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_bytes(
        dir.path(),
        "3d.npy",
        &npy_bytes("<f4", false, &[2, 3, 4], &f32_le(&[0.5; 24])),
    );
    let msg = file_message(read_npy(&p).unwrap_err(), &p);
    assert_eq!(
        msg,
        "3-D array of shape (2, 3, 4); xcorr reads 1-D or 2-D arrays here"
    );
    let p = write_bytes(
        dir.path(),
        "0d.npy",
        &npy_bytes("<f4", false, &[], &f32_le(&[0.5])),
    );
    let msg = file_message(read_npy(&p).unwrap_err(), &p);
    assert!(msg.starts_with("0-D array of shape ()"), "{msg}");
    let p = write_bytes(
        dir.path(),
        "4d.npy",
        &npy_bytes("<f4", false, &[1, 2, 3, 1], &f32_le(&[0.5; 6])),
    );
    let msg = file_message(read_npy_planes(&p, u64::MAX).unwrap_err(), &p);
    assert!(
        msg.starts_with("4-D array of shape (1, 2, 3, 1); xcorr reads 1-D, 2-D or 3-D"),
        "{msg}"
    );
}

#[test]
fn three_d_arrays_read_as_channel_planes_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, cols, channels) = (4, 5, 3);
    for &(name, code, promoted) in DTYPES {
        let values = sample_values(code, rows * cols * channels);
        for fortran in [false, true] {
            let bytes = typed_npy(code, true, fortran, &[rows, cols, channels], &values);
            let p = write_bytes(dir.path(), "rgb.npy", &bytes);
            let read = read_npy_planes(&p, u64::MAX).unwrap();
            assert_eq!(read.channels(), Some(channels));
            assert_eq!(read.describe_shape(), "(4, 5, 3)");
            for (k, plane) in read.planes().iter().enumerate() {
                assert_eq!(plane.dtype_name(), promoted, "{name}");
                // numpy's a[r, c, k] is values[(r * cols + c) * channels + k].
                let want = Array::from_fn(Shape::d2(rows, cols), |r, c| {
                    values[(r * cols + c) * channels + k]
                });
                assert_eq!(plane.to_c64(), want, "{name} fortran={fortran} plane {k}");
            }
        }
    }
    // 2-D files read as one plane, as read_npy reads them.
    let p = write_bytes(
        dir.path(),
        "2d.npy",
        &npy_bytes("<f4", false, &[2, 2], &f32_le(&[1.0, 2.0, 3.0, 4.0])),
    );
    let read = read_npy_planes(&p, u64::MAX).unwrap();
    assert_eq!(read, Planes::Single(read_npy(&p).unwrap()));
    assert_eq!(read.channels(), None);
}

#[test]
fn planes_are_written_channels_last_and_read_back() {
    let planes: Vec<Array<f64>> = (0..4)
        .map(|k| Array::from_fn(Shape::d2(3, 2), |r, c| wiggle(100 * k + 10 * r + c)))
        .collect();
    let mut bytes = Vec::new();
    write_npy_planes(&mut bytes, &planes).unwrap();
    assert_eq!(descr_of(&bytes), "<f8");
    let read = read_npy_planes_from(&bytes[..]).unwrap();
    let back: Vec<Array<f64>> = read
        .into_planes()
        .into_iter()
        .map(|p| p.into_f64().unwrap())
        .collect();
    assert_eq!(back, planes);
    // Byte for byte what numpy lays out: np.stack(planes, axis=-1), C order.
    let stacked: Vec<f64> = (0..6)
        .flat_map(|i| planes.iter().map(move |p| p.data()[i]))
        .collect();
    assert_eq!(
        bytes,
        npy_bytes("<f8", false, &[3, 2, 4], &f64_le(&stacked))
    );
    // Planes that do not stack are refused before a byte is written.
    let mut out = Vec::new();
    let odd = vec![planes[0].clone(), Array::zeros(Shape::d2(2, 3))];
    assert!(write_npy_planes(&mut out, &odd).is_err());
    assert!(write_npy_planes::<f32>(&mut out, &[]).is_err());
    assert!(out.is_empty());
}

#[test]
fn the_memory_limit_counts_the_promoted_type() {
    // 1000 uint8 values are 1000 bytes in the file and 4000 as float32.
    let dir = tempfile::tempdir().unwrap();
    let p = write_bytes(
        dir.path(),
        "u8.npy",
        &npy_bytes("|u1", false, &[1000], &[7u8; 1000]),
    );
    assert!(read_npy_limited(&p, 4000).is_ok());
    let msg = file_message(read_npy_limited(&p, 3999).unwrap_err(), &p);
    assert!(msg.contains("as float32, more than the limit"), "{msg}");
}

#[test]
fn empty_arrays_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for shape in [&[0usize][..], &[0, 5], &[3, 0]] {
        let p = write_bytes(dir.path(), "e.npy", &npy_bytes("<f8", false, shape, &[]));
        let msg = file_message(read_npy(&p).unwrap_err(), &p);
        assert!(msg.starts_with("empty array of shape"), "{msg}");
    }
}

#[test]
fn unknown_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_bytes(dir.path(), "table.csv", b"1,2,3\n");
    let msg = file_message(read_input(&p).unwrap_err(), &p);
    assert!(
        msg.starts_with("unknown file type '.csv' (expected .npy or an image"),
        "{msg}"
    );
    let p = write_bytes(dir.path(), "noext", b"");
    assert!(file_message(read_input(&p).unwrap_err(), &p).starts_with("no file extension"));
}

#[test]
fn photographs_become_gray_in_unit_range() {
    // coins.png: 384 wide, 303 high, 8-bit gray.
    let coins = read_image(data_file("coins.png")).unwrap();
    assert_eq!(coins.shape(), Shape::d2(303, 384));
    let (lo, hi) = min_max(coins.data());
    assert!(lo >= 0.0 && hi <= 1.0 && hi - lo > 0.5, "{lo} {hi}");
    // Values are the 8-bit levels over 255.
    assert!(coins
        .data()
        .iter()
        .all(|&v| ((v * 255.0).round() - v * 255.0).abs() < 1e-3));
    // astronaut.png: 512×512 RGB.
    let astro = read_input(data_file("astronaut.png")).unwrap();
    assert_eq!(astro.dtype_name(), "float32");
    assert_eq!(astro.shape(), Shape::d2(512, 512));
    let (lo, hi) = min_max(astro.to_f32().unwrap().data());
    assert!(lo >= 0.0 && hi <= 1.0 && hi - lo > 0.5, "{lo} {hi}");
}

fn min_max(v: &[f32]) -> (f32, f32) {
    v.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        })
}

#[test]
fn every_image_format_reads_with_rows_as_height() {
    let dir = tempfile::tempdir().unwrap();
    // 5 wide, 3 high; white at (row 1, col 4), black elsewhere.
    let img = image::RgbImage::from_fn(5, 3, |x, y| {
        if (x, y) == (4, 1) {
            image::Rgb([255, 255, 255])
        } else {
            image::Rgb([0, 0, 0])
        }
    });
    for ext in ["png", "jpg", "tif", "bmp", "gif", "PNG"] {
        let p = dir.path().join(format!("im.{ext}"));
        img.save(&p).unwrap();
        let a = read_input(&p).unwrap().to_f32().unwrap();
        assert_eq!(a.shape(), Shape::d2(3, 5), "{ext}");
        let (lo, hi) = min_max(a.data());
        assert!(lo >= 0.0 && hi <= 1.0, "{ext}");
        // JPEG blurs a single pixel; the brightest pixel stays where it was.
        let argmax = a
            .data()
            .iter()
            .enumerate()
            .fold(0, |m, (i, &v)| if v > a.data()[m] { i } else { m });
        assert_eq!(argmax, 5 + 4, "{ext}");
    }
}

#[test]
fn colour_becomes_luma() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rgb.png");
    image::RgbImage::from_fn(3, 1, |x, _| {
        let mut px = [0u8; 3];
        px[x as usize] = 255;
        image::Rgb(px)
    })
    .save(&p)
    .unwrap();
    let a = read_image(&p).unwrap();
    // Rec. 709 weights: green dominates, then red, then blue.
    let d = a.data();
    assert!(d[1] > d[0] && d[0] > d[2] && d[2] > 0.0, "{d:?}");
    assert!((d[0] + d[1] + d[2] - 1.0).abs() < 0.01, "{d:?}");
}

#[test]
fn corrupt_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_bytes(dir.path(), "broken.png", b"\x89PNG\r\n\x1a\nnot really");
    let msg = file_message(read_input(&p).unwrap_err(), &p);
    assert!(msg.starts_with("cannot decode image"), "{msg}");
    // A real photograph cut short.
    let bytes = std::fs::read(data_file("coins.png")).unwrap();
    let p = write_bytes(dir.path(), "short.png", &bytes[..5000]);
    let msg = file_message(read_input(&p).unwrap_err(), &p);
    assert_eq!(msg, "truncated image (the file ends early)");
}
