"""``riskctl incident open|resolve|list``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import incident_app
from riskctl.cli._options import AsOpt, ConfigOpt, EnvOpt, JsonOpt, KeyOpt
from riskctl.cli._runner import Output, run
from riskctl.cli.queries import duration

if TYPE_CHECKING:
    from riskctl.incidents import Incident
    from riskctl.usecases.context import Context


def _incident_line(incident: Incident) -> str:
    i = incident.as_dict()
    restored = duration(i["restore_seconds"]) if i["restore_seconds"] is not None else "—"
    return (
        f"{i['id']:<9} {i['status']:<9} {i['env'] or '':<8} {i['opened_at'][:19]} "
        f"{'auto' if i['automatic'] else i['opened_by']:<8} restore {restored:<9} {i['summary']}"
    )


@incident_app.command("open")
def incident_open(
    *,
    env: EnvOpt,
    summary: Annotated[str, typer.Option("--summary", help="What is wrong, in one line.")],
    impact: Annotated[str, typer.Option("--impact", help="Who or what is affected.")] = "",
    release: Annotated[
        str | None, typer.Option("--release", help="The release suspected, if known.")
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Open an incident by hand (rollbacks and failed risk runs open one automatically)."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import incidents  # noqa: PLC0415

        out = incidents.open_incident(ctx, env, summary, impact, release)
        return Output(out, f"opened {out.id} in {env}: {summary}")

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@incident_app.command("resolve")
def incident_resolve(
    incident: Annotated[str, typer.Argument(help="Incident id, e.g. INC-42.")],
    *,
    root_cause: Annotated[str, typer.Option("--root-cause", help="What caused it.")] = "",
    regression_test: Annotated[
        str,
        typer.Option("--regression-test", help="The test that now prevents a repeat."),
    ] = "",
    impact: Annotated[str, typer.Option("--impact", help="The impact, as now known.")] = "",
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Resolve an incident with its root cause and the regression test that prevents a repeat."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import incidents  # noqa: PLC0415

        out = incidents.resolve_incident(ctx, incident, root_cause, regression_test, impact)
        text = f"resolved {out.id}: {out.root_cause} (test: {out.regression_test})"
        return Output(out.as_dict(), text)

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@incident_app.command("list")
def incident_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Incidents, oldest first: status, environment, time to restore, summary."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import incidents  # noqa: PLC0415

        found = incidents.list_incidents(ctx, include_resolved=not open_only)
        payload = {"incidents": [i.as_dict() for i in found]}
        return Output(payload, "\n".join(map(_incident_line, found)) or "no incidents")

    run(body, as_json=as_json, config=config, actor=actor)
