"""GitHub Actions: prove a job to riskctl with the job's OIDC token.

A job with ``permissions: id-token: write`` gets ``ACTIONS_ID_TOKEN_REQUEST_URL`` and
``ACTIONS_ID_TOKEN_REQUEST_TOKEN``; with them it may ask GitHub for an ID token for an audience.
This module asks for one with the policy's ``[oidc] audience`` (a pinned policy in
``$RISKCTL_HOME`` wins over the file in use) and hands it to riskctl as ``RISKCTL_OIDC_TOKEN``::

    python -m riskctl.trust.github run -- riskctl deploy REL --env staging
        a fresh token for that one command, in its environment only (what ci-cd.yml does:
        a token proves one command, riskctl.trust.replay)
    python -m riskctl.trust.github token
        a fresh token appended to $GITHUB_ENV for the following steps

The token is never printed: ``::add-mask::`` is emitted first so that GitHub redacts it from the
log should anything echo it (on stdout for ``token``; on stderr for ``run``, whose stdout is the
command's), and it is written only to the child's environment or to $GITHUB_ENV.
Exit status: the command's (``run``), 0 (``token``), 2 on a usage error, 1 when no token can be
obtained.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess  # nosec B404
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from riskctl.config import load_config, resolve_config_path
from riskctl.errors import RiskctlError
from riskctl.trust.pin import read_pinned

__all__ = ["TokenRequestError", "audience_from_policy", "request_token", "token_url"]

#: A JWT: three base64url parts. Anything else could smuggle a newline into $GITHUB_ENV.
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_ATTEMPTS = 3
_BACKOFF_S = 1.0  # then 2 s: bounded, about 3 s in all


class TokenRequestError(Exception):
    """No ID token could be obtained (the job lacks id-token: write, or GitHub failed)."""


def token_url(base: str, audience: str) -> str:
    """``base`` (ACTIONS_ID_TOKEN_REQUEST_URL, which carries its own query) with ``audience``."""
    parts = urlsplit(base)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise TokenRequestError(f"the token request URL must be https, not {parts.scheme!r}")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "audience"]
    query.append(("audience", audience))
    return urlunsplit(parts._replace(query=urlencode(query)))


def request_token(environ: Mapping[str, str], audience: str, *, timeout: float = 10.0) -> str:
    """A fresh ID token for ``audience`` from the Actions runtime (three bounded attempts)."""
    base = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    bearer = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not base or not bearer:
        raise TokenRequestError(
            "ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set: the job needs "
            "`permissions: id-token: write` (and this runs only inside GitHub Actions)"
        )
    url = token_url(base, audience)
    problem = ""
    for attempt in range(_ATTEMPTS):
        if attempt:
            time.sleep(_BACKOFF_S * 2 ** (attempt - 1))
        try:
            response = httpx.get(
                url,
                headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
                timeout=timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            problem = f"unreachable ({type(exc).__name__})"
            continue
        if response.status_code >= 500:
            problem = f"HTTP {response.status_code}"
            continue
        if response.status_code != 200:
            # Not retried: a 4xx will not change (e.g. no id-token permission).
            raise TokenRequestError(f"the token request was refused: HTTP {response.status_code}")
        try:
            value = response.json()["value"]
        except (ValueError, KeyError, TypeError):
            raise TokenRequestError("the token response carries no `value`") from None
        if not isinstance(value, str) or not _JWT.match(value):
            raise TokenRequestError("the token response's `value` is not a JWT")
        return value
    raise TokenRequestError(f"no token after {_ATTEMPTS} attempts: {problem}")


def audience_from_policy(environ: Mapping[str, str], cwd: Path) -> str:
    """The ``[oidc] audience`` of the pinned policy, else of the policy file riskctl would use."""
    home = environ.get("RISKCTL_HOME")
    pinned = read_pinned(Path(home)) if home else None
    if pinned is not None:
        config = pinned.loaded.config
    else:
        config = load_config(resolve_config_path(environ.get("RISKCTL_CONFIG"), cwd)).config
    if config.oidc is None:
        raise TokenRequestError("the policy has no [oidc] section: it accepts no CI identity")
    return config.oidc.audience


def _mask(token: str, *, stream: TextIO) -> None:
    # The runner reads workflow commands from a step's stdout and stderr; the command itself is
    # not shown in the log, and every later occurrence of the value is redacted.
    print(f"::add-mask::{token}", file=stream, flush=True)


def _export(token: str, environ: Mapping[str, str]) -> None:
    target = environ.get("GITHUB_ENV")
    if not target:
        raise TokenRequestError("GITHUB_ENV is not set: `token` runs only inside GitHub Actions")
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(f"RISKCTL_OIDC_TOKEN={token}\n")


def _run(command: Sequence[str], token: str, environ: Mapping[str, str]) -> int:
    child = {**environ, "RISKCTL_OIDC_TOKEN": token}
    # The runtime's request credentials are not the command's business.
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        child.pop(name, None)
    return subprocess.run(list(command), env=child, check=False).returncode  # noqa: S603


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m riskctl.trust.github",
        description="Prove a GitHub Actions job to riskctl with its OIDC token.",
    )
    parser.add_argument("--audience", help="default: the policy's [oidc] audience")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("token", help="append RISKCTL_OIDC_TOKEN to $GITHUB_ENV")
    run = sub.add_parser("run", help="run COMMAND with a fresh RISKCTL_OIDC_TOKEN")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    args = parser.parse_args(argv)
    command = list(getattr(args, "argv", []) or [])
    if command[:1] == ["--"]:
        command = command[1:]
    if args.command == "run" and not command:
        parser.error("run: name the command after --")
    environ = dict(os.environ)
    try:
        audience = args.audience or audience_from_policy(environ, Path.cwd())
        token = request_token(environ, audience)
        # `run`: stdout belongs to the command (often JSON), so the mask goes to stderr.
        _mask(token, stream=sys.stdout if args.command == "token" else sys.stderr)
        if args.command == "token":
            _export(token, environ)
            return 0
        return _run(command, token, environ)
    except (TokenRequestError, RiskctlError) as exc:
        print(f"riskctl.trust.github {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover - exercised as a subprocess
    sys.exit(main())
