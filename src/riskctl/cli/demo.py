"""``riskctl demo``: the whole story on embedded defaults (SPEC §7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskctl.cli._app import app
from riskctl.cli._runner import guarded


@app.command()
def demo(
    clean: Annotated[
        bool, typer.Option("--clean", help="Stop what the demo started and remove its state.")
    ] = False,
    story_name: Annotated[
        str,
        typer.Option(
            "--story",
            help="delivery (the default) or model-change (two declared model changes judged).",
        ),
    ] = "delivery",
) -> None:
    """The whole story end to end on embedded defaults (SPEC §7): v1 to prod, v2 canaried,
    v3 stopped by the shadow comparison, v4 rolled back by canary analysis; or, with
    ``--story model-change``, one declared model change accepted and one blocked by the judge."""
    from riskctl.errors import UsageError  # noqa: PLC0415

    root = Path.cwd()
    with guarded(False):
        if not (root / "delivery.toml").exists() or not (root / ".git").exists():
            raise UsageError("run riskctl demo from the repository root")
        if not clean and story_name not in ("delivery", "model-change"):
            raise UsageError(f"unknown story {story_name!r}: delivery or model-change")
    from riskctl.demo import story  # noqa: PLC0415

    if clean:
        story.clean(root)
        return
    if story_name == "model-change":
        from riskctl.demo.modelchange import run_model_change_demo  # noqa: PLC0415

        raise typer.Exit(run_model_change_demo(root))
    raise typer.Exit(story.run_demo(root))
