"""``riskctl exec`` and ``riskctl risk-run``: operating an environment's stable release."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import app
from riskctl.cli._options import AsOpt, ConfigOpt, EnvOpt, JsonOpt, KeyOpt
from riskctl.cli._runner import Output, guarded, run

if TYPE_CHECKING:
    from riskctl.usecases.context import Context


@app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def exec_command(
    ctx: typer.Context,
    *,
    env: EnvOpt,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            help="Use this release instead of the one serving ENV (e.g. before the "
            "first deploy, to seed the store).",
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run `risk-service ARGS` from the release serving ENV, with ENV's store and settings.

    Example: riskctl exec --env prod -- data load --positions p.csv --market m.csv
    """
    args = list(ctx.args)

    def body(context: Context) -> Output:
        from riskctl.usecases.envops import exec_service  # noqa: PLC0415

        code = exec_service(context, env, args, release_ref=release)
        return Output(None, None, exit_code=code)

    run(body, config=config, actor=actor, key=key)


@app.command("risk-run")
def risk_run_command(
    env: EnvOpt,
    *,
    date: Annotated[str, typer.Option("--date", help="Business date, YYYY-MM-DD.")],
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The daily risk run of ENV with its stable release; falls back to the last good release.

    Exit 0 when the numbers arrived (also after a fallback, which alerts and is recorded),
    1 when no release produced them, 3 when the date is not an NYSE session.
    """
    from riskctl.usecases import envops  # noqa: PLC0415

    with guarded(as_json):
        envops.check_business_date(date)  # before anything opens

    def body(context: Context) -> Output:
        result, lines = envops.risk_run(context, env, date)
        return Output(result, "\n".join(lines))

    run(body, as_json=as_json, config=config, actor=actor, key=key)
