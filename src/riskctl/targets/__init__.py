"""Deploy targets: the interface and the local (supervisord) implementation."""

from riskctl.targets.interface import DeployTarget, InstanceStatus, TargetOutcome, TargetRequest

__all__ = ["DeployTarget", "InstanceStatus", "TargetOutcome", "TargetRequest"]
