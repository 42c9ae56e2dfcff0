//! Hostile input to the library (issue #13): sizes that overflow, headers built to hang a
//! parser, files that never end, images that declare more pixels than memory holds, top-k
//! on huge maps, upsampling factors without bound, float64 results. Each is refused with an
//! error (or computed right) without a panic, a hang or a huge allocation. The command
//! line's side of the same inputs is in `tests/cli.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use xcorr::io::{
    read_image_from, read_npy, read_npy_from, read_npy_planes_from, write_npy, AnyArray,
};
use xcorr::peaks::{self, PeakOptions};
use xcorr::registration::{register, RegisterOptions, MAX_UPSAMPLE};
use xcorr::spec::{Mode, Op, Plan};
use xcorr::{Array, ArrayView, Shape};

/// Counts the bytes each thread holds, and the peak since the last reset, so that a test
/// can bound what one call allocates while other tests run on other threads.
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(layout.size() as isize));
    }
}

fn count(delta: isize) {
    // `try_with`: a thread's locals may be gone while it frees its last allocations.
    let _ = HELD.try_with(|h| {
        h.set(h.get() + delta);
        let _ = PEAK.try_with(|p| p.set(p.get().max(h.get())));
    });
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The most bytes `f` held at once beyond what was held when it started (this thread only).
fn peak_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = HELD.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let r = f();
    (r, (PEAK.with(Cell::get) - start).max(0) as usize)
}

/// The reproducer: a file whose shape product wraps to 6 elements.
fn wrapping_npy() -> Vec<u8> {
    let mut h =
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775811, 2), }".to_vec();
    h.resize(117, b' ');
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&[0; 24]);
    out
}

#[test]
fn element_counts_that_overflow_are_refused_everywhere() {
    let wraps = Shape::d2(9223372036854775811, 2); // × 2 wraps to 6 in 64 bits
    assert_eq!(wraps.checked_len(), None);
    assert!(Array::new(vec![0.0f32; 6], wraps).is_err());
    assert!(ArrayView::new(&[0.0f32; 6][..], wraps).is_err());
    let e = Plan::new(Op::Correlate, Mode::Full, wraps, Shape::d2(1, 1)).unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");

    let bytes = wrapping_npy();
    let msg = read_npy_from(&bytes[..]).unwrap_err().to_string();
    assert!(msg.contains("too large"), "{msg}");
    // One axis alone past what memory can address, in each dtype size.
    for descr in ["|u1", "|b1", ">f2", "<i8", "<f4", "<c16"] {
        let text = format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': (18446744073709551615,), }}"
        );
        let msg = read_npy_from(&npy(&text, &[])[..]).unwrap_err().to_string();
        assert!(
            msg.contains("too large") || msg.contains("truncated"),
            "{msg}"
        );
    }
}

/// A version 1.0 file with `header` as its dict text (padding added) and `data` after it.
fn npy(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

#[test]
fn npy_headers_are_parsed_in_linear_time_and_capped() {
    // The file: 16 braces took npyz 67 s to refuse.
    let hang = b"\x93NUMPY\x01\x00\x11\x00{{{{{{{{{{{{{{{{\n";
    let msg = read_npy_from(&hang[..]).unwrap_err().to_string();
    assert!(msg.contains("not a valid .npy file"), "{msg}");
    // Nesting as deep as the length field allows, of every bracket kind.
    for open in [b'{', b'(', b'['] {
        let mut text = b"{'shape': ".to_vec();
        text.resize(9_000, open);
        let msg = read_npy_from(&npy(std::str::from_utf8(&text).unwrap(), &[])[..])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not a valid .npy file"), "{msg}");
    }
    // A version 2 header may declare 4 GB: refused from its length field.
    let mut long = b"\x93NUMPY\x02\x00".to_vec();
    long.extend_from_slice(&u32::MAX.to_le_bytes());
    let (r, peak) = peak_allocation(|| read_npy_from(&long[..]));
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("longer than"), "{msg}");
    assert!(peak < 1 << 20, "{peak} bytes");
}

#[test]
fn a_promise_of_data_costs_only_the_data_sent() {
    // 2^40 float64 elements declared, 16 bytes sent: refused as truncated, without
    // reserving 8 TiB first.
    let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }";
    let (r, peak) = peak_allocation(|| read_npy_from(&npy(text, &[0; 16])[..]));
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("truncated"), "{msg}");
    assert!(peak < 4 << 20, "{peak} bytes");
}

