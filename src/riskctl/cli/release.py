"""``riskctl build`` and ``riskctl gates``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import app
from riskctl.cli._options import AsOpt, ConfigOpt, JsonOpt, KeyOpt, ReleaseArg
from riskctl.cli._runner import Output, run

if TYPE_CHECKING:
    from riskctl.usecases.context import Context


@app.command()
def build(
    *,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Build uncommitted changes (marked dirty).")
    ] = False,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Build one immutable release from the current commit."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import release  # noqa: PLC0415

        out = release.build(ctx, allow_dirty=allow_dirty)
        text = (
            f"built {out.release} {out.digest}\n"
            f"  commit {out.commit} by {out.author}, version {out.version}"
            f"{' (DIRTY)' if out.dirty else ''}\n"
            f"  change class: {out.change_class} (base: {out.base_release or 'none'})"
        )
        return Output(out, text)

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@app.command()
def gates(
    release: ReleaseArg,
    *,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this gate (repeatable).")
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip this gate.")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Gates run at once (0: one per core).")
    ] = 0,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run and record the quality gates for RELEASE."""

    def body(ctx: Context) -> Output:
        from riskctl.usecases import release as use  # noqa: PLC0415

        out = use.gates(
            ctx,
            release,
            only=only or (),
            skip=skip or (),
            workers=workers or max(2, os.cpu_count() or 2),
            progress=not as_json,
        )
        lines = [f"gates for {out.release}: {'passed' if out.passed else 'FAILED'}"]
        lines += [
            f"  {g.gate:<18} {g.status:<12} {g.duration_s:>7.1f}s  {g.summary}" for g in out.gates
        ]
        return Output(out, "\n".join(lines))

    run(body, as_json=as_json, config=config, actor=actor, key=key)
