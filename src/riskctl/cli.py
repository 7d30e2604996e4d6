"""The ``riskctl`` command line: parse, build a session, call the core, print, exit (SPEC §4).

Exit codes: 0 success; 1 a gate, analysis or deploy failed (and was rolled back); 2 usage error
(also: another riskctl is driving that environment); 3 refused by policy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer

from riskctl.audit.anchors import anchor_lines, log_verifier
from riskctl.audit.postgres import PostgresAuditStore
from riskctl.errors import PolicyRefusedError, RiskctlError, UsageError
from riskctl.model import Strategy
from riskctl.service import Session, open_session, open_store
from riskctl.targets.command import parse_command
from riskctl.witness.cli import witness_app

__all__ = ["app"]

app = typer.Typer(
    name="riskctl",
    help="Delivery pipeline for risk-service: build, gates, approvals, deploy, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
incident_app = typer.Typer(
    help="Incidents: opened automatically by rollbacks and failed risk runs, or by people.",
    no_args_is_help=True,
)
app.add_typer(incident_app, name="incident")
app.add_typer(witness_app, name="witness")

AsOpt = Annotated[
    str | None, typer.Option("--as", help="Acting identity (else RISKCTL_ACTOR, GITHUB_ACTOR).")
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="The acting identity's private key (else RISKCTL_SIGNING_KEY, else "
        "$RISKCTL_KEYRING/NAME): what proves --as.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="Policy file (else RISKCTL_CONFIG, else ./delivery.toml)."),
]
ReleaseArg = Annotated[str, typer.Argument(help="Release id (rel-…) or digest (sha256:…).")]
EnvOpt = Annotated[str, typer.Option("--env", help="Target environment.")]


def _emit(as_json: bool, payload: Any, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        typer.echo(text)


def _run(
    as_json: bool,
    config: str | None,
    actor: str | None,
    body: Callable[[Session], tuple[Any, str]],
    key: str | None = None,
) -> None:
    """Open a session, run ``body``, print its result; map errors to exit codes (no tracebacks)."""
    session: Session | None = None
    try:
        session = open_session(config_path=config, actor=actor, key=key)
        payload, text = body(session)
        _emit(as_json, payload, text)
    except RiskctlError as exc:
        _fail(as_json, exc, exc.exit_code)
    except OSError as exc:
        _fail(as_json, exc, 1)
    finally:
        if session is not None:
            try:
                session.close()
            except RiskctlError as exc:  # pragma: no cover - store vanished mid-command
                typer.echo(f"warning: could not write the checkpoint: {exc}", err=True)


def _fail(as_json: bool, exc: Exception, code: int) -> None:
    message = str(exc) or type(exc).__name__
    if as_json:
        payload: dict[str, Any] = {
            **getattr(exc, "results", {}),
            "error": message,
            "exit_code": code,
        }
        missing = getattr(exc, "missing", ())
        if missing:
            payload["missing"] = list(missing)
        typer.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    kind = {3: "refused", 2: "error"}.get(code, "failed")
    typer.echo(f"{kind}: {message}", err=True)
    if not as_json:
        for line in getattr(exc, "results", {}).get("report", []):
            typer.echo(line, err=True)
    raise typer.Exit(code)


def _bullets(lines: list[str]) -> str:
    """Steps of a deploy, promote, abort or rollback as an indented list."""
    return "\n".join(f"  - {line}" for line in lines)


@app.command()
def build(
    *,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Build uncommitted changes (marked dirty).")
    ] = False,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Build one immutable release from the current commit."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.build(allow_dirty=allow_dirty)
        text = (
            f"built {out['release']} {out['digest']}\n"
            f"  commit {out['commit']} by {out['author']}, version {out['version']}"
            f"{' (DIRTY)' if out['dirty'] else ''}\n"
            f"  change class: {out['change_class']} (base: {out['base_release'] or 'none'})"
        )
        return out, text

    _run(as_json, config, actor, body, key)


@app.command()
def gates(
    release: ReleaseArg,
    *,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this gate (repeatable).")
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip this gate.")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Gates run at once (0: one per core).")
    ] = 0,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run and record the quality gates for RELEASE."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.gates(
            release,
            only=only or (),
            skip=skip or (),
            workers=workers or max(2, os.cpu_count() or 2),
            progress=not as_json,
        )
        lines = [f"gates for {out['release']}: {'passed' if out['passed'] else 'FAILED'}"]
        lines += [
            f"  {g['gate']:<18} {g['status']:<12} {g['duration_s']:>7.1f}s  {g['summary']}"
            for g in out["gates"]
        ]
        return out, "\n".join(lines)

    _run(as_json, config, actor, body, key)


@app.command()
def review(
    release: ReleaseArg,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Record a code review of RELEASE by the acting identity."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.review(release)
        return out, f"review of {out['release']} recorded for {out['reviewer']}"

    _run(as_json, config, actor, body, key)


@app.command()
def approve(
    release: ReleaseArg,
    *,
    env: EnvOpt,
    break_glass: Annotated[
        bool, typer.Option("--break-glass", help="An emergency (break-glass) approval.")
    ] = False,
    model_change: Annotated[
        bool,
        typer.Option(
            "--model-change",
            help="Risk management accepts the release's declared model change and impact.",
        ),
    ] = False,
    accept_judgement: Annotated[
        str | None,
        typer.Option(
            "--accept-judgement",
            help="With --model-change: risk accepts a change the model-change judge blocked, "
            "for this reason (recorded with the evidence).",
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Record an approval of RELEASE for ENV by the acting identity."""

    def body(s: Session) -> tuple[Any, str]:
        if accept_judgement is not None and (not model_change or not accept_judgement.strip()):
            raise UsageError("--accept-judgement needs --model-change and a reason")
        out = s.approve(
            release,
            env,
            break_glass=break_glass,
            model_change=model_change,
            accept_judgement=accept_judgement,
        )
        kind = "break-glass approval" if break_glass else "approval"
        if model_change:
            kind = "model-change approval"
        return out, f"{kind} of {out['release']} for {env} recorded for {out['approver']}"

    _run(as_json, config, actor, body, key)


