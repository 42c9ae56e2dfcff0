"""Track a template through frames on a Dask cluster: each worker builds its own engine
once, and each chunk of frames is one task. Needs `pip install xcorr[dask]`.

    python dask_track.py
"""

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import xcorr
import xcorr.dask

if __name__ == "__main__":  # worker processes are spawned: keep the work under main
    # Frames made by the workers themselves, chunked along the frames axis.
    chunked = da.random.default_rng(5).random((40, 240, 320), chunks=(10, 240, 320), dtype=np.float32)

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1) as cluster, Client(cluster):
        frames = chunked.compute()  # here only to check the result against one process
        template = frames[0, 100:132, 150:182].copy()
        track = xcorr.dask.track(chunked, template, method="ccorr_normed").compute()
        maps = xcorr.dask.match_template(chunked, template, "ccoeff_normed")  # lazy (40, 209, 289)
        best = maps[0].compute()

    print(track[:3])
    assert np.array_equal(track, xcorr.Engine().track(frames, template, method="ccorr_normed"))
    print(f"frame 0 map {best.shape}, best {np.unravel_index(best.argmax(), best.shape)}")
