"""Quality gates: interface, implementations and the parallel runner."""

from riskctl.gates.interface import Gate, GateContext, GateResult
from riskctl.gates.runner import make_gate, run_gates

__all__ = ["Gate", "GateContext", "GateResult", "make_gate", "run_gates"]
