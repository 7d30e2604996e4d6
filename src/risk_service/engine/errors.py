"""Errors and warnings raised by the engine.

Every bad-input error is a ``ValueError`` so callers that caught ``ValueError`` keep working::

    ValueError
    └── RiskInputError
        ├── EmptyDataError          no observations
        ├── ConfidenceError         confidence not a number in (0, 1)
        ├── NonNumericError         a value that is not a real number
        ├── NonFiniteError          NaN or +/-inf
        ├── LengthMismatchError     series of unequal length (never truncated)
        ├── MissingSymbolError      a position without returns
        ├── NotPSDError             covariance not symmetric positive semi-definite
        ├── ShapeError              wrong dimensions
        └── InsufficientDataError   too few observations, in strict mode

    Warning
    └── RiskWarning
        └── InsufficientDataWarning too few observations for the confidence level
"""

from __future__ import annotations


class RiskInputError(ValueError):
    """Base class of every bad-input error raised by the engine."""

    #: Machine-readable code, used by the HTTP layer.
    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class EmptyDataError(RiskInputError):
    """A series or book has no observations."""

    code = "empty_data"


class ConfidenceError(RiskInputError):
    """The confidence level is not a real number strictly between 0 and 1."""

    code = "invalid_confidence"


class NonNumericError(RiskInputError):
    """A value is not a real number (a string, a boolean, an object...)."""

    code = "non_numeric"


class NonFiniteError(RiskInputError):
    """A value is NaN or infinite."""

    code = "non_finite"


class LengthMismatchError(RiskInputError):
    """Series that must be aligned have different lengths."""

    code = "length_mismatch"


class MissingSymbolError(RiskInputError):
    """A position has no returns series."""

    code = "missing_symbol"


class NotPSDError(RiskInputError):
    """A covariance matrix is not symmetric positive semi-definite."""

    code = "not_psd"


class ShapeError(RiskInputError):
    """An array has the wrong number of dimensions or the wrong shape."""

    code = "invalid_shape"


class InsufficientDataError(RiskInputError):
    """Fewer observations than the confidence level can support, with strict checking."""

    code = "insufficient_data"


class RiskWarning(Warning):
    """Base class of the engine's numerical caveats."""


class InsufficientDataWarning(RiskWarning):
    """Fewer observations than the confidence level can support (n < 1 / (1 - c)).

    The estimate is still the defined order statistic, but it is the worst observation or
    beyond what the sample can resolve.
    """


__all__ = [
    "ConfidenceError",
    "EmptyDataError",
    "InsufficientDataError",
    "InsufficientDataWarning",
    "LengthMismatchError",
    "MissingSymbolError",
    "NonFiniteError",
    "NonNumericError",
    "NotPSDError",
    "RiskInputError",
    "RiskWarning",
    "ShapeError",
]
