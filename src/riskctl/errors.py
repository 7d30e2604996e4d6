"""The exceptions riskctl raises, and the exit code each one maps to (SPEC §4).

::

    RiskctlError                  exit 1  a gate, analysis or deploy failed
    ├── UsageError                exit 2  bad input: unknown release, bad flag, bad config
    │   └── ConfigError                   delivery.toml failed validation
    ├── PolicyRefusedError             exit 3  refused by policy (the message says what is missing)
    ├── GateFailedError                exit 1
    ├── DeployFailedError              exit 1
    └── AuditError                exit 1  the audit store cannot be read or written
        └── AuditUnverifiedError  exit 3  refused: the trail does not verify, nothing is folded
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "AuditUnverifiedError",
    "ConfigError",
    "DeployFailedError",
    "GateFailedError",
    "PolicyRefusedError",
    "RiskctlError",
    "UsageError",
]


class RiskctlError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(RiskctlError):
    """The command line, an argument or the environment is wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """The policy file is missing, unreadable or invalid."""


class PolicyRefusedError(RiskctlError):
    """A policy forbids the action; ``missing`` lists each unmet requirement."""

    exit_code = 3

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class GateFailedError(RiskctlError):
    """At least one quality gate did not pass; ``results`` is the per-gate summary."""

    def __init__(self, message: str, results: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.results = results or {}


class DeployFailedError(RiskctlError):
    """A deploy failed (the previous release was restored); ``results`` has the details
    (e.g. the shadow comparison's ``report`` lines)."""

    def __init__(self, message: str, results: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.results = results or {}


class AuditError(RiskctlError):
    """The audit store is unusable (missing tables, no permission, unreachable)."""


class AuditUnverifiedError(AuditError):
    """The audit trail does not verify (an unsigned, edited or unanchored entry), so no decision
    may be taken from it: a refusal, not a crash (issue 8, finding 5)."""

    exit_code = 3
