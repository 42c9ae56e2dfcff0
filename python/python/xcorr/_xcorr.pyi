"""Type stubs of the native module `xcorr._xcorr` (Rust, pyo3). Use the public API in
`xcorr` instead: it promotes dtypes and makes arrays contiguous before calling these, which
take only C-contiguous, aligned float32, float64, complex64 or complex128 arrays (both
inputs of one dtype) and raise TypeError for anything else."""

from typing import List, Tuple, Union

import numpy as np
import numpy.typing as npt

_Array = npt.NDArray[Union[np.float32, np.float64, np.complex64, np.complex128]]
_RealArray = npt.NDArray[Union[np.float32, np.float64]]
_Method = Union[str, int]

class Engine:
    def __new__(cls, backend: str) -> "Engine": ...
    def with_precision(self, precision: str) -> "Engine": ...
    @property
    def backend(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def fallback_reason(self) -> Union[str, None]: ...
    def correlate(self, in1: _Array, in2: _Array, mode: str, centered: bool, convolve: bool) -> _Array: ...
    def match_template(
        self, image: _RealArray, template: _RealArray, mask: Union[_RealArray, None], binary: bool, method: _Method
    ) -> _RealArray: ...
    def match_peaks(
        self,
        image: _RealArray,
        template: _RealArray,
        mask: Union[_RealArray, None],
        binary: bool,
        method: _Method,
        count: int,
        min_distance: float,
    ) -> List[Tuple[int, int, float, float, float]]: ...
    def phase_cross_correlation_masked(
        self,
        reference: _RealArray,
        moving: _RealArray,
        reference_mask: _RealArray,
        moving_mask: Union[_RealArray, None],
        overlap_ratio: float,
    ) -> Tuple[float, float]: ...
    def phase_cross_correlation(
        self, reference: _Array, moving: _Array, upsample_factor: int, phase: bool
    ) -> Tuple[Tuple[float, float], float, float]: ...
    def track(
        self, frames: _RealArray, template: _RealArray, mask: Union[_RealArray, None], binary: bool, method: _Method
    ) -> npt.NDArray[np.float64]: ...
    def match_stack(self, frames: _RealArray, template: _RealArray, method: _Method) -> _RealArray: ...

def devices() -> List[str]: ...
def correlation_lags(in1_shape: List[int], in2_shape: List[int], mode: str, centered: bool) -> List[List[int]]: ...
