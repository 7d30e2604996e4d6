"""A tiny git project with the same CLI and HTTP contract as risk-service, for riskctl's tests.

Its service (``risk-service serve``) is a tiny ASGI app under real uvicorn answering /healthz,
/readyz, /version, POST /v1/portfolio/var and GET /v1/admin/request-samples (bearer token outside
dev), plus ``db upgrade``, ``token create`` and ``daily-run``, so releases can be built, gated and
deployed quickly and for real. ``behaviour.py`` holds the knobs that make the faulty variants
(1.5x VaR, 5xx on a fraction, slower, crash on start).

Like the real service it samples recent real requests for the shadow replay — in memory, per
process, every successful request by default (``RISK_SERVICE_REQUEST_SAMPLE_EVERY``; the real
service keeps one in 10), never those marked ``X-Riskctl-Shadow`` or ``X-Riskctl-Load``. With
``FIXTURE_NO_REQUEST_SAMPLES`` set in its environment it behaves like an older release: the
endpoint answers 404.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import tomlkit
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from riskctl.trust.keys import public_line

AUTHOR = ("eng-1", "eng-1@example.com")

#: Everyone the tests act as (``admin`` pins the policy; ``mallory`` is in no policy).
PEOPLE = ("eng-1", "eng-2", "qa-1", "risk-1", "rm-1", "sre-1", "sre-2", "admin", "mallory")


def person_key(name: str) -> Ed25519PrivateKey:
    """``name``'s signing key, derived from the name so every test process agrees on it (test
    keys only: anyone can derive them)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"riskctl-test-key:{name}".encode()).digest()
    )


def public_key_line(name: str) -> str:
    """``name``'s OpenSSH public line, as the policy lists it."""
    return public_line(person_key(name).public_key(), name)


def write_keyring(directory: Path) -> Path:
    """A RISKCTL_KEYRING directory holding every test person's private key (mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in PEOPLE:
        path = directory / name
        if not path.exists():
            path.write_bytes(
                person_key(name).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.OpenSSH,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
    return directory


_keyring: list[Path] = []


def keyring() -> Path:
    """This process's keyring directory (created once, removed at exit)."""
    if not _keyring:
        made = Path(tempfile.mkdtemp(prefix="riskctl-keyring-"))
        atexit.register(shutil.rmtree, made, True)
        _keyring.append(write_keyring(made))
    return _keyring[0]


def with_keys(text: str) -> str:
    """A policy text with each identity's public key added, and an ``admin`` identity that may
    pin it."""
    doc: Any = tomlkit.parse(text)
    identities = doc.setdefault("identities", tomlkit.table(is_super_table=True))
    if "admin" not in identities:
        admin = tomlkit.table()
        admin["roles"] = ["admin"]
        identities["admin"] = admin
    for name, ident in identities.items():
        if name in PEOPLE and "keys" not in ident:
            ident["keys"] = [public_key_line(name)]
    return tomlkit.dumps(doc)


PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "fixture-svc"
version = "1.0.0"
requires-python = ">=3.11"

[project.scripts]
risk-service = "fixture_svc.cli:main"

