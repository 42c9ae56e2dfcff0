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
