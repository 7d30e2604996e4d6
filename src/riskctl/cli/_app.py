"""The ``riskctl`` Typer application and its command groups (the commands register on them)."""

from __future__ import annotations

import typer

from riskctl.witness.cli import witness_app

__all__ = ["app", "audit_app", "incident_app", "policy_app", "render_app"]

app = typer.Typer(
    name="riskctl",
    help="Delivery pipeline for risk-service: build, gates, approvals, deploy, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
incident_app = typer.Typer(
    help="Incidents: opened automatically by rollbacks and failed risk runs, or by people.",
    no_args_is_help=True,
)
app.add_typer(incident_app, name="incident")
app.add_typer(witness_app, name="witness")
policy_app = typer.Typer(help="The policy in force, pinned by digest.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
render_app = typer.Typer(
    help="Render the delivery policy for another platform (Kubernetes).", no_args_is_help=True
)
app.add_typer(render_app, name="render")
