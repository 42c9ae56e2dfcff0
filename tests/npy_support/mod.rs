//! Hand-built `.npy` files, byte for byte as numpy lays them out, for the I/O and CLI tests
//! (numpy is not needed to run the tests).

#![allow(dead_code)]

/// A version 1.0 `.npy` file: magic, header dict padded with spaces to a multiple of 64 bytes
/// and ended by a newline, then `data` as given.
pub fn npy_bytes(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
    // magic (6) + version (2) + header length (2) + dict + '\n' must be a multiple of 64.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f32_le(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn f64_le(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn f64_be(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

/// The dtype string of a `.npy` file's header, e.g. `<f4`.
pub fn descr_of(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[10..]);
    let start = text.find("'descr': '").expect("descr key") + "'descr': '".len();
    let end = start + text[start..].find('\'').unwrap();
    text[start..end].to_string()
}

/// Every dtype `read_npy` accepts: numpy's name, its type code and size (as in `<i2`), and
/// the type xcorr reads it as (the promotion table of `xcorr::io`).
pub const DTYPES: &[(&str, &str, &str)] = &[
    ("bool", "b1", "float32"),
    ("uint8", "u1", "float32"),
    ("int8", "i1", "float32"),
    ("uint16", "u2", "float32"),
    ("int16", "i2", "float32"),
    ("float16", "f2", "float32"),
    ("float32", "f4", "float32"),
    ("uint32", "u4", "float64"),
    ("int32", "i4", "float64"),
    ("uint64", "u8", "float64"),
    ("int64", "i8", "float64"),
    ("float64", "f8", "float64"),
    ("complex64", "c8", "complex64"),
    ("complex128", "c16", "complex128"),
];

/// `n` values that `code` holds exactly, spread over its range (integer extremes included,
/// and for the wide types values that a narrower type would round; floats far from 1 but
/// with squares in range), as complex numbers (zero imaginary part for real types).
pub fn sample_values(code: &str, n: usize) -> Vec<num_complex::Complex<f64>> {
    use num_complex::Complex;
    let pick = |set: &[f64], i: usize| set[i % set.len()];
    (0..n)
        .map(|i| {
            let p2 = 2f64.powi(i as i32 % 5); // scaling by 2^k keeps a float exact
            let re = match code {
                "b1" => (i % 3 == 1) as u8 as f64,
                "u1" => pick(&[0.0, 255.0, 7.0, 128.0, 200.0], i),
                "i1" => pick(&[-128.0, 127.0, -1.0, 3.0, -77.0], i),
                "u2" => pick(&[65535.0, 0.0, 40000.0, 12.0, 65534.0], i),
                "i2" => pick(&[-32768.0, 32767.0, -300.0, 5.0, 1.0], i),
                // float16: 1, -2, 1/3 rounded, the largest, the smallest subnormal, -2^-14.
                "f2" => pick(
                    &[
                        1.0,
                        -2.0,
                        0.333251953125,
                        65504.0,
                        2f64.powi(-24),
                        -2f64.powi(-14),
                    ],
                    i,
                ),
                "f4" => {
                    pick(
                        &[
                            0.1f32 as f64,
                            -3.5e15f32 as f64,
                            1.5e-10f32 as f64,
                            16777215.0,
                        ],
                        i,
                    ) * p2
                }
                // Past 2^24: float32 would round these.
                "u4" => pick(&[4294967295.0, 16777217.0, 0.0, 123456789.0, 16777219.0], i),
                "i4" => pick(&[-2147483648.0, 2147483647.0, -16777217.0, 99.0], i),
                // Up to 2^53: every one exact in float64.
                "u8" => pick(
                    &[9007199254740991.0, 0.0, 4294967297.0, 9007199254740990.0],
                    i,
                ),
                "i8" => pick(&[-9007199254740991.0, 9007199254740991.0, -5.0e12, 3.0], i),
                "f8" => pick(&[0.1, -1e150, 1e-150, 1.0 + f64::EPSILON, 0.3], i) * p2,
                "c8" => pick(&[0.1f32 as f64, -2.5, 1e10f32 as f64], i) * p2,
                "c16" => pick(&[0.1, -1e100, 1.0 + f64::EPSILON, 0.7], i) * p2,
                other => panic!("unknown code {other}"),
            };
            let im = match code {
                "c8" => (-0.7f32 * (1.0 + i as f32)) as f64,
                "c16" => -0.7 * (1.0 + i as f64) + 1e-9,
                _ => 0.0,
            };
            Complex::new(re, im)
        })
        .collect()
}

