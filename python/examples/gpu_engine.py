"""Run on a GPU: list the adapters, make a GPU engine, and compute float64 input there in
float32 by asking for it (precision="single").

    python gpu_engine.py
"""

import numpy as np

import xcorr

print("adapters:")
for adapter in xcorr.devices():
    print("  ", adapter)

try:
    gpu = xcorr.Engine("gpu")
except RuntimeError as e:
    raise SystemExit(f"no GPU engine: {e}")
print(f"engine: {gpu.device}")

rng = np.random.default_rng(6)
image = rng.random((512, 512), dtype=np.float32)
kernel = rng.random((31, 31), dtype=np.float32)
print("float32 on the GPU:", gpu.correlate(image, kernel, "same").dtype)

# float64 on the GPU is refused unless single precision is asked for; then the result is
# float64 again, with float32's accuracy.
try:
    gpu.correlate(image.astype(np.float64), kernel.astype(np.float64))
except ValueError as e:
    print("refused:", str(e).split(".")[0])
single = xcorr.Engine("gpu", precision="single")
out = single.correlate(image.astype(np.float64), kernel.astype(np.float64), "same")
exact = xcorr.correlate(image.astype(np.float64), kernel.astype(np.float64), "same", backend="cpu")
print(f"precision='single': {out.dtype}, relative error {np.linalg.norm(out - exact) / np.linalg.norm(exact):.1e}")
