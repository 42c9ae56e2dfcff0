//! `Tracker::submit` / `Tracker::collect` (frame k + 1 submitted before frame k is
//! collected) against one frame at a time (`track`, `match_frame`) on the same tracker:
//! the same results exactly, on the CPU and on a GPU; a bad frame in the middle of a
//! stream fails alone; misuse (a third frame in flight, another tracker's frame) is an
//! error, never a wrong result.

#[cfg(feature = "gpu")]
mod gpu_support;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xcorr::matching::{Method, Pending, Tracker};
use xcorr::{Array, Engine, Error, Peak, Shape};

const FRAME: (usize, usize) = (70, 90);
const PATCH: usize = 12;

/// A noisy textured background with the template pasted at a different place per frame;
/// `scale` multiplies every value (a power of two far from 1 takes the scaled path).
fn frames(count: usize, scale: f32) -> (Array<f32>, Vec<Array<f32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let template = Array::from_fn(Shape::d2(PATCH, PATCH), |_, _| rng.random::<f32>() * scale);
    let frames = (0..count)
        .map(|k| {
            let mut frame = Array::from_fn(Shape::d2(FRAME.0, FRAME.1), |_, _| {
                rng.random::<f32>() * scale
            });
            let (top, left) = (3 + 5 * k % 50, 7 + 11 * k % 70);
            for r in 0..PATCH {
                for c in 0..PATCH {
                    let noise = 0.05 * (rng.random::<f32>() - 0.5) * scale;
                    frame.data_mut()[(top + r) * FRAME.1 + left + c] = template.at(r, c) + noise;
                }
            }
            frame
        })
        .collect();
    (template, frames)
}

/// Every frame through `submit`/`collect` with one frame in flight, in order: frame k's
/// result is collected after frame k + 1 has been submitted. A frame whose submission
/// fails gives its error in its place.
fn pipelined<R>(
    frames: &[Array<f32>],
    submit: impl Fn(&Array<f32>) -> xcorr::Result<Pending<f32, R>>,
    collect: impl Fn(Pending<f32, R>) -> xcorr::Result<R>,
) -> Vec<xcorr::Result<R>> {
    let mut out = Vec::new();
    let mut in_flight = None;
    for frame in frames {
        let submitted = submit(frame);
        if let Some(pending) = in_flight.take() {
            out.push(collect(pending));
        }
        match submitted {
            Ok(pending) => in_flight = Some(pending),
            Err(e) => out.push(Err(e)),
        }
    }
    if let Some(pending) = in_flight {
        out.push(collect(pending));
    }
    out
}

/// The pipelined best matches and maps equal `track` and `match_frame` of the same tracker.
fn check_pipelined_equals_one_at_a_time(engine: &Engine, method: Method, scale: f32) {
    let (template, frames) = frames(6, scale);
    let tracker = Tracker::new(engine, &template, frames[0].shape(), method).unwrap();
    let one: Vec<Peak> = frames.iter().map(|f| tracker.track(f).unwrap()).collect();
    let piped = pipelined(&frames, |f| tracker.submit(f), |p| tracker.collect(p));
    let piped: Vec<Peak> = piped.into_iter().map(Result::unwrap).collect();
    assert_eq!(piped, one, "{method} at scale {scale}");
    // The frames differ, so equal results also show that no frame read another's buffers.
    assert!(one
        .windows(2)
        .all(|w| (w[0].row, w[0].col) != (w[1].row, w[1].col)));

    let maps: Vec<Array<f32>> = frames
        .iter()
        .map(|f| tracker.match_frame(f).unwrap())
        .collect();
    let piped = pipelined(&frames, |f| tracker.submit_map(f), |p| tracker.collect(p));
    for (k, (got, want)) in piped.into_iter().zip(&maps).enumerate() {
        let got = got.unwrap();
        assert_eq!(got.shape(), want.shape());
        assert!(
            got.data() == want.data(),
            "{method} at scale {scale}: map of frame {k} differs"
        );
    }
}

