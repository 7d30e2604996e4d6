"""Deploy targets: the interfaces (deploy target, fleet) and their implementations."""

from riskctl.targets.fleet import Fleet
from riskctl.targets.interface import DeployTarget, InstanceStatus, TargetOutcome, TargetRequest

__all__ = ["DeployTarget", "Fleet", "InstanceStatus", "TargetOutcome", "TargetRequest"]
