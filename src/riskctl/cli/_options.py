"""The options most commands share (``--as``, ``--key``, ``--json``, ``--config``, …)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["AsOpt", "ConfigOpt", "EnvOpt", "JsonOpt", "KeyOpt", "ReleaseArg"]

AsOpt = Annotated[
    str | None, typer.Option("--as", help="Acting identity (else RISKCTL_ACTOR, GITHUB_ACTOR).")
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="The acting identity's private key (else RISKCTL_SIGNING_KEY, else "
        "$RISKCTL_KEYRING/NAME): what proves --as.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="Policy file (else RISKCTL_CONFIG, else ./delivery.toml)."),
]
ReleaseArg = Annotated[str, typer.Argument(help="Release id (rel-…) or digest (sha256:…).")]
EnvOpt = Annotated[str, typer.Option("--env", help="Target environment.")]
