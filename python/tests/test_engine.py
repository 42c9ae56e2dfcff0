"""Engine: properties, pickling, many threads, and what crosses the boundary without a copy."""

import concurrent.futures
import pickle

import numpy as np
import pytest
import scipy.signal as ss

import xcorr
from xcorr import _arrays
from conftest import random


def test_properties(backend):
    engine = xcorr.Engine(backend)
    assert engine.backend == backend
    assert isinstance(engine.device, str) and engine.device
    assert engine.fallback_reason is None
    assert backend in repr(engine)


def test_auto_picks_a_backend_and_says_why_it_fell_back():
    engine = xcorr.Engine()
    assert engine.backend in ("cpu", "gpu")
    if engine.backend == "cpu":
        assert isinstance(engine.fallback_reason, str) and engine.fallback_reason


def test_devices_lists_the_adapters(backend):
    adapters = xcorr.devices()
    assert isinstance(adapters, list) and all(isinstance(a, str) for a in adapters)
    if backend == "gpu":
        assert adapters, "a GPU engine exists, so an adapter does"


@pytest.mark.parametrize("precision", ["double", "single"])
def test_engine_pickles_as_its_backend_choice(backend, precision):
    engine = xcorr.Engine(backend, precision=precision)
    copy = pickle.loads(pickle.dumps(engine))
    assert (copy.backend, copy.precision, copy.device) == (engine.backend, precision, engine.device)
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(copy.correlate(a, a), engine.correlate(a, a))


def test_one_engine_from_many_threads(backend, rng):
    """Eight threads share one engine on three kinds of work and several shapes at once;
    each result equals the one computed alone (and scipy's)."""
    engine = xcorr.Engine(backend)
    jobs = []
    for i in range(24):
        shape = [(40, 33), (32, 32), (17, 50)][i % 3]
        a = random(rng, shape, np.float32)
        b = random(rng, (5, 4), np.float32)
        jobs.append((i % 3, a, b))

    def run(job):
        kind, a, b = job
        if kind == 0:
            return engine.correlate(a, b, "same")
        if kind == 1:
            return engine.match_template(a, b, "sqdiff")
        return engine.track(np.stack([a, a]), b)

    alone = [run(job) for job in jobs]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        together = list(pool.map(run, jobs * 2))
    for i, out in enumerate(together):
        np.testing.assert_array_equal(out, alone[i % len(jobs)])
    for (kind, a, b), out in zip(jobs, alone):
        if kind == 0:
            expected = ss.correlate(a.astype(np.float64), b.astype(np.float64), "same")
            assert np.linalg.norm(out - expected) / np.linalg.norm(expected) < 1e-5


def test_ready_inputs_are_not_copied_and_others_once(rng):
    a = random(rng, (8, 9), np.float32)
    assert _arrays.ready(a, np.dtype(np.float32)) is a  # the native side borrows its memory
    fortran = np.asfortranarray(a)
    copied = _arrays.ready(fortran, np.dtype(np.float32))
    assert copied is not fortran and copied.flags.c_contiguous
    strided = a[::2, ::3]
    assert _arrays.ready(strided, np.dtype(np.float32)).flags.c_contiguous


def test_results_are_the_librarys_own_memory(rng):
    """numpy wraps the library's result vector (its base is the Rust container), so no
    second copy was made on the way out."""
    out = xcorr.correlate(random(rng, (16, 16), np.float32), random(rng, (3, 3), np.float32))
    assert out.base is not None and not isinstance(out.base, np.ndarray)
    maps = xcorr.match_template(random(rng, (16, 16), np.float32), random(rng, (3, 3), np.float32))
    assert maps.base is not None and not isinstance(maps.base, np.ndarray)


def test_module_functions_share_one_engine_per_backend():
    assert xcorr._default_engine("cpu", "double") is xcorr._default_engine("cpu", "double")


def test_the_gil_is_released_while_xcorr_computes(backend, rng):
    """While one thread is inside a long xcorr call, another runs Python code all along: its
    timestamps cover the call's interval, with no gap of half of it. (A call holding the
    GIL leaves one gap of nearly all of it: only the switch interval, 5 ms, runs before it
    takes the GIL.) A check of order and coverage, not a timing bound."""
    import threading
    import time

    engine = xcorr.Engine(backend)
    a = random(rng, (1024, 1024), np.float32)
    b = random(rng, (1024, 1024), np.float32)
    engine.correlate(a, b)  # plans built: the timed call below is pure computation
    interval = {}
    started = threading.Event()

    def call():
        started.set()
        interval["start"] = time.perf_counter()
        engine.correlate(a, b)
        interval["end"] = time.perf_counter()

    worker = threading.Thread(target=call)
    worker.start()
    started.wait()
    ticks = []
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    start, end = interval["start"], interval["end"]
    inside = [start] + [t for t in ticks if start < t < end] + [end]
    largest_gap = max(later - earlier for earlier, later in zip(inside, inside[1:]))
    assert largest_gap < (end - start) / 2, (largest_gap, end - start, len(inside))
