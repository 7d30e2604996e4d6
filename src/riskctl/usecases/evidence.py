"""``riskctl audit report``: the compliance evidence of one release (its audit entries, artifacts
re-hashed, the provenance signature, the trail's verification), rendered as Markdown, HTML or
PDF and written atomically (a reader never sees half a report)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from riskctl.audit import anchors as audit_anchors
from riskctl.build.release import sha256_file
from riskctl.errors import UsageError
from riskctl.model import Release
from riskctl.report import ArtifactCheck, Evidence, evidence, to_html, to_markdown
from riskctl.signing import dsse_verify, key_id, load_public_key
from riskctl.usecases.context import Context
from riskctl.usecases.queries import verify

__all__ = ["REPORT_FORMATS", "evidence_of", "render_evidence", "report_format", "write_report"]

REPORT_FORMATS = ("md", "html", "pdf")


def report_format(fmt: str | None, target: Path | None) -> str:
    """The format asked for (``--format``, else ``--out``'s suffix, else md); a PDF needs a
    file and a browser, checked before anything else is done."""
    kind = (fmt or (target.suffix.lstrip(".") if target else "md")).lower()
    kind = {"markdown": "md", "htm": "html"}.get(kind, kind)
    if kind not in REPORT_FORMATS:
        raise UsageError(f"unknown report format {kind!r}: use md, html or pdf")
    if kind == "pdf":
        if target is None:
            raise UsageError("a PDF report needs --out FILE.pdf")
        from riskctl.pdf import find_browser  # noqa: PLC0415

        find_browser()  # say at once when PDF is not available here
    return kind


def evidence_of(ctx: Context, release_ref: str) -> Evidence:
    """The compliance evidence of one release: audit entries, artifacts, signature."""
    # Evidence shows a tampered trail (marked INCOMPLETE with its problems) rather than
    # refusing: it decides nothing, and an auditor needs to see what is there.
    release = ctx.ledger(verified=False).release(release_ref)
    bodies = ctx.audit.unverified_bodies()
    built = next(
        (
            b
            for b in bodies
            if b.get("action") == "release.built" and b.get("release") == release.digest
        ),
        {},
    )
    directory = ctx.home / "releases" / release.id
    recorded: Mapping[str, str] = (built.get("details") or {}).get("artifacts") or {}
    checks = [
        ArtifactCheck(
            name, digest, sha256_file(directory / name) if (directory / name).is_file() else None
        )
        for name, digest in sorted(recorded.items())
    ]
    signature = _check_provenance(directory, ctx.home / "keys" / "release.pub", release)
    verified = verify(ctx)
    audit = (
        verified.ok,
        f"{verified.entries} entries, {verified.checkpoints} signed checkpoints, root "
        f"{verified.root}"
        + (
            f"; {verified.unanchored} entries after the last checkpoint"
            if verified.unanchored
            else ""
        )
        + "".join(f"; {line}" for line in audit_anchors.anchor_lines(verified)),
        [f"#{p.seq}: {p.message}" if p.seq else p.message for p in verified.problems],
    )
    return evidence(
        bodies,
        release,
        ctx.config,
        generated_at=ctx.clock.now(),
        artifacts=checks,
        signature=signature,
        audit=audit,
    )


def render_evidence(ev: Evidence, kind: str) -> str:
    """The report as Markdown, or as HTML (also the input of a PDF)."""
    text = to_markdown(ev)
    if kind in ("html", "pdf"):
        text = to_html(text, f"Compliance evidence: {ev.release.id}")
    return text


def write_report(text: str, kind: str, target: Path) -> None:
    """Write a rendered report to ``target``: printed to PDF, or the text atomically."""
    if kind == "pdf":
        from riskctl.pdf import html_to_pdf  # noqa: PLC0415

        html_to_pdf(text, target)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def _check_provenance(directory: Path, public_key: Path, release: Release) -> tuple[bool, str]:
    """Verify the release's DSSE-signed provenance and that it names the release's artifacts."""
    envelope = directory / "provenance.dsse.json"
    if not envelope.is_file():
        return False, f"{envelope.name} is missing from the release directory"
    if not public_key.is_file():
        return False, "the release signing key's public half is missing"
    try:
        statement = dsse_verify(envelope.read_bytes(), load_public_key(public_key))
    except ValueError as exc:
        return False, f"signature does not verify: {exc}"
    subjects = {s.get("name") for s in statement.get("subject", []) if isinstance(s, dict)}
    if release.wheel and release.wheel not in subjects:
        return False, f"signed, but the provenance does not name {release.wheel}"
    return True, f"verified with key {key_id(load_public_key(public_key))}; subjects: " + ", ".join(
        sorted(str(s) for s in subjects)
    )
