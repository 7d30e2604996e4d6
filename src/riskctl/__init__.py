"""riskctl: the delivery pipeline for risk-service (build, gates, approvals, deploy, audit)."""

from riskctl.errors import (
    AuditError,
    ConfigError,
    DeployFailedError,
    GateFailedError,
    PolicyRefusedError,
    RiskctlError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "ConfigError",
    "DeployFailedError",
    "GateFailedError",
    "PolicyRefusedError",
    "RiskctlError",
    "UsageError",
    "__version__",
]
