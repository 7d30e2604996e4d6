"""``riskctl review`` and ``riskctl approve``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import app
from riskctl.cli._options import AsOpt, ConfigOpt, EnvOpt, JsonOpt, KeyOpt, ReleaseArg
from riskctl.cli._runner import Output, run

if TYPE_CHECKING:
    from riskctl.usecases.context import Context


@app.command()
def review(
    release: ReleaseArg,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Record a code review of RELEASE by the acting identity."""
    run(partial(_review, release), as_json=as_json, config=config, actor=actor, key=key)


def _review(release: str, ctx: Context) -> Output:
    from riskctl.usecases import approvals  # noqa: PLC0415

    out = approvals.review(ctx, release)
    return Output(out, f"review of {out.release} recorded for {out.reviewer}")


@app.command()
def approve(
    release: ReleaseArg,
    *,
    env: EnvOpt,
    break_glass: Annotated[
        bool, typer.Option("--break-glass", help="An emergency (break-glass) approval.")
    ] = False,
    model_change: Annotated[
        bool,
        typer.Option(
            "--model-change",
            help="Risk management accepts the release's declared model change and impact.",
        ),
    ] = False,
    accept_judgement: Annotated[
        str | None,
        typer.Option(
            "--accept-judgement",
            help="With --model-change: risk accepts a change the model-change judge blocked, "
            "for this reason (recorded with the evidence).",
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Record an approval of RELEASE for ENV by the acting identity."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import approvals  # noqa: PLC0415

        out = approvals.approve(
            ctx, release, env, break_glass=break_glass, model_change=model_change,
            accept_judgement=accept_judgement,
        )  # fmt: skip
        kind = "break-glass approval" if break_glass else "approval"
        if model_change:
            kind = "model-change approval"
        return Output(out, f"{kind} of {out.release} for {env} recorded for {out.approver}")

    run(body, as_json=as_json, config=config, actor=actor, key=key)
