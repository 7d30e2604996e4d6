"""The VaR engine: pure numerics, no I/O, no clock.

Sign convention: VaR and ES are positive numbers for losses (negative when even the tail is a
gain). Default quantile: the ⌈c·n⌉-th smallest loss, c·n rounded to 9 decimals (SPEC §2).
"""

from .backtest import (
    ChristoffersenResult,
    TestResult,
    Zone,
    christoffersen,
    exceptions,
    kupiec_pof,
    traffic_light,
)
from .batch import BatchRisk, batch_risk
from .distributions import DistributionError
from .errors import (
    ConfidenceError,
    EmptyDataError,
    InsufficientDataError,
    InsufficientDataWarning,
    LengthMismatchError,
    MissingSymbolError,
    NonFiniteError,
    NonNumericError,
    NotPSDError,
    RiskInputError,
    RiskWarning,
    ShapeError,
)
from .horizon import HorizonError, HorizonMethod, overlapping_sums, sqrt_time_factor
from .portfolio import (
    ALLOCATION_LABELS,
    Method,
    MethodError,
    PortfolioRisk,
    monte_carlo_var,
    parametric_var,
    portfolio_var,
)
from .quantile import Convention, ConventionError, expected_shortfall, historical_var
from .volatility import (
    RISKMETRICS_LAMBDA,
    DecayError,
    ewma_variance,
    ewma_volatility,
    filtered_historical_var,
)

__all__ = [
    "ALLOCATION_LABELS",
    "RISKMETRICS_LAMBDA",
    "BatchRisk",
    "ChristoffersenResult",
    "ConfidenceError",
    "Convention",
    "ConventionError",
    "DecayError",
    "DistributionError",
    "EmptyDataError",
    "HorizonError",
    "HorizonMethod",
    "InsufficientDataError",
    "InsufficientDataWarning",
    "LengthMismatchError",
    "Method",
    "MethodError",
    "MissingSymbolError",
    "NonFiniteError",
    "NonNumericError",
    "NotPSDError",
    "PortfolioRisk",
    "RiskInputError",
    "RiskWarning",
    "ShapeError",
    "TestResult",
    "Zone",
    "batch_risk",
    "christoffersen",
    "ewma_variance",
    "ewma_volatility",
    "exceptions",
    "expected_shortfall",
    "filtered_historical_var",
    "historical_var",
    "kupiec_pof",
    "monte_carlo_var",
    "overlapping_sums",
    "parametric_var",
    "portfolio_var",
    "sqrt_time_factor",
    "traffic_light",
]
