"""Array types shared by the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Anything the engine accepts as a one-dimensional series of numbers.
VectorLike = Sequence[float] | npt.NDArray[np.floating] | npt.NDArray[np.integer]
#: Positions: a mapping symbol -> notional, or a vector in column order.
PositionsLike = Mapping[str, float] | VectorLike
#: Returns: a mapping symbol -> series, or a T x N matrix (scenarios x positions).
ReturnsLike = Mapping[str, VectorLike] | npt.NDArray[np.floating] | Sequence[Sequence[float]]

__all__ = ["BoolArray", "FloatArray", "IntArray", "PositionsLike", "ReturnsLike", "VectorLike"]
