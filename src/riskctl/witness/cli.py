"""``riskctl witness serve``: run a witness for one or more audit logs (C2SP tlog-witness)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from riskctl.audit.note import Verifier

__all__ = ["witness_app"]

witness_app = typer.Typer(
    help="A witness that cosigns audit checkpoints (run it elsewhere, with its own key).",
    no_args_is_help=True,
)


@witness_app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")],
    home: Annotated[
        Path, typer.Option("--home", help="The witness's own directory: its key and state.")
    ],
    log: Annotated[
        list[str] | None,
        typer.Option(
            "--log",
            help="A log to witness: its verifier key ORIGIN+KEYID+BASE64 "
            "(`riskctl audit public-key`). Repeatable; remembered in --home.",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    name: Annotated[
        str, typer.Option("--name", help="The witness's name in its cosignatures.")
    ] = "riskctl-witness",
) -> None:
    """Cosign a log's checkpoints only after an RFC 6962 consistency proof from the last one."""
    # Imported here: `riskctl` (any command) registers this group without loading the witness.
    from riskctl.audit.note import ALG_ED25519, NoteError, Verifier  # noqa: PLC0415
    from riskctl.witness.core import Witness, configure_logs  # noqa: PLC0415
    from riskctl.witness.server import make_server  # noqa: PLC0415

    logs: dict[str, Verifier] = {}
    try:
        for text in log or ():
            verifier = Verifier.parse(text)
            if verifier.alg != ALG_ED25519:
                raise NoteError(f"{verifier.name}: a log key is a signer key (type 0x01)")
            logs[verifier.name] = verifier
        witness = Witness(home.resolve(), name, configure_logs(home.resolve(), logs))
    except (NoteError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        server = make_server(witness, host, port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    typer.echo(f"witness {name} on http://{host}:{server.server_address[1]}", err=True)
    typer.echo(witness.verifier.vkey)  # stdout: the key to pin, alone on its line
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
