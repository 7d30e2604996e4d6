"""HTML to PDF with a headless Chromium, where one is installed ("PDF where available", SPEC §4).

The compliance report is printed by the browser that renders its HTML, so the PDF is the page a
reviewer would see. The browser is ``RISKCTL_CHROMIUM`` when set, else the first of
:data:`CANDIDATES` on ``PATH`` (Debian's ``chromium`` package; ``make setup`` installs it). It
runs with a throwaway profile, no extensions and no background networking, on a local file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from riskctl._proc import run
from riskctl.errors import RiskctlError, UsageError

__all__ = ["CANDIDATES", "find_browser", "html_to_pdf"]

#: Browser executables tried in order on PATH.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
#: Seconds one print may take.
TIMEOUT_S = 60.0


def find_browser() -> str:
    """The browser to print with, or a usage error saying how to get one."""
    chosen = os.environ.get("RISKCTL_CHROMIUM")
    if chosen:
        if not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
            raise UsageError(f"RISKCTL_CHROMIUM={chosen} is not an executable file")
        return chosen
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise UsageError(
        "PDF needs a headless Chromium (install the chromium package, or set RISKCTL_CHROMIUM); "
        "or write --out report.html"
    )


def html_to_pdf(html: str, out: Path) -> None:
    """Print ``html`` to ``out`` (replaced only once the PDF is complete)."""
    browser = find_browser()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)  # a leftover must not pass for this print
    with tempfile.TemporaryDirectory(prefix="riskctl-pdf-") as scratch:
        page = Path(scratch) / "report.html"
        page.write_text(html, encoding="utf-8")
        args = [
            browser,
            "--headless",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(scratch) / 'profile'}",
            f"--print-to-pdf={partial}",
            page.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium will not start as root with its sandbox
        try:
            done = run(args, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            partial.unlink(missing_ok=True)
            raise RiskctlError(f"{browser} did not print the PDF within {TIMEOUT_S:g} s") from exc
        printed = partial.is_file() and partial.read_bytes()[:5] == b"%PDF-"
        if done.returncode != 0 or not printed:
            partial.unlink(missing_ok=True)
            said = done.stderr.decode(errors="replace").strip().splitlines()
            raise RiskctlError(
                f"{browser} could not print the PDF (exit {done.returncode})"
                + (f": {said[-1][:200]}" if said else "")
            )
    partial.replace(out)
