"""Every script in python/examples runs to the end (each checks its own result)."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(name, *args):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("name", ["correlate_signals.py", "match_template.py", "register_images.py"])
def test_example(name):
    run(name)


def test_track_example(backend):
    assert f"engine: {backend}" in run("track_frames.py", "--backend", backend)


def test_gpu_example(gpu):
    assert "precision='single': float64" in run("gpu_engine.py")


def test_dask_example():
    pytest.importorskip("distributed")
    run("dask_track.py")
