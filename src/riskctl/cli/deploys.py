"""``riskctl deploy``, ``status``, ``promote``, ``abort`` and ``rollback``.

``abort`` is what an operator runs when a canary misbehaves: it imports only the rollout use
cases (issue 11, item 4; ``bench/bench_rollout.py`` measures invocation to 0 %).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from riskctl.cli._app import app
from riskctl.cli._options import AsOpt, ConfigOpt, EnvOpt, JsonOpt, KeyOpt, ReleaseArg
from riskctl.cli._runner import Output, bullets, run
from riskctl.model import Strategy

if TYPE_CHECKING:
    from riskctl.usecases.context import Context
    from riskctl.usecases.queries import StatusResult

ViaOpt = Annotated[
    str | None,
    typer.Option(
        "--via",
        metavar="COMMAND",
        help="Have COMMAND do the deploy (e.g. apply `riskctl render k8s` manifests and wait "
        "for the rollout) after the policy checks; its exit status decides success. It gets "
        "RISKCTL_RELEASE, RISKCTL_DIGEST, RISKCTL_VERSION, RISKCTL_ENV, RISKCTL_STRATEGY; the "
        "command line is recorded, so pass secrets in the environment.",
    ),
]


@app.command()
def deploy(
    release: ReleaseArg,
    *,
    env: EnvOpt,
    strategy: Annotated[
        Strategy | None, typer.Option("--strategy", help="Override the environment's strategy.")
    ] = None,
    fast_track: Annotated[
        bool, typer.Option("--fast-track", help="Take the fast track (non-calculation changes).")
    ] = False,
    break_glass: Annotated[
        str | None, typer.Option("--break-glass", metavar="REASON", help="Emergency deploy.")
    ] = None,
    rollback_plan: Annotated[
        str | None, typer.Option("--rollback-plan", help="How to undo this deploy.")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only check the policy (roles, gates, approvals, segregation of duties, windows, "
            "freeze) and record the result; deploy nothing (a preflight, e.g. before a change "
            "window opens).",
        ),
    ] = False,
    via: ViaOpt = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Deploy RELEASE to ENV, enforcing the environment's policy."""

    def body(ctx: Context) -> Output:
        from riskctl.targets.command import parse_command  # noqa: PLC0415
        from riskctl.usecases import deploys  # noqa: PLC0415

        out = deploys.deploy(
            ctx, release, env, strategy=strategy, fast_track=fast_track,
            break_glass_reason=break_glass, rollback_plan=rollback_plan, check_only=check,
            via=parse_command(via) if via is not None else None,
        )  # fmt: skip
        if isinstance(out, deploys.DeployCheckResult):
            passed = "\n".join(f"  - {c['name']}: {c['detail']}" for c in out.checks)
            return Output(out, f"{out.release} may be deployed to {env} ({out.strategy})\n{passed}")
        if out.phase == "Paused":
            head = f"PAUSED {out.release} in {env}: {out.message}"
        else:
            head = f"deployed {out.release} to {env} ({out.strategy})"
        return Output(out, f"{head}\n{bullets(out.steps)}")

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@app.command()
def status(
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """What runs where, and its health."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import queries  # noqa: PLC0415

        out = queries.status(ctx, env)
        return Output(out, _status_text(out))

    run(body, as_json=as_json, config=config, actor=actor, key=key)


def _status_text(out: StatusResult) -> str:
    lines = []
    for name, e in out.environments.items():
        canary = f"  canary {e.canary_release} at {e.canary_weight} %" if e.canary_release else ""
        lines.append(f"{name:<8} {e.phase:<12} {e.stable_release or '-':<18} {e.url}{canary}")
        extra: dict[str, Any] = dict(e.extra)
        verdict = extra.get("analysis")
        if verdict:
            lines.append(f"         analysis: {verdict['summary']}")
            if verdict.get("samples"):  # the sample size the judge needed (issue 13)
                n = verdict["samples"]
                lines.append(f"         samples: {n['canary']} of {n['needed']} needed")
        shadow = extra.get("shadow")
        if shadow:
            lines.append(f"         {shadow['summary']}")
        if extra.get("controller") not in (None, "idle"):
            lines.append(f"         controller: {extra['controller']}")
        warm = extra.get("warm")
        if warm:
            lines.append(f"         warm: {warm['release']} (retired in {warm['retire_in_s']:g} s)")
    return "\n".join(lines)


@app.command()
def promote(
    env: Annotated[str, typer.Argument(help="Environment whose paused rollout continues.")],
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Move a paused rollout in ENV to its next step (and on, until it pauses or ends)."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import rollouts  # noqa: PLC0415

        out = rollouts.promote(ctx, env)
        return Output(out, f"{env}: {out.message}\n{bullets(out.steps)}")

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@app.command()
def abort(
    env: Annotated[str, typer.Argument(help="Environment whose rollout to abort.")],
    *,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (recorded in the audit trail).")
    ] = "aborted by an operator",
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Abort the rollout in ENV: canary weight 0 at once, stable keeps serving."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import rollouts  # noqa: PLC0415

        out = rollouts.abort(ctx, env, reason)
        return Output(out, f"{env}: {out.message}\n{bullets(out.steps)}")

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@app.command()
def rollback(
    *,
    env: EnvOpt,
    to: Annotated[
        str | None, typer.Option("--to", help="Release to restore (default: the previous one).")
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Restore the previous (or named) release in ENV; refused past an irreversible migration."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import rollouts  # noqa: PLC0415

        out = rollouts.rollback(ctx, env, to)
        return Output(out, f"rolled {env} back to {out.release}\n{bullets(out.steps)}")

    run(body, as_json=as_json, config=config, actor=actor, key=key)
