"""`riskctl audit report RELEASE`: the compliance evidence of one release, cited from the audit
trail, with artifacts re-hashed, the provenance signature verified and the trail verified."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from riskctl.report import to_html
from tests.riskctl.conftest import Built, Cli, FakeTarget, take_to_prod


def _to_prod(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    take_to_prod(built, monkeypatch, FakeTarget())


def test_report_of_a_release_taken_to_prod(
    built: Built, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every kind of evidence is there, each cited by entry; all checks pass (exit 0)."""
    refused = cli("approve", built.release, "--env", "prod", "--as", "eng-1")
    assert refused.code == 3
    _to_prod(built, monkeypatch)
    out = cli("audit", "report", built.release)
    assert out.code == 0, out.stderr
    md = out.stdout
    assert md.startswith(f"# Compliance evidence: {built.release}")
    assert "**COMPLETE**" in md
    assert built.digest in md
    assert "Provenance signature (DSSE, Ed25519): **PASS**" in md
    assert "| sbom.cdx.json |" in md
    assert "| provenance.dsse.json |" in md
    assert "MISSING" not in md
    assert "| unit | passed | coverage" in md  # the fixture's coverage gate, with its figure
    assert "| lint | passed |" in md
    for who in ("eng-2", "qa-1", "risk-1"):
        assert f"| {who} |" in md
    assert "PASS: the author (eng-1) approved nothing" in md
    assert "PASS: prod deployer(s) sre-1 approved nothing" in md
    assert "eng-1 approval.refused (prod):" in md  # eng-1's attempt is part of the record
    assert "commit author" in md  # ... with the reason
    for env in ("dev", "staging", "prod"):
        assert f"### {env}" in md
    assert "deploy SUCCEEDED" in md
    assert "## Audit trail verification\n\n**PASS**" in md


def test_report_flags_a_changed_artifact_and_a_tampered_trail(
    built: Built, cli: Cli, tmp_path: Path
) -> None:
    """A rewritten SBOM and an edited audit entry make the report INCOMPLETE (exit 1), and the
    file is still written, atomically, as HTML when asked."""
    sbom = built.home / "releases" / built.release / "sbom.cdx.json"
    sbom.write_text(sbom.read_text().replace("cyclonedx", "CycloneDX-forged", 1))
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        db.execute("DROP TRIGGER riskctl_audit_entry_no_update")
        db.execute(
            "UPDATE riskctl_audit_entry SET body = replace(body, 'command(s) passed', "
            "'command(s) passed, honest') WHERE seq = 3"
        )
    target = tmp_path / "out" / "evidence.html"
    out = cli("audit", "report", built.release, "--out", str(target))
    assert out.code == 1
    assert "INCOMPLETE" in out.stderr
    page = target.read_text()
    assert page.startswith("<!doctype html>")
    assert "<table>" in page
    assert "INCOMPLETE" in page
    assert "#3:" in page  # the audit problem names the edited entry
    assert "sbom.cdx.json" in page
    assert not list(target.parent.glob("*.partial"))


def test_an_unreadable_trail_is_a_clean_error(built: Built, cli: Cli) -> None:
    """An edit that makes an entry unparseable stops the report with a pointer to verify."""
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        db.execute("DROP TRIGGER riskctl_audit_entry_no_update")
        db.execute(
            "UPDATE riskctl_audit_entry SET body = replace(body, 'passed', 'PASSED') WHERE seq = 3"
        )
    out = cli("audit", "report", built.release)
    assert out.code == 1
    assert "riskctl audit verify" in out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_report_usage_errors(built: Built, cli: Cli) -> None:
    """Unknown release, unknown format, and PDF without a renderer: exit 2 with a reason."""
    unknown = cli("audit", "report", "rel-000000000000")
    assert unknown.code == 2
    assert "unknown release" in unknown.stderr
    bad = cli("audit", "report", built.release, "--format", "docx")
    assert bad.code == 2
    assert "md, html or pdf" in bad.stderr
    pdf = cli("audit", "report", built.release, "--format", "pdf")
    assert pdf.code == 2
    assert "needs --out FILE.pdf" in pdf.stderr
    out = built.home.parent / "report.pdf"
    nobrowser = cli("audit", "report", built.release, "--out", str(out),
                    RISKCTL_CHROMIUM=str(built.home / "no-chromium"))  # fmt: skip
    assert nobrowser.code == 2
    assert "is not an executable file" in nobrowser.stderr
    assert not out.exists()


def test_pdf_report_printed_by_headless_chromium(built: Built, cli: Cli) -> None:
    """--out report.pdf prints the HTML report with the chromium `make setup` installs: a
    complete PDF replaces the target, with no partial file left behind."""
    out = built.home.parent / "evidence" / "report.pdf"
    result = cli("audit", "report", built.release, "--out", str(out))
    assert result.code in (0, 1), result.stderr  # 1: evidence incomplete, still written
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert len(data) > 10_000  # pages of text, not an empty document
    assert not out.with_name("report.pdf.partial").exists()
    assert f"wrote {out} for {built.release}" in result.stderr


def test_html_escapes_markup_from_the_record() -> None:
    """A commit message or reason containing HTML is shown as text, never injected."""
    page = to_html("# R\n\n| a |\n|---|\n| <script>alert(1)</script> |\n", "t<1>")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<title>t&lt;1&gt;</title>" in page


def test_html_loads_nothing_from_anywhere() -> None:
    """A Markdown image in the record is no image (at most a link, fetched by nobody), and the
    page's CSP forbids every fetch, so neither a reader's browser nor the PDF printer reaches
    the network."""
    page = to_html("# R\n\nwhy: ![x](http://198.51.100.7/pixel.png)\n", "t")
    assert "<img" not in page
    assert "default-src 'none'" in page
