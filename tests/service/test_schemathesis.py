"""Property-based fuzzing of the whole OpenAPI contract with schemathesis: no server errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LiveServer, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_schemathesis_finds_no_server_error(seeded_url: str, tmp_path: Path) -> None:
    """Schemathesis (examples, coverage and fuzzing phases) never gets a 5xx from the API."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    with LiveServer(settings_for(seeded_url)) as server:
        result = subprocess.run(
            [
                str(schemathesis),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "100",
                "--seed",
                "20261125",
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing",
                "--request-timeout",
                "30",
                "--suppress-health-check",
                "all",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
            check=False,
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts is not None, result.stdout[-2000:]
    assert counts.group(1) == counts.group(2)
    assert int(counts.group(1)) >= 300
