"""The CycloneDX 1.6 SBOM of a release, made by ``cyclonedx-py`` from the locked requirements."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from riskctl._proc import run, which
from riskctl.errors import RiskctlError

__all__ = ["make_sbom"]


def make_sbom(
    lock: Path,
    pyproject: Path,
    out: Path,
    *,
    epoch: int,
    wheel_name: str,
    wheel_sha256: str,
    digest: str,
) -> Path:
    """Write ``out`` (JSON); the root component carries the wheel's hash and the release digest."""
    tool = which("cyclonedx-py", [Path(sys.executable).parent])
    args = [
        tool, "requirements", str(lock), "--sv", "1.6", "--of", "JSON", "-o", str(out),
        "--output-reproducible", "--pyproject", str(pyproject), "--mc-type", "application",
    ]  # fmt: skip
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PYTHONWARNINGS": "ignore"}
    try:
        run(args, env=env, timeout=300)
    except subprocess.CalledProcessError as exc:
        tail = exc.stderr.decode(errors="replace").strip().splitlines()[-2:]
        raise RiskctlError("SBOM generation failed: " + " | ".join(tail)) from None
    bom = json.loads(out.read_text(encoding="utf-8"))
    component = bom.setdefault("metadata", {}).setdefault(
        "component",
        {"type": "application", "name": wheel_name.split("-", maxsplit=1)[0], "bom-ref": "root"},
    )
    component["hashes"] = [{"alg": "SHA-256", "content": wheel_sha256}]
    bom["metadata"].setdefault("properties", []).extend(
        [
            {"name": "riskctl:release-digest", "value": digest},
            {"name": "riskctl:wheel", "value": wheel_name},
        ]
    )
    out.write_text(json.dumps(bom, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out
