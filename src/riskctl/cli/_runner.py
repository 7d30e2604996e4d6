"""The one runner every command goes through: it opens the use cases' context, calls the
command's body, prints the result as text or ``--json``, maps errors to exit codes (never a
traceback), and closes the context (checkpoint, witnesses) whatever happened.

Exit codes (SPEC §4): 0 success; 1 a gate, analysis or deploy failed (and was rolled back);
2 usage error (also: another riskctl is driving that environment); 3 refused by policy.

Imports stay light: the context (pydantic policy, audit store, keys) loads inside :func:`run`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from riskctl.errors import RiskctlError

if TYPE_CHECKING:
    from riskctl.usecases.context import Context

__all__ = ["Output", "bullets", "fail", "guarded", "run", "run_plain"]


@dataclass(frozen=True)
class Output:
    """What a command prints: ``payload`` with ``--json``, else ``text`` (None: nothing);
    ``err`` sends the text to stderr; ``note`` is one more stderr line; ``exit_code`` last."""

    payload: Any
    text: str | None
    exit_code: int = 0
    err: bool = False
    newline: bool = True
    note: str | None = None


def _json(payload: Any) -> str:
    from riskctl.usecases._result import plain  # noqa: PLC0415

    return json.dumps(plain(payload), indent=2, sort_keys=True, default=str)


def emit(as_json: bool, out: Output) -> None:
    """Print ``out`` in the chosen format."""
    if as_json and out.payload is not None:
        typer.echo(_json(out.payload))
    elif not as_json and out.text is not None:
        typer.echo(out.text, err=out.err, nl=out.newline)
    if out.note is not None:
        typer.echo(out.note, err=True)


def fail(as_json: bool, exc: Exception, code: int) -> NoReturn:
    """Report ``exc`` (JSON on stdout with ``--json``; a line on stderr always) and exit."""
    message = str(exc) or type(exc).__name__
    if as_json:
        payload: dict[str, Any] = {
            **getattr(exc, "results", {}),
            "error": message,
            "exit_code": code,
        }
        missing = getattr(exc, "missing", ())
        if missing:
            payload["missing"] = list(missing)
        typer.echo(_json(payload))
    kind = {3: "refused", 2: "error"}.get(code, "failed")
    typer.echo(f"{kind}: {message}", err=True)
    if not as_json:
        for line in getattr(exc, "results", {}).get("report", []):
            typer.echo(line, err=True)
    raise typer.Exit(code)


@contextmanager
def guarded(as_json: bool, *, os_error_code: int = 1) -> Iterator[None]:
    """riskctl's errors exit with their code; the system's (``OSError``) with ``os_error_code``."""
    try:
        yield
    except RiskctlError as exc:
        fail(as_json, exc, exc.exit_code)
    except OSError as exc:
        fail(as_json, exc, os_error_code)


def _say(line: str) -> None:
    typer.echo(line, err=True)


def _done(out: Output | None) -> None:
    if out is not None and out.exit_code:
        raise typer.Exit(out.exit_code)


def run(
    body: Callable[[Context], Output],
    *,
    as_json: bool = False,
    config: str | None = None,
    actor: str | None = None,
    key: str | None = None,
    os_error_code: int = 1,
) -> None:
    """Open a context, run ``body``, print its output; close the context in any case."""
    from riskctl.usecases.context import open_context  # noqa: PLC0415 - keeps the start light

    ctx: Context | None = None
    out: Output | None = None
    with guarded(as_json, os_error_code=os_error_code):
        try:
            ctx = open_context(config_path=config, actor=actor, key=key, notice=_say)
            out = body(ctx)
            emit(as_json, out)
        finally:
            if ctx is not None:
                try:
                    ctx.close()
                except RiskctlError as exc:  # pragma: no cover - store vanished mid-command
                    _say(f"warning: could not write the checkpoint: {exc}")
    _done(out)


def run_plain(body: Callable[[], Output], *, as_json: bool = False, os_error_code: int = 1) -> None:
    """Run a command that needs no context (keygen, audit init, render without a release)."""
    out: Output | None = None
    with guarded(as_json, os_error_code=os_error_code):
        out = body()
        emit(as_json, out)
    _done(out)


def bullets(lines: list[str] | tuple[str, ...]) -> str:
    """Steps of a deploy, promote, abort or rollback as an indented list."""
    return "\n".join(f"  - {line}" for line in lines)
