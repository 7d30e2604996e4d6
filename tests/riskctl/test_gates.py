"""Gate implementations: commands, coverage, performance over HTTP, and the dependency audit
that reports "unavailable" instead of passing silently."""

from __future__ import annotations

import json
import sys
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from riskctl.config import GateSpec
from riskctl.gates import GateContext, GateResult, make_gate, run_gates
from riskctl.gates.depaudit import locked_packages
from riskctl.model import GateStatus
from riskctl.service import open_session
from tests.riskctl.conftest import Built, Cli


@pytest.fixture
def ctx(built: Built, tmp_path: Path) -> GateContext:
    """A gate context on the fixture release's source snapshot."""
    source = tmp_path / "src"
    with tarfile.open(built.home / "releases" / built.release / "source.tar") as tar:
        tar.extractall(source, filter="data")
    lock = tmp_path / "runtime.lock"
    lock.write_text("numpy==2.2.0 \\\n    --hash=sha256:00\nhttpx[http2]==0.27.0\n# comment\n")
    return GateContext(source, tmp_path, sys.executable, lock, tmp_path)


def gate(name: str, **spec: Any) -> Any:
    return make_gate(name, GateSpec.model_validate(spec))


class _Osv(BaseHTTPRequestHandler):
    answer: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osv() -> Iterator[tuple[str, type[_Osv]]]:
    """A local stand-in for the OSV querybatch API on 127.0.0.1."""
    handler = type("Handler", (_Osv,), {"answer": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/querybatch", handler
    finally:
        server.shutdown()
        server.server_close()


def test_lock_parsing_reads_pins() -> None:
    """Every name==version pin of a hashed lock is audited (extras stripped)."""
    lock = Path(__file__).parent / "data" / "sample.lock"
    assert locked_packages(lock) == [("numpy", "2.2.0"), ("httpx", "0.27.0")]


def test_dependency_audit_unreachable_is_unavailable(ctx: GateContext) -> None:
    """With no database reachable the verdict is unavailable, never passed."""
    result = gate("audit", kind="dependency-audit", database_url="http://127.0.0.1:9/x").run(ctx)
    assert result.status is GateStatus.UNAVAILABLE
    assert "not audited" in result.summary


def test_dependency_audit_reports_vulnerabilities(ctx: GateContext, osv: Any) -> None:
    """A vulnerable pin fails the gate and is named; a clean answer passes."""
    url, handler = osv
    handler.answer = {"results": [{"vulns": [{"id": "GHSA-xxxx"}]}, {}]}
    failed = gate("audit", kind="dependency-audit", database_url=url).run(ctx)
    assert failed.status is GateStatus.FAILED
    assert "numpy==2.2.0: GHSA-xxxx" in failed.summary
    handler.answer = {"results": [{}, {}]}
    passed = gate("audit", kind="dependency-audit", database_url=url).run(ctx)
    assert passed.status is GateStatus.PASSED


def test_command_gate_failures_are_explained(ctx: GateContext) -> None:
    """A missing program, a non-zero exit and a timeout each fail with a reason."""
    missing = gate("x", commands=[["no-such-tool-riskctl"]]).run(ctx)
    assert missing.status is GateStatus.FAILED
    assert "not found" in missing.summary
    failing = gate("x", commands=[["{python}", "-c", "raise SystemExit(4)"]]).run(ctx)
    assert failing.summary.endswith("exited 4")
    slow = gate("x", commands=[["{python}", "-c", "import time; time.sleep(5)"]], timeout_s=0.2)
    assert "timed out" in slow.run(ctx).summary


def test_optional_file_commands_are_skipped_and_logged(ctx: GateContext) -> None:
    """hadolint on a project without a Dockerfile is skipped, and the log says so."""
    result = gate(
        "security", commands=[["hadolint", "Dockerfile"]], optional_files=["Dockerfile"]
    ).run(ctx)
    assert result.status is GateStatus.PASSED
    assert b"skipped: Dockerfile not present" in result.log
    assert result.log_digest.startswith("sha256:")


def test_coverage_gate_judges_the_report(ctx: GateContext) -> None:
    """Coverage below the minimum fails; a missing report fails."""
    write = (
        "import json,sys; json.dump({'totals': {'percent_covered': 79.5}}, open(sys.argv[1], 'w'))"
    )
    low = gate("tests", kind="coverage", commands=[["{python}", "-c", write, "{report}"]])
    result = low.run(ctx)
    assert result.status is GateStatus.FAILED
    assert result.summary == "coverage 79.5% (minimum 80%)"
    none = gate("tests", kind="coverage", commands=[["{python}", "-c", "pass"]]).run(ctx)
    assert none.summary == "no coverage report was produced"


def test_performance_gate_times_the_reference_book(ctx: GateContext) -> None:
    """The release's own service answers the reference book; an impossible budget fails."""
    serve = [["risk-service", "serve", "--host", "127.0.0.1", "--port", "{port}"]]
    result = gate("perf", kind="performance", commands=serve, budget_ms=1e-6).run(ctx)
    assert result.status is GateStatus.FAILED
    assert result.metrics["median_ms"] > 0
    assert "budget" in result.summary
    broken = [["{python}", "-c", "pass", "{port}"]]
    dead = gate("perf", kind="performance", commands=broken).run(ctx)
    assert dead.status is GateStatus.FAILED


def test_runner_records_a_crashing_gate_as_failed(ctx: GateContext) -> None:
    """A gate that raises becomes a failed result, and the others still run."""

    class Boom:
        name = "boom"

        def run(self, ctx: GateContext) -> GateResult:
            raise RuntimeError("kaput")

    seen: list[str] = []
    ok = gate("ok", commands=[["{python}", "-c", "pass"]])
    results = run_gates(
        [Boom(), ok], ctx, workers=2, on_result=lambda r: seen.append(r.gate), show_progress=True
    )
    assert [r.status for r in results] == [GateStatus.FAILED, GateStatus.PASSED]
    assert sorted(seen) == ["boom", "ok"]


def test_gates_cli_records_each_result_with_log_digest(built: Built, cli: Cli) -> None:
    """Each gate's result, duration and log digest go into the audit trail."""
    result = cli("gates", built.release, "--only", "lint", "--only", "dependency-audit")
    assert result.code == 0, result.stderr
    assert "dependency-audit" in result.stdout
    assert "unavailable" in result.stdout
    history = cli("history", "--json").json()["events"]
    assert history[-1]["action"] == "gates.completed"
    cli.audit_actions()  # sets the environment for the session below
    session = open_session(config_path=None, actor=None, cwd=built.repo)
    try:
        gate_entries = [b for b in session.audit.bodies() if b["action"] == "gate.result"]
    finally:
        session.close()
    last = gate_entries[-1]["details"]
    assert last["log_digest"].startswith("sha256:")
    assert last["duration_s"] >= 0
    assert {e["details"]["gate"] for e in gate_entries[-2:]} == {"lint", "dependency-audit"}
