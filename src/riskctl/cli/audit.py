"""``riskctl audit verify|public-key|report|init``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import audit_app
from riskctl.cli._options import AsOpt, ConfigOpt, JsonOpt, ReleaseArg
from riskctl.cli._runner import Output, guarded, run, run_plain

if TYPE_CHECKING:
    from riskctl.usecases.context import Context


@audit_app.command("verify")
def audit_verify(actor: AsOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Verify every entry, the Merkle tree, checkpoint signatures and consistency."""

    def body(ctx: Context) -> Output:
        from riskctl.audit.anchors import anchor_lines  # noqa: PLC0415
        from riskctl.usecases import queries  # noqa: PLC0415

        report = queries.verify(ctx)
        if report.ok:
            extra = "".join(f"\n  {line}" for line in anchor_lines(report))
            return Output(
                report.as_dict(),
                f"audit trail OK: {report.entries} entries, {report.checkpoints} checkpoints, "
                f"root {report.root[:16]}…{extra}",
            )
        first = report.first_bad_entry
        where = f"first bad entry #{first}" if first else "checkpoints do not verify"
        lines = [f"audit trail TAMPERED: {where}"] + [f"  - {p.message}" for p in report.problems]
        lines += [f"  {line}" for line in anchor_lines(report)]
        return Output(report.as_dict(), "\n".join(lines), exit_code=1, err=True)

    run(body, as_json=as_json, config=config, actor=actor)


@audit_app.command("public-key")
def audit_public_key(config: ConfigOpt = None) -> None:
    """Print the audit key's verifier key, to pin as [audit] public_key and give witnesses."""

    def body(ctx: Context) -> Output:
        from riskctl.audit.anchors import log_verifier  # noqa: PLC0415

        return Output(None, log_verifier(ctx.audit.key).vkey)

    run(body, config=config)


@audit_app.command("report")
def audit_report(
    release: ReleaseArg,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Write here instead of stdout; the format follows the suffix (.md, .html, .pdf).",
        ),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="md, html or pdf (default: from --out, else md).")
    ] = None,
    actor: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the compliance evidence report of one release (Markdown, HTML, or PDF if available).

    PDF is printed by a headless Chromium (RISKCTL_CHROMIUM, else chromium on PATH).

    Exit 0 when every check in it passed, 1 when the report shows a failed check (the report is
    still written), 2 on usage errors.
    """
    from riskctl.usecases import evidence  # noqa: PLC0415

    target = Path(out) if out else None
    kind = "md"
    with guarded(False):
        kind = evidence.report_format(fmt, target)

    def body(ctx: Context) -> Output:
        ev = evidence.evidence_of(ctx, release)
        text = evidence.render_evidence(ev, kind)
        code = 0 if ev.complete else 1
        if target is None:
            return Output(None, text, exit_code=code, newline=False)
        evidence.write_report(text, kind, target)
        verdict = "complete" if ev.complete else "INCOMPLETE (see the failed checks)"
        return Output(
            None, None, code, note=f"wrote {target} for {ev.release.id}: evidence {verdict}"
        )

    run(body, config=config, actor=actor, os_error_code=2)


@audit_app.command("init")
def audit_init(
    app_role: Annotated[
        str | None, typer.Option("--app-role", help="Role granted SELECT and INSERT only.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the PostgreSQL audit tables (run as the database owner)."""

    def body() -> Output:
        from riskctl.audit.postgres import PostgresAuditStore  # noqa: PLC0415
        from riskctl.audit.stores import open_store  # noqa: PLC0415
        from riskctl.errors import UsageError  # noqa: PLC0415

        store = open_store(Path("."), os.environ.get("RISKCTL_DATABASE_URL"))
        if not isinstance(store, PostgresAuditStore):
            store.close()
            raise UsageError("audit init is for PostgreSQL: set RISKCTL_DATABASE_URL")
        try:
            store.install(app_role)
        finally:
            store.close()
        return Output(
            {"initialised": True, "app_role": app_role},
            f"audit tables ready; {app_role or 'no role'} may only SELECT and INSERT",
        )

    run_plain(body, as_json=as_json)
