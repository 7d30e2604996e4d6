"""Request and response models of the HTTP API (the OpenAPI contract)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Confidence = Annotated[float, Field(strict=True, gt=0.0, lt=1.0, allow_inf_nan=False)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Symbol = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class VarMethod(enum.StrEnum):
    """VaR methods the API offers."""

    HISTORICAL = "historical"
    PARAMETRIC = "parametric"
    MONTE_CARLO = "monte_carlo"
    FILTERED_HISTORICAL = "filtered_historical"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class VarRequest(_Request):
    """VaR of one P&L (or return) series."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"returns": [0.012, -0.021, 0.004, -0.035, 0.018], "confidence": 0.8},
            ]
        }
    )

    returns: list[Number] = Field(min_length=1, description="P&L or return observations.")
    confidence: Confidence = 0.99
    method: VarMethod = VarMethod.HISTORICAL
    seed: Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)] = 0


class VarResponse(BaseModel):
    """VaR and ES (at the same confidence) of one series; losses are positive."""

    var: float
    es: float
    confidence: float
    observations: int
    method: str
    convention: str
    warnings: list[str] = []


class PortfolioVarRequest(_Request):
    """VaR of a book of positions, over inline returns or the service's stored market data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "positions": {"AAPL": 1_000_000.0, "MSFT": -400_000.0},
                    "returns": {
                        "AAPL": [0.012, -0.021, 0.004, -0.035, 0.018],
                        "MSFT": [0.010, -0.015, 0.002, -0.030, 0.011],
                    },
                    "confidence": 0.8,
                    "method": "historical",
                    "horizon_days": 1,
                }
            ]
        }
    )

    positions: dict[Symbol, Number] = Field(
        min_length=1, description="Currency notional by symbol (short positions negative)."
    )
    returns: dict[Symbol, list[Number]] | None = Field(
        default=None,
        description="Aligned return series by symbol; omit to use stored market data.",
    )
    confidence: Confidence = 0.99
    method: VarMethod = VarMethod.HISTORICAL
    horizon_days: Annotated[int, Field(strict=True, ge=1, le=250)] = 1
    as_of: dt.date | None = Field(
        default=None, description="Stored data only: last business date of the window."
    )
    window: Annotated[int, Field(strict=True, ge=2, le=10_000)] | None = Field(
        default=None, description="Stored data only: number of business days."
    )
    seed: Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)] = 0


class PortfolioVarResponse(BaseModel):
    """A book's VaR, ES and their allocations, each labelled for what it is."""

    portfolio_var: float
    expected_shortfall: float
    component_var: dict[str, float]
    marginal_var: dict[str, float]
    incremental_var: dict[str, float]
    standalone_var: dict[str, float]
    component_es: dict[str, float]
    confidence: float
    gross_notional: float
    net_notional: float
    observations: int
    method: str
    convention: str
    horizon_days: int
    as_of: dt.date | None
    version: str
    warnings: list[str] = []


class Release(BaseModel):
    """The release that produced a run."""

    version: str
    digest: str
    git_sha: str


class PortfolioResult(BaseModel):
    """One portfolio's figures in a run."""

    portfolio_id: str
    var_95: float
    var_99: float
    es_975: float
    gross_notional: float
    net_notional: float
    component_var_95: dict[str, float]
    component_var_99: dict[str, float]
    previous_var_99: float | None
    flagged: bool
    flag_reason: str
    realised_pnl: float | None
    exception: bool | None


class RunResponse(BaseModel):
    """A business date's accepted risk run."""

    business_date: dt.date
    status: str
    environment: str
    release: Release
    started_at: dt.datetime
    finished_at: dt.datetime
    deadline: dt.datetime
    met_deadline: bool
    window: int
    input_hashes: dict[str, str]
    validation: dict[str, Any]
    portfolios: list[PortfolioResult]
    # What computed it: "in-process" or "dask", on how many worker processes.
    executor: str = "in-process"
    workers: int = 1


class SampledRequest(BaseModel):
    """One recent real request as the service received it (kept for riskctl's shadow replay)."""

    id: int
    method: str
    path: str
    body: dict[str, Any]
    received_at: dt.datetime
    status: int


class SampledRequests(BaseModel):
    """The newest sampled requests, newest first, and how the service samples them."""

    samples: list[SampledRequest]
    sample_size: int = Field(description="Rows the store keeps at most (0: sampling is off).")
    sample_every: int = Field(description="One successful request in this many is kept.")


class Health(BaseModel):
    """Liveness."""

    status: str


class Readiness(BaseModel):
    """Readiness and the check behind it."""

    status: str
    checks: dict[str, bool]
    detail: dict[str, str]


class VersionInfo(BaseModel):
    """What is running."""

    version: str
    git_sha: str
    artifact_digest: str
    environment: str


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail
