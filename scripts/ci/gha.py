"""Glue between riskctl's JSON output and GitHub Actions (step outputs, conditions).

    gha.py outputs FILE KEY...          print KEY=value lines for $GITHUB_OUTPUT
    gha.py rollout-in-progress FILE ENV exit 0 if `riskctl status --json` shows a canary in ENV

Who acts in a job is never read from here (e.g. an approver's login): the jobs prove themselves
with their OIDC token (python -m riskctl.trust.github).

Standard library only, so it runs with any Python the runner has. Exits 1 with a message on
stderr when what is asked for is not there (a job must not go on with an empty value).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"^[A-Za-z0-9._:@/+-]*$")


class GlueError(Exception):
    """What was asked for is not in the document."""


def _load(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GlueError(f"cannot read JSON from {path}: {exc}") from exc


def outputs(doc: Any, keys: list[str]) -> list[str]:
    """``key=value`` lines; values must be present, scalar and free of newlines or shell noise."""
    if not isinstance(doc, dict):
        raise GlueError("expected a JSON object")
    lines = []
    for key in keys:
        value = doc.get(key)
        if value is None or isinstance(value, (dict, list)):
            raise GlueError(f"{key}: missing or not a single value")
        text = str(value)
        if not _SAFE.match(text):
            raise GlueError(f"{key}: unexpected characters in {text!r}")
        lines.append(f"{key}={text}")
    return lines


def rollout_in_progress(doc: Any, env: str) -> bool:
    """Whether ``riskctl status --json`` shows a canary release in ``env``."""
    try:
        entry = doc["environments"][env]
    except (KeyError, TypeError) as exc:
        raise GlueError(f"no environment {env!r} in the status") from exc
    return bool(entry.get("canary_release"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("outputs")
    p.add_argument("file")
    p.add_argument("keys", nargs="+")
    p = sub.add_parser("rollout-in-progress")
    p.add_argument("file")
    p.add_argument("env")
    args = parser.parse_args(argv)
    try:
        doc = _load(args.file)
        if args.command == "outputs":
            print("\n".join(outputs(doc, args.keys)))
            return 0
        return 0 if rollout_in_progress(doc, args.env) else 1
    except GlueError as exc:
        print(f"gha.py {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