[tool.hatch.build.targets.wheel]
packages = ["src/fixture_svc"]
"""

CLI = '''\
"""A black-box stand-in for risk-service: same commands, same endpoints, served by uvicorn."""

import argparse
import os
import secrets
import sys

from fixture_svc import behaviour


def main(argv=None):
    parser = argparse.ArgumentParser(prog="risk-service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    db = sub.add_parser("db")
    db.add_argument("action")
    db.add_argument("--revision", default="head")
    token = sub.add_parser("token")
    token.add_argument("action")
    token.add_argument("--name", required=True)
    token.add_argument("--scope", default="read")
    run = sub.add_parser("daily-run")
    run.add_argument("--date", required=True)
    run.add_argument("--env", default=None)
    args = parser.parse_args(argv)
    if args.command == "db":
        print(f"store at revision {args.revision}")
        return 0
    if args.command == "token":
        print(secrets.token_urlsafe(24))
        return 0
    if args.command == "daily-run":
        if behaviour.DAILY_RUN_FAILS:
            print("daily run failed: validation", file=sys.stderr)
            return 1
        print(f"daily run {args.date} ok ({os.environ.get('RISK_SERVICE_ENVIRONMENT', 'dev')})")
        return 0
    if behaviour.CRASH_ON_START or os.environ.get("FIXTURE_CRASH_ON_START"):
        sys.exit(3)
    import uvicorn

    uvicorn.run(
        "fixture_svc.app:app", host=args.host, port=args.port, log_level="warning",
        access_log=False, lifespan="off",
    )
    return 0
'''

APP = '''\
"""The ASGI app: health, readiness, version, portfolio VaR and the sample of recent requests
(the contract riskctl relies on)."""

import asyncio
import collections
import datetime
import itertools
import json
import os
import urllib.parse

from fixture_svc import behaviour
from fixture_svc.engine import portfolio_var

_count = itertools.count(1)
_KEEP = int(os.environ.get("RISK_SERVICE_REQUEST_SAMPLE_SIZE", "200"))
_EVERY = int(os.environ.get("RISK_SERVICE_REQUEST_SAMPLE_EVERY", "1"))
_samples = collections.deque(maxlen=max(_KEEP, 1))
_eligible = itertools.count(1)
_ids = itertools.count(1)
_NOT_SAMPLED = (b"x-riskctl-shadow", b"x-riskctl-load")


def _sample(scope, method, path, body, status):
    """Keep one successful real request in _EVERY, newest last, at most _KEEP."""
    if _KEEP <= 0 or _EVERY <= 0 or not 200 <= status < 300:
        return
    if any(key.lower() in _NOT_SAMPLED for key, _ in scope["headers"]):
        return
    if next(_eligible) % _EVERY:
        return
    _samples.append({
        "id": next(_ids), "method": method, "path": path, "body": body, "status": status,
        "received_at": datetime.datetime.now(datetime.UTC).isoformat(),
    })


async def _request_samples(scope, send):
    if os.environ.get("FIXTURE_NO_REQUEST_SAMPLES"):
        return await _send(send, 404, {"error": {"code": "not_found", "message": "Not Found",
                                                  "field": None}})
    query = urllib.parse.parse_qs(scope.get("query_string", b"").decode())
    raw = query.get("limit", ["50"])[-1]
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        return await _send(send, 422, {"error": {"code": "validation_error",
                                                  "message": "limit: 1 to 500", "field": "limit"}})
    newest = list(reversed(_samples))[: int(raw)]
    return await _send(send, 200, {"samples": newest, "sample_size": _KEEP,
                                   "sample_every": _EVERY})


async def _send(send, status, body):
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if method == "GET" and path in ("/healthz", "/readyz"):
        return await _send(send, 200, {"status": "ok"})
    if method == "GET" and path == "/version":
        env = os.environ
        return await _send(send, 200, {
            "version": env.get("RISK_SERVICE_VERSION", ""),
            "git_sha": env.get("RISK_SERVICE_GIT_SHA", "unknown"),
            "artifact_digest": env.get("RISK_SERVICE_ARTIFACT_DIGEST", "unknown"),
            "environment": env.get("RISK_SERVICE_ENVIRONMENT", "dev"),
        })
    authorised = True
    if os.environ.get("RISK_SERVICE_ENVIRONMENT", "dev") != "dev":
        authorised = dict(scope["headers"]).get(b"authorization", b"").startswith(b"Bearer ")
    if method == "GET" and path == "/v1/admin/request-samples":
        if not authorised:
            return await _send(send, 401, {"error": {"code": "unauthorized"}})
        return await _request_samples(scope, send)
    if method == "POST" and path == "/v1/portfolio/var":
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        if not authorised:
            return await _send(send, 401, {"error": {"code": "unauthorized"}})
        await asyncio.sleep(behaviour.DELAY_S)
        n = next(_count)
        failing = n > behaviour.ERROR_AFTER and behaviour.ERROR_EVERY
        if failing and n % behaviour.ERROR_EVERY == 0:
            return await _send(send, 500, {"error": {"code": "internal"}})
        book = json.loads(b"".join(chunks))
        await _send(send, 200, portfolio_var(book, behaviour.VAR_FACTOR))
        return _sample(scope, method, path, book, 200)
    return await _send(send, 404, {"error": {"code": "not_found", "message": path}})
'''

BEHAVIOUR = '''\
"""Knobs the tests turn to make faulty releases (each variant is its own commit and release)."""

VAR_FACTOR = 1.0
ERROR_EVERY = 0
ERROR_AFTER = 0
DELAY_S = 0.002
CRASH_ON_START = False
DAILY_RUN_FAILS = False
'''

ENGINE = '''\
"""Calculation code (a path delivery.toml classes as calculation)."""


def portfolio_var(book, factor=1.0):
    pnl = [0.0] * len(next(iter(book["returns"].values())))
    for name, notional in book["positions"].items():
        for i, r in enumerate(book["returns"][name]):
            pnl[i] += notional * r
    losses = sorted(-p for p in pnl)
    var = factor * losses[min(len(losses) - 1, int(book.get("confidence", 0.99) * len(losses)))]
    gross = sum(abs(n) for n in book["positions"].values()) or 1.0
    components = {k: var * abs(n) / gross for k, n in book["positions"].items()}
    return {"portfolio_var": var, "component_var": components}
'''

TEST = '''\
from fixture_svc.engine import portfolio_var


def test_var():
    """The loss at the confidence rank is returned."""
    book = {"positions": {"A": 1.0}, "returns": {"A": [-0.1, 0.2, 0.0]}, "confidence": 0.5}
    assert portfolio_var(book)["portfolio_var"] == 0.0
'''

TEST_APP = '''\
from fixture_svc import app


def test_only_successful_real_requests_are_sampled():
    """A 2xx real request is kept; shadow traffic, synthetic load and errors are not."""
    app._samples.clear()
    app._sample({"headers": []}, "POST", "/v1/portfolio/var", {"k": 1}, 200)
    app._sample({"headers": [(b"X-Riskctl-Shadow", b"1")]}, "POST", "/v1/portfolio/var", {}, 200)
    app._sample({"headers": [(b"x-riskctl-load", b"1")]}, "POST", "/v1/portfolio/var", {}, 200)
    app._sample({"headers": []}, "POST", "/v1/portfolio/var", {"k": 2}, 500)
    assert [s["body"] for s in app._samples] == [{"k": 1}]
'''


def runtime_lock() -> str:
    """uvicorn and its two dependencies, pinned with hashes as in the project's own lock."""
    lock = Path(__file__).resolve().parents[2] / "requirements" / "runtime.lock"
    keep, out = False, []
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            keep = line.split("==")[0] in ("uvicorn", "h11", "click")
        if keep and not line.lstrip().startswith("#"):
            out.append(line)
    return "\n".join(out) + "\n"


def policy(ports: dict[str, int], *, osv_url: str = "http://127.0.0.1:9/v1/querybatch") -> str:
    """The fixture's delivery.toml: the real structure with fast gates and local ports."""
    return with_keys(textwrap.dedent(
        f"""\
        clock_override = true

        [calendar]
        timezone = "America/New_York"
        exchange = "XNYS"

        [identities.eng-1]
        roles = ["engineer"]
        emails = ["eng-1@example.com"]
        [identities.eng-2]
        roles = ["engineer"]
        emails = ["eng-2@example.com"]
        [identities.qa-1]
        roles = ["qa"]
        emails = ["qa-1@example.com"]
        [identities.risk-1]
        roles = ["risk", "release-manager"]
        emails = ["risk-1@example.com"]
        [identities.rm-1]
        roles = ["release-manager"]
        [identities.sre-1]
        roles = ["sre"]
        emails = ["sre-1@example.com"]
        [identities.sre-2]
        roles = ["sre", "release-manager"]

        [change_classes]
        calculation_paths = ["src/fixture_svc/engine*", "requirements/runtime.lock"]

        [gates.lint]
        commands = [["ruff", "check", "--no-cache", "src"]]
        [gates.unit]
        kind = "coverage"
        commands = [["{{python}}", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     "--cov=fixture_svc", "--cov-report=json:{{report}}", "tests"]]
        env = {{ COVERAGE_FILE = "{{work}}/.coverage" }}
        min_coverage = 10
        [gates.security]
        commands = [["bandit", "-q", "-r", "src", "--severity-level", "high"],
                    ["hadolint", "Dockerfile"]]
        optional_files = ["Dockerfile"]
        [gates.performance]
        kind = "performance"
        commands = [["risk-service", "serve", "--host", "127.0.0.1", "--port", "{{port}}"]]
        budget_ms = 1000
        [gates.dependency-audit]
        kind = "dependency-audit"
        database_url = "{osv_url}"

        [target]
        start_timeout_s = 20
        check_interval_ms = 200

        [environments.dev]
        url = "http://127.0.0.1:{ports["dev"]}"
        port = {ports["dev-blue"]}
        slot_ports = [{ports["dev-blue"]}, {ports["dev-green"]}]
        deployers = ["engineer", "qa", "sre"]
        experimental = true
        allow_via = true

        [environments.staging]
        url = "http://127.0.0.1:{ports["staging"]}"
        port = {ports["staging-blue"]}
        slot_ports = [{ports["staging-blue"]}, {ports["staging-green"]}]
        deployers = ["engineer", "qa"]
        strategy = "recreate"
        required_gates = ["lint", "unit", "security", "dependency-audit"]
        allow_unavailable = ["dependency-audit"]
        review_required = true

        [environments.prod]
        url = "http://127.0.0.1:{ports["prod"]}"
        port = {ports["prod-blue"]}
        slot_ports = [{ports["prod-blue"]}, {ports["prod-green"]}]
        deployers = ["sre"]
        strategy = "recreate"
        required_gates = ["lint", "unit", "security", "dependency-audit"]
        allow_unavailable = ["dependency-audit"]
        review_required = true
        requires_deployed = ["staging"]
        deployer_not_author = true
        deployer_not_approver = true
        rollback_plan_required = true
        freeze = true
        approvals = [
            {{ id = "qa-signoff", env = "staging", roles = ["qa"], waivable_on_fast_track = true }},
            {{ id = "release-approval", env = "prod", roles = ["release-manager"] }},
            {{ id = "risk-approval", env = "prod", roles = ["risk"], applies_to = "calculation" }},
        ]
        windows = [{{ days = ["mon", "tue", "wed", "thu", "fri"], start = "07:00", end = "20:00" }}]
        break_glass = {{ allowed = true, approvers = 2 }}
        """
    ))  # fmt: skip


