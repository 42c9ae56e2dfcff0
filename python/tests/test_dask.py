"""xcorr.dask on a two-process distributed.LocalCluster: the same results as one process."""

import os

import numpy as np
import pytest

import xcorr

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import xcorr.dask  # noqa: E402  (needs dask)


@pytest.fixture(scope="module")
def client():
    # Worker processes are spawned fresh: each builds its own xcorr engine.
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def stack(rng, count=11):
    frames = rng.random((count, 60, 72), dtype=np.float32)
    template = rng.random((9, 12), dtype=np.float32)
    for i, frame in enumerate(frames):
        frame[4 + 4 * i : 13 + 4 * i, 50 - 3 * i : 62 - 3 * i] = template
    return frames, template


@pytest.mark.parametrize("method", ["ccorr_normed", "sqdiff_normed"])
def test_track_on_two_worker_processes_equals_one_process(client, rng, method):
    frames, template = stack(rng)
    chunked = da.from_array(frames, chunks=(3, 30, 72))  # rows chunked too: merged per task
    lazy = xcorr.dask.track(chunked, template, method, backend="cpu")
    assert isinstance(lazy, da.Array) and lazy.shape == (11, 3)
    distributed_result = lazy.compute()
    single = xcorr.Engine("cpu").track(frames, template, method)
    np.testing.assert_array_equal(distributed_result, single)
    assert [tuple(r[:2]) for r in distributed_result] == [(4 + 4 * i, 50 - 3 * i) for i in range(11)]
    # The tasks ran in both worker processes, not in this one.
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids


def test_match_template_on_two_worker_processes_equals_one_process(client, rng):
    frames, template = stack(rng, count=5)
    lazy = xcorr.dask.match_template(da.from_array(frames, chunks=(2, 60, 72)), template, "ccoeff", backend="cpu")
    assert lazy.shape == (5, 52, 61) and lazy.dtype == np.float32
    maps = lazy.compute()
    for frame, scores in zip(frames, maps):
        np.testing.assert_array_equal(scores, xcorr.match_template(frame, template, "ccoeff", backend="cpu"))


def test_each_worker_builds_its_engine_once(client, rng):
    frames, template = stack(rng)
    xcorr.dask.track(da.from_array(frames, chunks=(1, 60, 72)), template, backend="cpu").compute()

    def engines():
        import xcorr._engine

        return sorted(xcorr._engine._native)

    # eleven tasks, one native engine per worker process (for the one backend used)
    assert all(names == ["cpu"] for names in client.run(engines).values())


def test_dask_input_must_be_a_stack():
    with pytest.raises(ValueError, match="3-D"):
        xcorr.dask.track(da.zeros((10, 10), chunks=5), np.ones((2, 2)))