/// A frame of the wrong shape and one with a NaN in the middle of a stream: each fails, the
/// others keep the results they have one at a time.
fn check_bad_frames_fail_alone(engine: &Engine) {
    let (template, mut frames) = frames(6, 1.0);
    let tracker = Tracker::new(engine, &template, frames[0].shape(), Method::CCoeffNormed).unwrap();
    let one: Vec<Peak> = frames.iter().map(|f| tracker.track(f).unwrap()).collect();
    frames[2] = Array::from_fn(Shape::d2(FRAME.0 - 1, FRAME.1), |r, c| frames[2].at(r, c));
    frames[4].data_mut()[17] = f32::NAN;
    let piped = pipelined(&frames, |f| tracker.submit(f), |p| tracker.collect(p));
    assert_eq!(piped.len(), frames.len());
    for (k, result) in piped.into_iter().enumerate() {
        match (k, result) {
            (2, Err(Error::ShapeMismatch(_))) | (4, Err(Error::NonFinite { .. })) => {}
            (2 | 4, other) => panic!("frame {k}: expected an error, got {other:?}"),
            (_, result) => assert_eq!(result.unwrap(), one[k], "frame {k}"),
        }
    }
}

#[test]
fn pipelined_tracking_on_the_cpu_equals_one_at_a_time() {
    let cpu = Engine::cpu();
    for method in [Method::CCoeffNormed, Method::SqDiff] {
        check_pipelined_equals_one_at_a_time(&cpu, method, 1.0);
    }
    check_pipelined_equals_one_at_a_time(&cpu, Method::CCorr, 2f32.powi(60));
}

#[test]
fn a_bad_frame_on_the_cpu_fails_alone() {
    check_bad_frames_fail_alone(&Engine::cpu());
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::*;

    fn gpu_engine() -> Option<Engine> {
        gpu_support::context().map(Engine::with_gpu_context)
    }

    #[test]
    fn pipelined_tracking_on_the_gpu_equals_one_at_a_time() {
        let Some(gpu) = gpu_engine() else {
            return;
        };
        for method in [Method::CCoeffNormed, Method::SqDiff] {
            check_pipelined_equals_one_at_a_time(&gpu, method, 1.0);
        }
        // Scaled by a power of two before the device and back after.
        check_pipelined_equals_one_at_a_time(&gpu, Method::CCorr, 2f32.powi(60));
    }

    #[test]
    fn a_bad_frame_on_the_gpu_fails_alone() {
        let Some(gpu) = gpu_engine() else {
            return;
        };
        check_bad_frames_fail_alone(&gpu);
    }

    #[test]
    fn a_third_frame_in_flight_makes_the_first_fail_not_lie() {
        let Some(gpu) = gpu_engine() else {
            return;
        };
        let (template, frames) = frames(3, 1.0);
        let tracker =
            Tracker::new(&gpu, &template, frames[0].shape(), Method::CCoeffNormed).unwrap();
        let one: Vec<Peak> = frames.iter().map(|f| tracker.track(f).unwrap()).collect();
        let pending: Vec<_> = frames.iter().map(|f| tracker.submit(f).unwrap()).collect();
        let mut results = pending.into_iter().map(|p| tracker.collect(p));
        match results.next().unwrap() {
            Err(Error::InvalidArgument(message)) => {
                assert!(message.contains("at most 2 frames"), "{message}")
            }
            other => panic!("the overwritten frame gave {other:?}"),
        }
        assert_eq!(results.next().unwrap().unwrap(), one[1]);
        assert_eq!(results.next().unwrap().unwrap(), one[2]);
        // A frame tracked one at a time while two are in flight takes neither's readback.
        let first = tracker.submit(&frames[0]).unwrap();
        let second = tracker.submit(&frames[1]).unwrap();
        assert_eq!(tracker.track(&frames[2]).unwrap(), one[2]);
        assert_eq!(tracker.collect(first).unwrap(), one[0]);
        assert_eq!(tracker.collect(second).unwrap(), one[1]);
    }

    #[test]
    fn a_frame_collected_from_another_tracker_is_an_error() {
        let Some(gpu) = gpu_engine() else {
            return;
        };
        let (template, frames) = frames(1, 1.0);
        let shape = frames[0].shape();
        let a = Tracker::new(&gpu, &template, shape, Method::CCoeffNormed).unwrap();
        let b = Tracker::new(&gpu, &template, shape, Method::CCoeffNormed).unwrap();
        let host = Tracker::new(&Engine::cpu(), &template, shape, Method::CCoeffNormed).unwrap();
        let pending = a.submit(&frames[0]).unwrap();
        assert!(matches!(b.collect(pending), Err(Error::InvalidArgument(_))));
        let pending = a.submit(&frames[0]).unwrap();
        assert!(matches!(
            host.collect(pending),
            Err(Error::InvalidArgument(_))
        ));
    }
}