def git(root: Path, *args: str, author: tuple[str, str] = AUTHOR) -> str:
    """Run git in ``root`` as ``author`` with a fixed committer date (reproducible commits)."""
    name, email = author
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": "2026-03-02T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-03-02T12:00:00Z",
    }
    out = subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def commit_all(root: Path, message: str, author: tuple[str, str] = AUTHOR) -> str:
    git(root, "add", "-A", author=author)
    git(root, "commit", "-q", "-m", message, author=author)
    return git(root, "rev-parse", "HEAD").strip()


def make_project(root: Path, ports: dict[str, int]) -> Path:
    """Create and commit the fixture project in ``root``."""
    files = {
        "pyproject.toml": PYPROJECT,
        "src/fixture_svc/__init__.py": '"""Fixture service."""\n',
        "src/fixture_svc/cli.py": CLI,
        "src/fixture_svc/app.py": APP,
        "src/fixture_svc/behaviour.py": BEHAVIOUR,
        "src/fixture_svc/engine.py": ENGINE,
        "tests/test_engine.py": TEST,
        "tests/test_app.py": TEST_APP,
        "docs/index.md": "# Fixture service\n",
        "requirements/runtime.lock": runtime_lock(),
        "delivery.toml": policy(ports),
        ".gitignore": ".riskctl/\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "fixture service v1")
    return root


#: Issue 8, finding 2: a committed "test" that forges approvals with riskctl's own key. It looks
#: for the home by every route a real attacker has (the variable, the work tree's parents, the
#: absolute path learnt from an earlier run), reads keys/audit.key and appends to the store.
FORGING_TEST = '''\
import os
import pathlib
import sqlite3

KNOWN_HOME = {home!r}


def _homes():
    seen = [os.environ.get("RISKCTL_HOME", ""), KNOWN_HOME]
    seen += [str(p) for p in pathlib.Path.cwd().parents]
    return [pathlib.Path(h) for h in seen if h]


def test_reads_the_audit_key():
    """The attacker's aim: read riskctl's signing key."""
    for home in _homes():
        try:
            print("KEY-" + "READ", len((home / "keys" / "audit.key").read_bytes()))
            return
        except OSError as exc:
            print("key refused", home, type(exc).__name__)
    raise AssertionError("the audit key is out of reach")


def test_appends_an_approval():
    """The attacker's aim: append a forged approval to the audit store."""
    for home in _homes():
        try:
            with sqlite3.connect(f"file:{{home / 'audit.sqlite'}}?mode=rw", uri=True) as db:
                db.execute(
                    "INSERT INTO riskctl_audit_entry VALUES ((SELECT MAX(seq) + 1 FROM "
                    "riskctl_audit_entry), ?, 'x', 'x', 'x')",
                    ('{{"action": "approval.recorded"}}',),
                )
            print("STORE-" + "APPENDED", home)
            return
        except sqlite3.Error as exc:
            print("store refused", home, type(exc).__name__)
    raise AssertionError("the audit store is out of reach")
'''


def plant_forging_test(root: Path, home: Path) -> str:
    """Commit the forging "test" of finding 2 (aimed at ``home``); the new commit's sha."""
    path = root / "tests" / "test_forge.py"
    path.write_text(FORGING_TEST.format(home=str(home)), encoding="utf-8")
    # The release digest covers the wheel, not the tests: change the package too, so this is a
    # new release (with its own source snapshot) rather than the template's.
    init = root / "src" / "fixture_svc" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8") + "FORGED = True\n", encoding="utf-8")
    return commit_all(root, "tests: a forging test (issue 8, finding 2)")
