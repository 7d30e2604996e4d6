"""``riskctl history``, ``dashboard`` and ``dora``: what the trail tells people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from riskctl.cli._app import app
from riskctl.cli._options import AsOpt, ConfigOpt, JsonOpt
from riskctl.cli._runner import Output, guarded, run

if TYPE_CHECKING:
    from riskctl.usecases.context import Context


@app.command()
def history(
    limit: Annotated[int, typer.Option("--limit", min=0, help="Last N events (0 = all).")] = 0,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Releases, gates, reviews, approvals, deploys, refusals and rollbacks."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import queries  # noqa: PLC0415

        out = queries.history(ctx, limit or None)
        lines = [
            f"#{e.seq:<5} {e.time[:19]} {e.actor:<10} {e.action:<18} "
            f"{e.release or '':<18} {e.env or ''}"
            for e in out.events
        ]
        return Output(out, "\n".join(lines) or "no history yet")

    run(body, as_json=as_json, config=config, actor=actor)


@app.command()
def dashboard(
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (loopback only unless --allow-remote)."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8400,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host. The dashboard has no login and no TLS: anyone "
            "who can reach the port can read the audit trail.",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve the read-only web dashboard and print its URL.

    Environments and what runs there, rollouts with their analysis, release history, the audit
    trail and its verification, DORA metrics with charts, incidents and the latest risk runs.
    """
    from riskctl.dashboard.command import run_dashboard  # noqa: PLC0415 - keeps start-up light

    with guarded(False, os_error_code=1):
        run_dashboard(host, port, config, allow_remote=allow_remote)


@app.command()
def dora(
    env: Annotated[str, typer.Option("--env", help="Environment to measure.")] = "prod",
    days: Annotated[
        float, typer.Option("--days", min=1, max=3660, help="Window, in days up to now.")
    ] = 30.0,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """DORA metrics from the audit trail, with their definitions."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import queries  # noqa: PLC0415

        out = queries.dora(ctx, env, days).as_dict()
        return Output(out, _dora_text(out))

    run(body, as_json=as_json, config=config, actor=actor)


def duration(seconds: float | None) -> str:
    """A duration as people read it: seconds, minutes, hours or days."""
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _dora_text(out: dict[str, Any]) -> str:
    freq, lead = out["deployment_frequency"], out["lead_time"]
    cfr, ttr = out["change_failure_rate"], out["time_to_restore"]
    rate = "n/a" if cfr["rate"] is None else f"{cfr['rate'] * 100:.0f} %"
    still_open = f", {ttr['still_open']} still open" if ttr["still_open"] else ""
    lines = [
        f"DORA metrics for {out['env']}, last {out['window']['days']:g} days "
        f"({out['window']['since'][:10]} to {out['window']['until'][:10]})",
        f"  deployment frequency  {freq['deploys']} deploys, {freq['per_week']:.1f} a week "
        f"— {freq['band']}",
        f"  lead time             median {duration(lead['median_s'])}, p90 "
        f"{duration(lead['p90_s'])} over {lead['changes']} change(s)",
        f"  change failure rate   {rate} ({cfr['failed']} of {cfr['deploys']} deploys)",
        *(f"      {f['release']}: {f['reason']}" for f in cfr["failures"]),
        f"  time to restore       median {duration(ttr['median_s'])}, max "
        f"{duration(ttr['max_s'])} over {ttr['restored']} restored incident(s)"
        f"{still_open}",
    ]
    builds = out["build_time"][-5:]
    if builds:
        lines.append(
            "  build time (latest)   " + ", ".join(f"{b['seconds']:.1f} s" for b in builds)
        )
    coverage = out["coverage"][-5:]
    if coverage:
        lines.append(
            "  coverage (latest)     " + ", ".join(f"{c['percent']:.1f} %" for c in coverage)
        )
    lines.append("Definitions:")
    lines += [f"  {name}: {text}" for name, text in out["definitions"].items()]
    return "\n".join(lines)
