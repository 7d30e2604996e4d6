"""The one runner: output formats, exit codes, and the context closed whatever happens."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from riskctl.cli._runner import Output, run, run_plain
from riskctl.errors import DeployFailedError, PolicyRefusedError, UsageError
from riskctl.usecases import context as context_module


class FakeContext:
    """Stands in for the use cases' context: counts closes, says one notice."""

    def __init__(self, notice: Any) -> None:
        self.notice = notice
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def _app(body: Any, *, plain: bool = False, os_error_code: int = 1) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def cmd(as_json: bool = typer.Option(False, "--json")) -> None:
        if plain:
            run_plain(body, as_json=as_json, os_error_code=os_error_code)
        else:
            run(body, as_json=as_json, os_error_code=os_error_code)

    return app


@pytest.fixture
def contexts(monkeypatch: pytest.MonkeyPatch) -> list[FakeContext]:
    """Every context the runner opens (a fake: no policy file, no store)."""
    opened: list[FakeContext] = []

    def fake_open(**kwargs: Any) -> FakeContext:
        ctx = FakeContext(kwargs["notice"])
        opened.append(ctx)
        return ctx

    monkeypatch.setattr(context_module, "open_context", fake_open)
    return opened


def invoke(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_text_and_json_output(contexts: list[FakeContext]) -> None:
    """Text mode prints the text; --json prints the payload sorted and indented; exit 0."""

    def body(ctx: Any) -> Output:
        ctx.notice("incident INC-1 opened: x")
        return Output({"b": 1, "a": [1, 2]}, "all good")

    text = invoke(_app(body))
    assert (text.exit_code, text.stdout, text.stderr) == (
        0,
        "all good\n",
        "incident INC-1 opened: x\n",
    )
    as_json = invoke(_app(body), "--json")
    assert as_json.stdout == json.dumps({"a": [1, 2], "b": 1}, indent=2, sort_keys=True) + "\n"
    assert [c.closed for c in contexts] == [1, 1]


@pytest.mark.parametrize(
    ("error", "code", "kind"),
    [
        (UsageError("bad flag"), 2, "error"),
        (PolicyRefusedError("no approval", ("approval: risk",)), 3, "refused"),
        (DeployFailedError("unhealthy", {"release": "rel-1", "report": ["line 1"]}), 1, "failed"),
    ],
)
def test_errors_map_to_exit_codes(
    contexts: list[FakeContext], error: Exception, code: int, kind: str
) -> None:
    """Each riskctl error exits with its code, says `kind: message` on stderr, no traceback;
    the context is closed anyway."""

    def body(ctx: Any) -> Output:
        raise error

    out = invoke(_app(body))
    assert out.exit_code == code
    assert out.stderr.startswith(f"{kind}: {error}")
    assert "Traceback" not in out.stderr
    assert contexts[-1].closed == 1


def test_json_error_carries_results_and_missing(contexts: list[FakeContext]) -> None:
    """With --json a failure prints its results, the error, the exit code and what is missing."""

    def body(ctx: Any) -> Output:
        raise PolicyRefusedError("deploy refused", ("gate: unit", "approval: risk"))

    out = invoke(_app(body), "--json")
    assert out.exit_code == 3
    assert json.loads(out.stdout) == {
        "error": "deploy refused",
        "exit_code": 3,
        "missing": ["gate: unit", "approval: risk"],
    }


def test_report_lines_go_to_stderr_in_text_mode(contexts: list[FakeContext]) -> None:
    """A failed deploy's shadow report lines follow the error on stderr (text mode only)."""

    def body(ctx: Any) -> Output:
        raise DeployFailedError("shadow differs", {"report": ["A: 1.0 vs 2.0"]})

    out = invoke(_app(body))
    assert out.stderr.splitlines() == ["failed: shadow differs", "A: 1.0 vs 2.0"]
    assert "report" in json.loads(invoke(_app(body), "--json").stdout)


def test_os_error_exit_code_is_the_commands(contexts: list[FakeContext]) -> None:
    """An OSError is a clean failure with the command's code (1, or 2 for `audit report`)."""

    def body(ctx: Any) -> Output:
        raise PermissionError("read-only file system")

    assert invoke(_app(body)).exit_code == 1
    assert invoke(_app(body, os_error_code=2)).exit_code == 2


def test_a_nonzero_output_exits_with_it_after_printing(contexts: list[FakeContext]) -> None:
    """An Output with exit code 1 (a tampered trail, an incomplete report) prints, then exits 1;
    `err` puts its text on stderr and nothing on stdout."""

    def body(ctx: Any) -> Output:
        return Output({"ok": False}, "TAMPERED", exit_code=1, err=True)

    out = invoke(_app(body))
    assert (out.exit_code, out.stdout, out.stderr) == (1, "", "TAMPERED\n")
    assert json.loads(invoke(_app(body), "--json").stdout) == {"ok": False}


def test_run_plain_needs_no_context(contexts: list[FakeContext]) -> None:
    """Commands without a context (keygen, audit init) get the same error mapping."""

    def body() -> Output:
        raise UsageError("say where the private key goes")

    out = invoke(_app(body, plain=True))
    assert (out.exit_code, out.stderr) == (2, "error: say where the private key goes\n")
    assert contexts == []


def test_a_failing_context_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the context cannot open (a bad policy file), the command exits 2, no traceback."""

    def broken(**kwargs: Any) -> Any:
        raise UsageError("delivery.toml: unknown key")

    monkeypatch.setattr(context_module, "open_context", broken)
    out = invoke(_app(lambda ctx: Output(None, "never")))
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == "error: delivery.toml: unknown key\n"