@app.command()
def deploy(
    release: ReleaseArg,
    *,
    env: EnvOpt,
    strategy: Annotated[
        Strategy | None, typer.Option("--strategy", help="Override the environment's strategy.")
    ] = None,
    fast_track: Annotated[
        bool, typer.Option("--fast-track", help="Take the fast track (non-calculation changes).")
    ] = False,
    break_glass: Annotated[
        str | None, typer.Option("--break-glass", metavar="REASON", help="Emergency deploy.")
    ] = None,
    rollback_plan: Annotated[
        str | None, typer.Option("--rollback-plan", help="How to undo this deploy.")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only check the policy (roles, gates, approvals, segregation of duties, windows, "
            "freeze) and record the result; deploy nothing (a preflight, e.g. before a change "
            "window opens).",
        ),
    ] = False,
    via: Annotated[
        str | None,
        typer.Option(
            "--via",
            metavar="COMMAND",
            help="Have COMMAND do the deploy (e.g. apply `riskctl render k8s` manifests and wait "
            "for the rollout) after the policy checks; its exit status decides success. It gets "
            "RISKCTL_RELEASE, RISKCTL_DIGEST, RISKCTL_VERSION, RISKCTL_ENV, RISKCTL_STRATEGY; the "
            "command line is recorded, so pass secrets in the environment.",
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Deploy RELEASE to ENV, enforcing the environment's policy."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.deploy(
            release,
            env,
            strategy=strategy,
            fast_track=fast_track,
            break_glass_reason=break_glass,
            rollback_plan=rollback_plan,
            check_only=check,
            via=parse_command(via) if via is not None else None,
        )
        if check:
            passed = "\n".join(f"  - {c['name']}: {c['detail']}" for c in out["checks"])
            return out, f"{out['release']} may be deployed to {env} ({out['strategy']})\n{passed}"
        steps = _bullets(out["steps"])
        if out["phase"] == "Paused":
            head = f"PAUSED {out['release']} in {env}: {out['message']}"
        else:
            head = f"deployed {out['release']} to {env} ({out['strategy']})"
        return out, f"{head}\n{steps}"

    _run(as_json, config, actor, body, key)


@app.command()
def status(
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """What runs where, and its health."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.status(env)
        lines = []
        for name, e in out["environments"].items():
            canary = (
                f"  canary {e['canary_release']} at {e['canary_weight']} %"
                if e["canary_release"]
                else ""
            )
            lines.append(
                f"{name:<8} {e['phase']:<12} {e['stable_release'] or '-':<18} {e['url']}{canary}"
            )
            verdict = e.get("analysis")
            if verdict:
                lines.append(f"         analysis: {verdict['summary']}")
                if verdict.get("samples"):  # the sample size the judge needed (issue 13)
                    n = verdict["samples"]
                    lines.append(f"         samples: {n['canary']} of {n['needed']} needed")
            shadow = e.get("shadow")
            if shadow:
                lines.append(f"         {shadow['summary']}")
            if e.get("controller") not in (None, "idle"):
                lines.append(f"         controller: {e['controller']}")
            warm = e.get("warm")
            if warm:
                lines.append(
                    f"         warm: {warm['release']} (retired in {warm['retire_in_s']:g} s)"
                )
        return out, "\n".join(lines)

    _run(as_json, config, actor, body, key)


@app.command()
def promote(
    env: Annotated[str, typer.Argument(help="Environment whose paused rollout continues.")],
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Move a paused rollout in ENV to its next step (and on, until it pauses or ends)."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.promote(env)
        steps = _bullets(out["steps"])
        return out, f"{env}: {out['message']}\n{steps}"

    _run(as_json, config, actor, body, key)


@app.command()
def abort(
    env: Annotated[str, typer.Argument(help="Environment whose rollout to abort.")],
    *,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (recorded in the audit trail).")
    ] = "aborted by an operator",
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Abort the rollout in ENV: canary weight 0 at once, stable keeps serving."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.abort(env, reason)
        steps = _bullets(out["steps"])
        return out, f"{env}: {out['message']}\n{steps}"

    _run(as_json, config, actor, body, key)


@app.command()
def rollback(
    *,
    env: EnvOpt,
    to: Annotated[
        str | None, typer.Option("--to", help="Release to restore (default: the previous one).")
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Restore the previous (or named) release in ENV; refused past an irreversible migration."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.rollback(env, to)
        steps = _bullets(out["steps"])
        return out, f"rolled {env} back to {out['release']}\n{steps}"

    _run(as_json, config, actor, body, key)


@app.command()
def history(
    limit: Annotated[int, typer.Option("--limit", min=0, help="Last N events (0 = all).")] = 0,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Releases, gates, reviews, approvals, deploys, refusals and rollbacks."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.history(limit or None)
        lines = [
            f"#{e['seq']:<5} {e['time'][:19]} {e['actor']:<10} {e['action']:<18} "
            f"{e['release'] or '':<18} {e['env'] or ''}"
            for e in out["events"]
        ]
        return out, "\n".join(lines) or "no history yet"

    _run(as_json, config, actor, body)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _incident_line(i: dict[str, Any]) -> str:
    restored = _duration(i["restore_seconds"]) if i["restore_seconds"] is not None else "—"
    return (
        f"{i['id']:<9} {i['status']:<9} {i['env'] or '':<8} {i['opened_at'][:19]} "
        f"{'auto' if i['automatic'] else i['opened_by']:<8} restore {restored:<9} {i['summary']}"
    )


@incident_app.command("open")
def incident_open(
    *,
    env: EnvOpt,
    summary: Annotated[str, typer.Option("--summary", help="What is wrong, in one line.")],
    impact: Annotated[str, typer.Option("--impact", help="Who or what is affected.")] = "",
    release: Annotated[
        str | None, typer.Option("--release", help="The release suspected, if known.")
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Open an incident by hand (rollbacks and failed risk runs open one automatically)."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.open_incident(env, summary, impact, release)
        return out, f"opened {out['id']} in {env}: {summary}"

    _run(as_json, config, actor, body, key)


@incident_app.command("resolve")
def incident_resolve(
    incident: Annotated[str, typer.Argument(help="Incident id, e.g. INC-42.")],
    *,
    root_cause: Annotated[str, typer.Option("--root-cause", help="What caused it.")] = "",
    regression_test: Annotated[
        str,
        typer.Option("--regression-test", help="The test that now prevents a repeat."),
    ] = "",
    impact: Annotated[str, typer.Option("--impact", help="The impact, as now known.")] = "",
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Resolve an incident with its root cause and the regression test that prevents a repeat."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.resolve_incident(incident, root_cause, regression_test, impact)
        return out, f"resolved {out['id']}: {out['root_cause']} (test: {out['regression_test']})"

    _run(as_json, config, actor, body, key)


@incident_app.command("list")
def incident_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Incidents, oldest first: status, environment, time to restore, summary."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.incidents(include_resolved=not open_only)
        return {"incidents": out}, "\n".join(map(_incident_line, out)) or "no incidents"

    _run(as_json, config, actor, body)


@app.command()
def dashboard(
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (loopback only unless --allow-remote)."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8400,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host. The dashboard has no login and no TLS: anyone "
            "who can reach the port can read the audit trail.",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve the read-only web dashboard and print its URL.

    Environments and what runs there, rollouts with their analysis, release history, the audit
    trail and its verification, DORA metrics with charts, incidents and the latest risk runs.
    """
    from riskctl.dashboard.command import run_dashboard  # noqa: PLC0415 - keeps start-up light

    try:
        run_dashboard(host, port, config, allow_remote=allow_remote)
    except RiskctlError as exc:
        _fail(False, exc, exc.exit_code)


@app.command()
def dora(
    env: Annotated[str, typer.Option("--env", help="Environment to measure.")] = "prod",
    days: Annotated[
        float, typer.Option("--days", min=1, max=3660, help="Window, in days up to now.")
    ] = 30.0,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """DORA metrics from the audit trail, with their definitions."""

    def body(s: Session) -> tuple[Any, str]:
        out = s.dora(env, days)
        return out, _dora_text(out)

    _run(as_json, config, actor, body)


def _dora_text(out: dict[str, Any]) -> str:
    freq, lead = out["deployment_frequency"], out["lead_time"]
    cfr, ttr = out["change_failure_rate"], out["time_to_restore"]
    rate = "n/a" if cfr["rate"] is None else f"{cfr['rate'] * 100:.0f} %"
    still_open = f", {ttr['still_open']} still open" if ttr["still_open"] else ""
    lines = [
        f"DORA metrics for {out['env']}, last {out['window']['days']:g} days "
        f"({out['window']['since'][:10]} to {out['window']['until'][:10]})",
        f"  deployment frequency  {freq['deploys']} deploys, {freq['per_week']:.1f} a week "
        f"— {freq['band']}",
        f"  lead time             median {_duration(lead['median_s'])}, p90 "
        f"{_duration(lead['p90_s'])} over {lead['changes']} change(s)",
        f"  change failure rate   {rate} ({cfr['failed']} of {cfr['deploys']} deploys)",
        *(f"      {f['release']}: {f['reason']}" for f in cfr["failures"]),
        f"  time to restore       median {_duration(ttr['median_s'])}, max "
        f"{_duration(ttr['max_s'])} over {ttr['restored']} restored incident(s)"
        f"{still_open}",
    ]
    builds = out["build_time"][-5:]
    if builds:
        lines.append(
            "  build time (latest)   " + ", ".join(f"{b['seconds']:.1f} s" for b in builds)
        )
    coverage = out["coverage"][-5:]
    if coverage:
        lines.append(
            "  coverage (latest)     " + ", ".join(f"{c['percent']:.1f} %" for c in coverage)
        )
    lines.append("Definitions:")
    lines += [f"  {name}: {text}" for name, text in out["definitions"].items()]
    return "\n".join(lines)


@audit_app.command("verify")
def audit_verify(actor: AsOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Verify every entry, the Merkle tree, checkpoint signatures and consistency."""

    def body(s: Session) -> tuple[Any, str]:
        report = s.verify()
        extra = "".join(f"\n  {line}" for line in anchor_lines(report))
        if report.ok:
            return report.as_dict(), (
                f"audit trail OK: {report.entries} entries, {report.checkpoints} checkpoints, "
                f"root {report.root[:16]}…{extra}"
            )
        first = report.first_bad_entry
        where = f"first bad entry #{first}" if first else "checkpoints do not verify"
        lines = [f"audit trail TAMPERED: {where}"] + [f"  - {p.message}" for p in report.problems]
        lines += [f"  {line}" for line in anchor_lines(report)]
        if as_json:
            typer.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        else:
            typer.echo("\n".join(lines), err=True)
        raise _TamperedError(lines[0])

    try:
        _run(as_json, config, actor, body)
    except _TamperedError:
        raise typer.Exit(1) from None


class _TamperedError(Exception):
    pass


@audit_app.command("public-key")
def audit_public_key(config: ConfigOpt = None) -> None:
    """Print the audit key's verifier key, to pin as [audit] public_key and give witnesses."""
    _run(False, config, None, lambda s: (None, log_verifier(s.audit.key).vkey))


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
    from pathlib import Path  # noqa: PLC0415

    from riskctl.pdf import find_browser, html_to_pdf  # noqa: PLC0415
    from riskctl.report import to_html, to_markdown  # noqa: PLC0415

    target = Path(out) if out else None
    kind = (fmt or (target.suffix.lstrip(".") if target else "md")).lower()
    kind = {"markdown": "md", "htm": "html"}.get(kind, kind)
    if kind not in {"md", "html", "pdf"}:
        _fail(False, UsageError(f"unknown report format {kind!r}: use md, html or pdf"), 2)
    if kind == "pdf":
        if target is None:
            _fail(False, UsageError("a PDF report needs --out FILE.pdf"), 2)
        try:
            find_browser()  # before anything else: say at once when PDF is not available here
        except UsageError as exc:
            _fail(False, exc, 2)
    session: Session | None = None
    complete = False
    try:
        session = open_session(config_path=config, actor=actor)
        ev = session.report(release)
        complete = ev.complete
        text = to_markdown(ev)
        if kind in ("html", "pdf"):
            text = to_html(text, f"Compliance evidence: {ev.release.id}")
        if target is None:
            typer.echo(text, nl=False)
        else:
            if kind == "pdf":
                html_to_pdf(text, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".partial")
                partial.write_text(text, encoding="utf-8")
                partial.replace(target)
            verdict = "complete" if complete else "INCOMPLETE (see the failed checks)"
            typer.echo(f"wrote {target} for {ev.release.id}: evidence {verdict}", err=True)
    except RiskctlError as exc:
        _fail(False, exc, exc.exit_code)
    except OSError as exc:
        _fail(False, exc, 2)
    finally:
        if session is not None:
            session.close()
    raise typer.Exit(0 if complete else 1)


@audit_app.command("init")
def audit_init(
    app_role: Annotated[
        str | None, typer.Option("--app-role", help="Role granted SELECT and INSERT only.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the PostgreSQL audit tables (run as the database owner)."""

    try:
        store = open_store(__import__("pathlib").Path("."), os.environ.get("RISKCTL_DATABASE_URL"))
        if not isinstance(store, PostgresAuditStore):
            raise UsageError("audit init is for PostgreSQL: set RISKCTL_DATABASE_URL")
        try:
            store.install(app_role)
        finally:
            store.close()
    except RiskctlError as exc:
        _fail(as_json, exc, exc.exit_code)
    _emit(
        as_json,
        {"initialised": True, "app_role": app_role},
        f"audit tables ready; {app_role or 'no role'} may only SELECT and INSERT",
    )


policy_app = typer.Typer(help="The policy in force, pinned by digest.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("pin")
def policy_pin(
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Pin the policy file (--config, else RISKCTL_CONFIG, else delivery.toml) as the one in
    force; signed by an admin of the policy pinned now (the first pin: of the file itself)."""
    from riskctl.trust.admin import pin  # noqa: PLC0415

    def body(s: Session) -> tuple[Any, str]:
        out = pin(s)
        return out, f"pinned {out['policy']} (signed by {out['signer']})"

    _run(as_json, config, actor, body, key)


@app.command()
def keygen(
    actor: AsOpt = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", help="Private key file (else $RISKCTL_KEYRING/NAME); never replaced."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an identity's Ed25519 signing key; prints the public line for the policy's keys."""
    from riskctl.service import resolve_actor  # noqa: PLC0415
    from riskctl.trust.admin import keygen as make_key  # noqa: PLC0415

    try:
        made = make_key(resolve_actor(actor) or "", out, os.environ)
    except RiskctlError as exc:
        _fail(as_json, exc, exc.exit_code)
    _emit(
        as_json,
        made,
        f"{made['public_key']}\n(private key in {made['private_key']}; add the line above to "
        f"identities.{made['identity']}.keys in the policy)",
    )


@app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def exec_command(
    ctx: typer.Context,
    *,
    env: EnvOpt,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            help="Use this release instead of the one serving ENV (e.g. before the "
            "first deploy, to seed the store).",
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run `risk-service ARGS` from the release serving ENV, with ENV's store and settings.

    Example: riskctl exec --env prod -- data load --positions p.csv --market m.csv
    """
    from riskctl.envops import exec_service  # noqa: PLC0415 - keeps the CLI's start light

    code = 0
    session: Session | None = None
    try:
        session = open_session(config_path=config, actor=actor, key=key)
        code = exec_service(session, env, list(ctx.args), release_ref=release)
    except RiskctlError as exc:
        _fail(False, exc, exc.exit_code)
    finally:
        if session is not None:
            session.close()
    raise typer.Exit(code)


@app.command("risk-run")
def risk_run_command(
    env: EnvOpt,
    *,
    date: Annotated[str, typer.Option("--date", help="Business date, YYYY-MM-DD.")],
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The daily risk run of ENV with its stable release; falls back to the last good release.

    Exit 0 when the numbers arrived (also after a fallback, which alerts and is recorded),
    1 when no release produced them, 3 when the date is not an NYSE session.
    """
    import datetime as dt  # noqa: PLC0415

    from riskctl.envops import RiskRunFailedError, risk_run  # noqa: PLC0415
    from riskctl.riskrun import Outcome  # noqa: PLC0415

    try:
        dt.date.fromisoformat(date)
    except ValueError:
        _fail(as_json, UsageError(f"--date must be YYYY-MM-DD, got {date!r}"), 2)

    def body(s: Session) -> tuple[Any, str]:
        result = risk_run(s, env, date)
        payload: dict[str, object] = {
            "env": env,
            "date": date,
            "outcome": result.outcome.value,
            "producer": result.producer,
            "attempts": [
                {"release": a.release, "exit_code": a.exit_code, "seconds": round(a.seconds, 2)}
                for a in result.attempts
            ],
        }
        lines = [f"risk run {env} {date}: {result.outcome.value}"]
        lines += [
            f"  - {a.release}: exit {a.exit_code} in {a.seconds:.1f} s"
            + (f" ({a.output.splitlines()[-1]})" if a.exit_code and a.output else "")
            for a in result.attempts
        ]
        if result.outcome is Outcome.FELL_BACK:
            lines.append(f"  numbers produced by the last good release {result.producer}; alerted")
        if result.outcome is Outcome.REFUSED:
            raise PolicyRefusedError(f"{date} is not an NYSE session: no risk run", ())
        if result.outcome is Outcome.FAILED:
            raise RiskRunFailedError("\n".join(lines), payload)
        return payload, "\n".join(lines)

    _run(as_json, config, actor, body, key)


@app.command()
def demo(
    clean: Annotated[
        bool, typer.Option("--clean", help="Stop what the demo started and remove its state.")
    ] = False,
    story_name: Annotated[
        str,
        typer.Option(
            "--story",
            help="delivery (the default) or model-change (two declared model changes judged).",
        ),
    ] = "delivery",
) -> None:
    """The whole story end to end on embedded defaults (SPEC §7): v1 to prod, v2 canaried,
    v3 stopped by the shadow comparison, v4 rolled back by canary analysis; or, with
    ``--story model-change``, one declared model change accepted and one blocked by the judge."""
    from pathlib import Path  # noqa: PLC0415

    from riskctl.demo import story  # noqa: PLC0415

    root = Path.cwd()
    if not (root / "delivery.toml").exists() or not (root / ".git").exists():
        _fail(False, UsageError("run riskctl demo from the repository root"), 2)
    if clean:
        story.clean(root)
        return
    if story_name == "model-change":
        from riskctl.demo.modelchange import run_model_change_demo  # noqa: PLC0415

        raise typer.Exit(run_model_change_demo(root))
    if story_name != "delivery":
        _fail(False, UsageError(f"unknown story {story_name!r}: delivery or model-change"), 2)
    raise typer.Exit(story.run_demo(root))


# --- render (SPEC §6) ----------------------------------------------------------------------

render_app = typer.Typer(
    help="Render the delivery policy for another platform (Kubernetes).", no_args_is_help=True
)
app.add_typer(render_app, name="render")


@render_app.command("k8s")
def render_k8s_command(
    *,
    env: EnvOpt,
    image: Annotated[
        str,
        typer.Option(
            "--image",
            help="Image reference CI pushed, with a tag or @sha256 digest (riskctl builds "
            "wheels, not images, so it cannot derive one).",
        ),
    ],
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            help="Release (id or digest) the image was built from: sets the version, commit "
            "and digest /version reports.",
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Namespace (default: risk-service-ENV).")
    ] = None,
    create_namespace: Annotated[
        bool, typer.Option("--create-namespace", help="Also render the Namespace.")
    ] = False,
    replicas: Annotated[
        int | None,
        typer.Option("--replicas", min=1, help="API pods (default by strategy: 1, 2, 4)."),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="In-cluster Prometheus address for canary analysis (required for canary).",
        ),
    ] = None,
    daily_run_image: Annotated[
        str | None,
        typer.Option(
            "--daily-run-image", help="Image of the daily-run CronJob (default: --image)."
        ),
    ] = None,
    fast_track: Annotated[
        bool, typer.Option("--fast-track", help="The fast track's canary steps.")
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Check every manifest offline against the Kubernetes and Argo Rollouts "
            "schemas; exit 1 on a violation (needs kubernetes-validate).",
        ),
    ] = False,
    kubernetes_version: Annotated[
        str, typer.Option("--kubernetes-version", help="Kubernetes schemas to validate against.")
    ] = "1.30",
    out: Annotated[
        str | None,
        typer.Option(
            "--out", help="Write one file per kind into this new or empty directory, not stdout."
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Kubernetes manifests for ENV: Argo Rollouts Rollout and AnalysisTemplate, Services,
    daily-run CronJob (SPEC §6). Gates, approvals, windows, shadow comparison and the audit
    trail stay in riskctl."""
    from pathlib import Path  # noqa: PLC0415

    from riskctl.config import DeliveryConfig  # noqa: PLC0415
    from riskctl.render import (  # noqa: PLC0415 - keeps the CLI's start light
        ReleaseInfo,
        RenderOptions,
        render_k8s,
        split_by_kind,
        to_yaml,
    )

    def render(policy: DeliveryConfig, info: ReleaseInfo | None) -> tuple[Any, str]:
        options = RenderOptions(
            env=env,
            image=image,
            namespace=namespace,
            create_namespace=create_namespace,
            replicas=replicas,
            prometheus_url=prometheus_url,
            daily_run_image=daily_run_image,
            fast_track=fast_track,
            release=info,
        )
        docs = render_k8s(policy, options)
        if validate:
            from riskctl.render.validate import check_manifests  # noqa: PLC0415

            check_manifests(docs, kubernetes_version)
        payload: dict[str, Any] = {
            "env": env,
            "namespace": options.resolved_namespace,
            "image": image,
            "release": info.id if info else None,
            "validated": kubernetes_version if validate else None,
            "kinds": [d["kind"] for d in docs],
        }
        if out is None:
            payload["manifests"] = docs
            return payload, to_yaml(docs)
        target = Path(out)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise UsageError(f"--out {out}: not an empty directory (stale manifests would apply)")
        target.mkdir(parents=True, exist_ok=True)
        files = []
        for name, text in split_by_kind(docs):
            (target / name).write_text(text, encoding="utf-8")
            files.append(str(target / name))
        payload["files"] = files
        checked = f", valid for Kubernetes {kubernetes_version}" if validate else ""
        return payload, f"wrote {len(files)} files to {out}{checked}\n" + "\n".join(
            f"  {f}" for f in files
        )

    if release is not None:

        def body(s: Session) -> tuple[Any, str]:
            found = s.ledger().release(release)
            info = ReleaseInfo(found.id, found.version, found.commit, found.digest)
            return render(s.loaded.config, info)

        _run(as_json, config, actor, body, key)
        return
    try:
        payload, text = render(_load_policy(config), None)
    except RiskctlError as exc:
        _fail(as_json, exc, exc.exit_code)
    except OSError as exc:
        _fail(as_json, exc, 1)
    _emit(as_json, payload, text.rstrip("\n"))


def _load_policy(config: str | None) -> Any:
    """The policy file alone (no audit store): for commands that only read policy."""
    from pathlib import Path  # noqa: PLC0415

    from riskctl.config import load_config, resolve_config_path  # noqa: PLC0415
    from riskctl.gitrepo import GitRepo  # noqa: PLC0415

    try:
        root: Path | None = GitRepo.discover(Path.cwd()).root
    except UsageError:
        root = None
    return load_config(resolve_config_path(config, root)).config
