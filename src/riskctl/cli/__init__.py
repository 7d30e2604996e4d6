"""The ``riskctl`` command line (SPEC §4): each command parses its arguments, calls one use case
(:mod:`riskctl.usecases`) through the one runner (:mod:`riskctl.cli._runner`: context, output
format, exit codes) and renders the result.

Exit codes: 0 success; 1 a gate, analysis or deploy failed (and was rolled back); 2 usage error
(also: another riskctl is driving that environment); 3 refused by policy.

Importing this package imports no heavy dependency (pydantic, SQLAlchemy, httpx, NumPy,
cryptography, …): each command imports its use case when it runs, so ``riskctl abort`` starts
fast (issue 11, item 4; ``tests/riskctl/cli/test_imports.py`` guards it).
"""

from __future__ import annotations

# The command modules register on the app when imported, in the order `riskctl --help` lists.
# isort: off
from riskctl.cli import release, approvals, deploys, queries, incidents  # noqa: F401
from riskctl.cli import audit, trust, envops, demo, render  # noqa: F401

# isort: on
from riskctl.cli._app import app

__all__ = ["app"]
