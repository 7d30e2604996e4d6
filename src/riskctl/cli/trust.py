"""``riskctl policy pin`` and ``riskctl keygen``: setting trust up."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import app, policy_app
from riskctl.cli._options import AsOpt, ConfigOpt, JsonOpt, KeyOpt
from riskctl.cli._runner import Output, run, run_plain

if TYPE_CHECKING:
    from riskctl.usecases.context import Context


@policy_app.command("pin")
def policy_pin(
    *,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    expect_digest: Annotated[
        str | None,
        typer.Option(
            "--expect-digest",
            help="The file digest (sha256:…) the admin means to pin; anything else is refused.",
        ),
    ] = None,
    expect_ref: Annotated[
        str | None,
        typer.Option(
            "--expect-ref",
            help="A commit or ref (e.g. origin/main) whose committed copy of the file must be "
            "the one pinned.",
        ),
    ] = None,
) -> None:
    """Pin the policy file (--config, else RISKCTL_CONFIG, else delivery.toml) as the one in
    force; signed by an admin of the policy pinned now (the first pin: of the file itself)."""

    def body(ctx: Context) -> Output:
        from riskctl.trust.admin import pin  # noqa: PLC0415

        out = pin(ctx, expect_digest=expect_digest, expect_ref=expect_ref)
        return Output(out, f"pinned {out['policy']} (signed by {out['signer']})")

    run(body, as_json=as_json, config=config, actor=actor, key=key)


@app.command()
def keygen(
    actor: AsOpt = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", help="Private key file (else $RISKCTL_KEYRING/NAME); never replaced."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an identity's Ed25519 signing key; prints the public line for the policy's keys."""

    def body() -> Output:
        from riskctl.trust.admin import keygen as make_key  # noqa: PLC0415
        from riskctl.usecases.context import resolve_actor  # noqa: PLC0415

        made = make_key(resolve_actor(actor) or "", out, os.environ)
        return Output(
            made,
            f"{made['public_key']}\n(private key in {made['private_key']}; add the line above to "
            f"identities.{made['identity']}.keys in the policy)",
        )

    run_plain(body, as_json=as_json)