/// A `.npy` file of `values` (given in C order, exact in the dtype) as dtype `code` (e.g.
/// `i2`) in the byte order and memory order asked for, as numpy writes it.
pub fn typed_npy(
    code: &str,
    big: bool,
    fortran: bool,
    shape: &[usize],
    values: &[num_complex::Complex<f64>],
) -> Vec<u8> {
    let order = if code.ends_with('1') && code != "c1" {
        '|'
    } else if big {
        '>'
    } else {
        '<'
    };
    let stored: Vec<_> = if fortran {
        // The value at C-order index i goes to its column-major place.
        let mut out = vec![num_complex::Complex::new(0.0, 0.0); values.len()];
        for (i, v) in values.iter().enumerate() {
            let (mut rest, mut place, mut stride) = (i, 0, 1);
            let mut index = vec![0; shape.len()];
            for (axis, &d) in shape.iter().enumerate().rev() {
                index[axis] = rest % d;
                rest /= d;
            }
            for (axis, &d) in shape.iter().enumerate() {
                place += index[axis] * stride;
                stride *= d;
            }
            out[place] = *v;
        }
        out
    } else {
        values.to_vec()
    };
    let mut data = Vec::new();
    for v in stored {
        encode(code, big, v, &mut data);
    }
    npy_bytes(&format!("{order}{code}"), fortran, shape, &data)
}

fn encode(code: &str, big: bool, v: num_complex::Complex<f64>, out: &mut Vec<u8>) {
    macro_rules! put {
        ($x:expr) => {{
            let x = $x;
            out.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            });
        }};
    }
    let re = v.re;
    let exact = |x: f64| {
        assert_eq!(x, re, "{re} is not exact in {code}");
        x
    };
    match code {
        "b1" | "u1" => out.push(exact(re as u8 as f64) as u8),
        "i1" => out.push(exact(re as i8 as f64) as i8 as u8),
        "u2" => put!(exact(re as u16 as f64) as u16),
        "i2" => put!(exact(re as i16 as f64) as i16),
        "f2" => put!(f16_bits(re)),
        "f4" => put!(exact(re as f32 as f64) as f32),
        "u4" => put!(exact(re as u32 as f64) as u32),
        "i4" => put!(exact(re as i32 as f64) as i32),
        "u8" => put!(exact(re as u64 as f64) as u64),
        "i8" => put!(exact(re as i64 as f64) as i64),
        "f8" => put!(re),
        "c8" => {
            put!(exact(re as f32 as f64) as f32);
            put!(v.im as f32);
        }
        "c16" => {
            put!(re);
            put!(v.im);
        }
        other => panic!("unknown code {other}"),
    }
}

/// The binary16 bits of `x`, which must be exactly a float16.
fn f16_bits(x: f64) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = x.abs();
    let bits = if a == 0.0 {
        0
    } else if a < 2f64.powi(-14) {
        let m = a * 2f64.powi(24);
        assert_eq!(m.fract(), 0.0, "{x} is not a float16");
        m as u16
    } else {
        let e = a.log2().floor() as i32;
        let m = (a / 2f64.powi(e) - 1.0) * 1024.0;
        assert!(
            m.fract() == 0.0 && (-14..=15).contains(&e),
            "{x} is not a float16"
        );
        (((e + 15) as u16) << 10) | m as u16
    };
    sign | bits
}
