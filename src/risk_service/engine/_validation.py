"""Input checks shared by the engine's public functions.

Each check converts to float64 once and raises a :mod:`errors` subclass naming the problem.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._typing import FloatArray
from .errors import (
    ConfidenceError,
    EmptyDataError,
    InsufficientDataError,
    InsufficientDataWarning,
    LengthMismatchError,
    MissingSymbolError,
    NonFiniteError,
    NonNumericError,
    ShapeError,
)

#: Decimals kept when forming c·n, so floating-point noise never moves a rank (SPEC §2).
RANK_DECIMALS = 9


def check_confidence(confidence: object, *, field: str = "confidence") -> float:
    """Return ``confidence`` as a float, or raise if it is not a real number in (0, 1)."""
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise ConfidenceError(
            f"Confidence must be between 0 and 1, got {confidence!r} (not a number)", field=field
        )
    value = float(confidence)
    if not (0.0 < value < 1.0):  # also rejects NaN
        raise ConfidenceError(f"Confidence must be between 0 and 1, got {value!r}", field=field)
    return value


_ALL_NUMBERS = object()


def _first_non_number(values: Any) -> object:
    """The first element (depth-first) that is not a real number, or _ALL_NUMBERS."""
    if isinstance(values, np.ndarray):
        values = values.ravel().tolist()
    stack = [iter(values)] if isinstance(values, (list, tuple)) else [iter([values])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, (list, tuple)):
                stack.append(iter(item))
                break
            if isinstance(item, bool) or not isinstance(item, numbers.Real):
                return item
        else:
            stack.pop()
    return _ALL_NUMBERS


def _numeric_array(values: Any, field: str) -> np.ndarray[Any, Any]:
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise ShapeError(
            f"{field}: not a rectangular array of numbers ({exc})", field=field
        ) from exc
    if arr.dtype.kind in "iuf":
        return arr
    if arr.size == 0:
        return arr.astype(np.float64)
    bad = _first_non_number(values)
    if bad is _ALL_NUMBERS and arr.dtype.kind == "O":
        return arr.astype(np.float64)  # e.g. a mix of Python ints and floats
    raise NonNumericError(f"{field}: {bad!r} is not a number", field=field)


def _check_finite(arr: FloatArray, field: str) -> None:
    finite = np.isfinite(arr)
    if not finite.all():
        flat = int(np.flatnonzero(~finite.ravel())[0])
        index = np.unravel_index(flat, arr.shape)
        where = index[0] if arr.ndim == 1 else tuple(int(i) for i in index)
        raise NonFiniteError(
            f"{field}: NaN or infinite value {arr.ravel()[flat]!r} at index {where}", field=field
        )


def as_vector(values: Any, *, field: str = "returns") -> FloatArray:
    """Return a finite, non-empty 1-D float64 array, or raise naming the problem."""
    arr = _numeric_array(values, field)
    if arr.ndim != 1:
        raise ShapeError(f"{field}: expected a one-dimensional series, got shape {arr.shape}")
    if arr.size == 0:
        raise EmptyDataError(f"{field}: no observations", field=field)
    out = np.ascontiguousarray(arr, dtype=np.float64)
    _check_finite(out, field)
    return out


def as_matrix(values: Any, *, field: str = "returns", check_finite: bool = True) -> FloatArray:
    """Return a non-empty 2-D float64 array (rows = scenarios), finite unless told not to check.

    ``check_finite=False`` is for callers that verify finiteness more cheaply afterwards (see
    :func:`check_scenarios_finite`).
    """
    arr = _numeric_array(values, field)
    if arr.ndim != 2:
        raise ShapeError(
            f"{field}: expected a two-dimensional array (scenarios x positions), "
            f"got shape {arr.shape}",
            field=field,
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise EmptyDataError(f"{field}: no observations (shape {arr.shape})", field=field)
    out = np.asarray(arr, dtype=np.float64)
    if check_finite:
        _check_finite(out, field)
    return out


def check_scenarios_finite(scenarios: FloatArray, keys: Sequence[str]) -> None:
    """Raise :class:`NonFiniteError` naming the position and day of the first NaN/inf."""
    finite = np.isfinite(scenarios)
    if finite.all():
        return
    bad_cols = np.flatnonzero(~finite.all(axis=0))
    col = int(bad_cols[0])
    row = int(np.flatnonzero(~finite[:, col])[0])
    key = keys[col]
    raise NonFiniteError(
        f"returns.{key}: NaN or infinite value {scenarios[row, col]!r} at index {row}",
        field=f"returns.{key}",
    )


def _careful_columns(keys: tuple[str, ...], returns: Mapping[str, Any]) -> FloatArray:
    """Validate each series on its own, for precise messages (the slow path)."""
    columns = [as_vector(returns[k], field=f"returns.{k}") for k in keys]
    lengths = {k: len(c) for k, c in zip(keys, columns, strict=True)}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise LengthMismatchError(
            f"returns: series must be aligned and of equal length, got {shown}",
            field="returns",
        )
    return np.column_stack(columns)


def as_book(
    positions: Any, returns: Any, *, check_finite: bool = True
) -> tuple[tuple[str, ...], FloatArray, FloatArray]:
    """Align positions with returns; return (keys, weights[N], scenario matrix[T, N]).

    Mappings are aligned by symbol (extra symbols in ``returns`` are ignored); arrays are taken in
    column order. Unequal series lengths are an error: nothing is ever truncated.
    """
    if isinstance(positions, Mapping):
        if not positions:
            raise EmptyDataError("positions: the book has no positions", field="positions")
        if not isinstance(returns, Mapping):
            raise ShapeError(
                "returns: positions given by symbol need returns given by symbol", field="returns"
            )
        keys = tuple(str(k) for k in positions)
        for key in keys:
            if key not in returns:
                raise MissingSymbolError(f"No returns data for {key}", field=f"returns.{key}")
        weights = as_vector([positions[k] for k in keys], field="positions")
        # Fast path: one C-level conversion of all series; anything unusual (ragged, non-numeric,
        # empty) goes through the careful per-series path for a precise message.
        try:
            stacked = np.array([returns[k] for k in keys])
        except (TypeError, ValueError):
            stacked = None
        if (
            stacked is None
            or stacked.dtype.kind not in "iuf"
            or stacked.ndim != 2
            or stacked.shape[1] == 0
        ):
            matrix = _careful_columns(keys, returns)
        else:
            matrix = stacked.T.astype(np.float64, copy=False)
        if check_finite:
            check_scenarios_finite(matrix, keys)
        return keys, weights, matrix
    weights = as_vector(positions, field="positions")
    if isinstance(returns, Mapping):
        raise ShapeError(
            "returns: positions given as an array need returns as a matrix", field="returns"
        )
    if isinstance(returns, Sequence) and returns and not isinstance(returns[0], (int, float)):
        lengths_seen = {len(r) for r in returns if isinstance(r, Sequence)}
        if len(lengths_seen) > 1:
            raise LengthMismatchError(
                f"returns: rows must have equal length, got lengths {sorted(lengths_seen)}",
                field="returns",
            )
    matrix = as_matrix(returns, field="returns", check_finite=check_finite)
    if matrix.shape[1] != weights.shape[0]:
        raise LengthMismatchError(
            f"returns has {matrix.shape[1]} columns but there are {weights.shape[0]} positions",
            field="returns",
        )
    return tuple(str(i) for i in range(weights.shape[0])), weights, matrix


def var_rank(n: int, confidence: float) -> int:
    """The 1-based rank k = ceil(c·n) of the VaR loss, with c·n rounded to 9 decimals first."""
    return max(1, math.ceil(round(confidence * n, RANK_DECIMALS)))


def check_sample_size(n: int, confidence: float, *, strict: bool, stacklevel: int = 3) -> None:
    """Warn (or raise, when ``strict``) if n < 1 / (1 - c): the tail is not resolved."""
    if round(n * (1.0 - confidence), RANK_DECIMALS) < 1.0:
        message = (
            f"{n} observations cannot resolve the {confidence:.6g} quantile "
            f"(needs at least {math.ceil(round(1.0 / (1.0 - confidence), RANK_DECIMALS))})"
        )
        if strict:
            raise InsufficientDataError(message, field="returns")
        warnings.warn(message, InsufficientDataWarning, stacklevel=stacklevel)


__all__ = [
    "RANK_DECIMALS",
    "as_book",
    "as_matrix",
    "as_vector",
    "check_confidence",
    "check_sample_size",
    "check_scenarios_finite",
    "var_rank",
]
