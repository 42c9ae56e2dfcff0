//! Any bytes given to the `.npy` readers: an array or an error, never a panic, a hang or a
//! huge allocation (a header may promise any shape and any of the dtypes read).
#![no_main]
use libfuzzer_sys::fuzz_target;
use xcorr::io::{read_npy_from, read_npy_planes_from, write_npy_any, AnyArray, Planes};

/// What was read must survive a round trip (compared as bytes: NaN != NaN).
fn round_trips(a: &AnyArray) {
    let mut out = Vec::new();
    write_npy_any(&mut out, a).unwrap();
    let back = read_npy_from(&out[..]).unwrap();
    let mut again = Vec::new();
    write_npy_any(&mut again, &back).unwrap();
    assert_eq!(out, again);
}

fuzz_target!(|data: &[u8]| {
    let plane = read_npy_from(data);
    if let Ok(a) = &plane {
        round_trips(a);
    }
    match read_npy_planes_from(data) {
        // A 1-D or 2-D array reads the same either way.
        Ok(Planes::Single(a)) => assert_eq!(format!("{a:?}"), format!("{:?}", plane.unwrap())),
        Ok(Planes::Channels(planes)) => {
            assert!(plane.is_err());
            let shape = planes[0].shape();
            for p in &planes {
                assert_eq!(p.shape(), shape);
                assert_eq!(p.dtype_name(), planes[0].dtype_name());
                round_trips(p);
            }
        }
        Err(_) => {}
    }
});