#[test]
fn three_d_headers_are_checked_as_two_d_ones_are() {
    // (2^32 + 1) · 2^32 · 2^31 wraps; each axis alone fits.
    let text =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967297, 4294967296, 2147483648), }";
    let msg = read_npy_planes_from(&npy(text, &[0; 24])[..])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("too large"), "{msg}");
    // 2^40 one-byte elements declared across channels, of each narrow dtype, 16 bytes sent:
    // refused as truncated without reserving the promoted terabytes.
    for descr in ["|b1", "|i1", "<u2", ">f2", ">i4"] {
        for shape in ["(1048576, 1048576, 1)", "(1, 1, 1099511627776)"] {
            let text = format!("{{'descr': '{descr}', 'fortran_order': True, 'shape': {shape}, }}");
            let (r, peak) = peak_allocation(|| read_npy_planes_from(&npy(&text, &[0; 16])[..]));
            let msg = r.unwrap_err().to_string();
            assert!(msg.contains("truncated"), "{descr} {shape}: {msg}");
            assert!(peak < 4 << 20, "{descr} {shape}: {peak} bytes");
        }
    }
}

#[cfg(unix)]
#[test]
fn files_that_are_not_regular_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("zero.npy");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let msg = read_npy(&zero).unwrap_err().to_string();
    assert!(msg.contains("not a regular file"), "{msg}");
    let msg = read_npy(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("directory"), "{msg}");
}

/// A PNG of `w × h` 8-bit gray pixels whose image data is empty: only the header counts for
/// the limit, as with the 389 KB, 20000² file.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    // The decoder reads chunks up to the first IDAT before it reports the size.
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for chunk in [ihdr, b"IDAT".to_vec(), b"IEND".to_vec()] {
        out.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc(&chunk).to_be_bytes());
    }
    out
}

#[test]
fn images_past_the_memory_limit_are_refused_from_their_header() {
    let png = png_header_only(20000, 20000);
    let (r, peak) = peak_allocation(|| read_image_from(&png, xcorr::io::DEFAULT_IMAGE_MEMORY));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("20000x20000 image needs 1.9 GiB to read, more than the limit of 1.0 GiB"),
        "{msg}"
    );
    assert!(peak < 1 << 20, "{peak} bytes");
    // The limit is the caller's: a small one refuses a small image (384x303 needs 568 KiB).
    let coins = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/coins.png");
    let msg = xcorr::io::read_image_limited(&coins, 500_000)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("more than the limit of 488.3 KiB"), "{msg}");
    assert!(xcorr::io::read_image_limited(&coins, 600_000).is_ok());
}

#[test]
fn top_k_holds_o_of_k_memory_beyond_the_map() {
    // 4 M elements: a heap of every entry would take 64 MB.
    let map = Array::from_fn(Shape::d2(2000, 2000), |r, c| {
        ((r * 7 + c * 13) % 1009) as f32 + (r % 3) as f32
    });
    for count in [1, 5, 100] {
        let options = PeakOptions {
            count,
            min_distance: 3.0,
            ..PeakOptions::default()
        };
        let (found, peak) = peak_allocation(|| peaks::top_k(map.view(), &options));
        assert_eq!(found.len(), count);
        assert!(peak < 4 << 20, "top {count}: {peak} bytes");
    }
}

#[test]
fn upsampling_is_bounded_on_every_backend() {
    let image = Array::from_fn(Shape::d2(24, 20), |r, c| {
        ((r as f64 * 0.7).sin() + (c as f64 * 0.4).cos()).powi(2)
    });
    for upsample in [0, MAX_UPSAMPLE + 1, 1 << 40, usize::MAX] {
        let options = RegisterOptions {
            upsample,
            ..Default::default()
        };
        let msg = register(&image, &image, &options).unwrap_err().to_string();
        assert!(msg.contains("from 1 to 1000"), "{upsample}: {msg}");
    }
    // The maximum itself runs, in bounded memory, and finds the zero shift.
    let options = RegisterOptions {
        upsample: MAX_UPSAMPLE,
        ..Default::default()
    };
    let (found, peak) = peak_allocation(|| register(&image, &image, &options).unwrap());
    assert!(
        found.shift.0.abs() < 1e-9 && found.shift.1.abs() < 1e-9,
        "{found:?}"
    );
    assert!(peak < 256 << 20, "{peak} bytes");
}

#[test]
fn float64_results_are_written_as_float64() {
    let a = Array::from_vec(vec![1e300, -2.5e-300, 3.0]);
    let mut bytes = Vec::new();
    write_npy(&mut bytes, &a).unwrap();
    assert_eq!(read_npy_from(&bytes[..]).unwrap(), AnyArray::F64(a));
}
