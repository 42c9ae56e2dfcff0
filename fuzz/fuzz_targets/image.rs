//! Any bytes given to the image reader, within a 256 MiB budget: an image or an error, never
//! a panic, a hang or an allocation past the budget (a small file may declare a huge image).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = xcorr::io::read_image_from(data, 256 << 20) {
        // Float TIFFs may hold NaN (the command line refuses it after reading).
        assert!(a.data().iter().all(|&v| !(v < 0.0 || v > 1.0)));
    }
});
