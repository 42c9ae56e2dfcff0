//! Criterion benches of the standard workloads (W1–W6, FFT) on every backend this machine
//! has. The cases come from the command line's bench module (compiled in here too), the same
//! code `xcorr bench` times, with inputs and plans built outside the timed loop.
//!
//! `cargo bench --bench workloads -- W1` runs one workload.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
#[allow(dead_code)] // the timing loop and JSON are the command line's; only the cases run here
#[path = "../src/bin/xcorr/bench.rs"]
mod bench;

use bench::{build_case, WORKLOADS};
use xcorr::{Backend, Engine};

fn engines() -> Vec<Engine> {
    let mut engines = vec![Engine::cpu()];
    if let Ok(gpu) = Engine::with_backend(Backend::Gpu) {
        engines.push(gpu);
    }
    engines
}

fn workloads(c: &mut Criterion) {
    let engines = engines();
    for workload in WORKLOADS {
        let mut group = c.benchmark_group(workload);
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        for engine in &engines {
            let Some(mut case) = build_case(workload, engine).expect("workload builds") else {
                continue;
            };
            group.bench_function(engine.backend_label(), |b| {
                b.iter(|| case().expect("workload runs"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
