//! Any bytes given to the `.npy` reader: an array or an error, never a panic, a hang or a
//! huge allocation (a header may promise any shape).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = xcorr::io::read_npy_from(data) {
        // What was read must survive a round trip (compared as bytes: NaN != NaN).
        let mut out = Vec::new();
        xcorr::io::write_npy_any(&mut out, &a).unwrap();
        let back = xcorr::io::read_npy_from(&out[..]).unwrap();
        let mut again = Vec::new();
        xcorr::io::write_npy_any(&mut again, &back).unwrap();
        assert_eq!(out, again);
    }
});
