"""Making a release: ``riskctl build`` (one immutable release from a commit) and ``riskctl gates``
(its quality gates, run where the keys are unreachable, each result recorded)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from riskctl.build.release import build_release
from riskctl.errors import GateFailedError, PolicyRefusedError, UsageError
from riskctl.gates import GateContext, GateResult, make_gate, run_gates
from riskctl.gates.workspace import counted_gates, gate_workspace, secrets_of
from riskctl.ledger import release_to_details
from riskctl.model import GateStatus, Release
from riskctl.signing import load_or_create_key
from riskctl.trust.facts import gate_spec_digest
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

__all__ = ["BuildResult", "GateRow", "GatesResult", "build", "gates"]


@dataclass(frozen=True)
class BuildResult(Result):
    """The release ``riskctl build`` made (or found identical)."""

    release: str
    digest: str
    commit: str
    author: str
    version: str
    dirty: bool
    change_class: str
    calculation_files: tuple[str, ...]
    base_release: str | None
    directory: str
    artifacts: Mapping[str, str]
    rebuilt_identical: bool


@dataclass(frozen=True)
class GateRow(Result):
    """One gate's outcome."""

    gate: str
    status: str
    duration_s: float
    log_digest: str
    summary: str


@dataclass(frozen=True)
class GatesResult(Result):
    """Every selected gate's outcome for one release."""

    release: str
    digest: str
    passed: bool
    gates: tuple[GateRow, ...]


def build(ctx: Context, *, allow_dirty: bool) -> BuildResult:
    """Build one immutable release from the repository's HEAD (refused when dirty, unless
    ``allow_dirty``: the release is then marked dirty and its builder counts as its author)."""
    if ctx.repo is None:
        raise UsageError("riskctl build must run inside the repository's git working tree")
    commit = ctx.repo.head()
    # Without --as the builder is the commit author's identity, still proven by its key.
    ctx.trust.default_actor(ctx.trust.identities.identity_for_email(commit.email))
    actor = ctx.require_actor()  # the builder: a dirty build's changes are theirs
    dirty = ctx.repo.dirty_paths()
    if dirty and not allow_dirty:
        ctx.record(
            "build.refused", actor=actor, details={"commit": commit.sha, "dirty_paths": dirty[:50]}
        )
        shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
        raise PolicyRefusedError(
            f"build refused: the working tree is dirty ({shown}); commit your changes "
            "or pass --allow-dirty (the release is then marked dirty)"
        )
    ledger = ctx.ledger()
    prod_id = ledger.current.get("prod")
    started = time.monotonic()
    out = build_release(
        repo=ctx.repo,
        home=ctx.home,
        config=ctx.config,
        key=load_or_create_key(ctx.home / "keys", "release"),
        python=ctx.python,
        now=ctx.clock.now(),
        allow_dirty=allow_dirty,
        prod_release=ledger.releases.get(prod_id) if prod_id else None,
    )
    release = replace(out.release, builder=actor)
    ctx.record(
        "release.built",
        actor=actor,
        release=release.digest,
        details={
            **release_to_details(release),
            "artifacts": out.artifacts,
            "committed_at": datetime.fromtimestamp(commit.epoch, UTC).isoformat(),
            "build_seconds": round(time.monotonic() - started, 3),
        },
    )
    return BuildResult(
        release=release.id,
        digest=release.digest,
        commit=release.commit,
        author=release.author,
        version=release.version,
        dirty=release.dirty,
        change_class=str(release.change_class),
        calculation_files=tuple(release.calculation_files),
        base_release=release.base_release,
        directory=str(out.directory),
        artifacts=out.artifacts,
        rebuilt_identical=out.existed,
    )


def gates(
    ctx: Context,
    ref: str,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    workers: int = 2,
    progress: bool = True,
) -> GatesResult:
    """Run and record the quality gates of ``ref`` (all, or ``only`` those, minus ``skip``)."""
    release = ctx.ledger().release(ref)
    # Without --as gates run as the release author's identity, still proven by its key.
    ctx.trust.default_actor(ctx.trust.identities.identity_for_email(release.author_email))
    ctx.require_actor()
    known = ctx.config.gates
    for name in (*only, *skip):
        if name not in known:
            raise UsageError(f"unknown gate {name!r} (known: {', '.join(known)})")
    selected = [n for n in known if (not only or n in only) and n not in skip]
    if not selected:
        raise UsageError("no gates selected")
    release_dir = ctx.home / "releases" / release.id
    logs = ctx.home / "logs" / release.id
    logs.mkdir(parents=True, exist_ok=True)
    try:
        with gate_workspace(
            release=release.id, source_tar=release_dir / "source.tar", python=ctx.python,
            secrets=secrets_of(ctx.home, os.environ.get("RISKCTL_DATABASE_URL")),
            selected=selected, counted=counted_gates(ctx.config.environments),
        ) as space:  # fmt: skip
            gate_ctx = GateContext(
                source=space.source, work=space.work, python=ctx.python,
                lock=release_dir / "requirements.lock", logs=logs, sandbox=space.sandbox,
            )  # fmt: skip
            return _run_gates(ctx, release, selected, gate_ctx, workers=workers, progress=progress)
    except PolicyRefusedError as exc:
        details = {"release": release.id, "gates": selected, "reason": str(exc)}
        ctx.record("gates.refused", release=release.digest, details=details)
        raise


def _run_gates(
    ctx: Context, release: Release, selected: list[str], gate_ctx: GateContext, *,
    workers: int, progress: bool,
) -> GatesResult:  # fmt: skip
    known, logs = ctx.config.gates, gate_ctx.logs

    def on_result(result: GateResult) -> None:
        _write_log(logs, result)
        ctx.record(
            "gate.result",
            release=release.digest,
            details={
                "release": release.id,
                "gate": result.gate,
                "status": str(result.status),
                "duration_s": round(result.duration_s, 3),
                "log_digest": result.log_digest,
                "summary": result.summary,
                "metrics": result.metrics,
                "isolation": str(gate_ctx.sandbox.isolation),
                # Counts only under the pinned policy's definition of this gate (sorted
                # after status and summary, which short views show first).
                "under_definition": gate_spec_digest(known[result.gate]),
            },
        )

    results = run_gates(
        [make_gate(n, known[n]) for n in selected],
        gate_ctx,
        workers=workers,
        on_result=on_result,
        show_progress=progress,
    )
    failed = [r.gate for r in results if r.status is GateStatus.FAILED]
    unavailable = [r.gate for r in results if r.status is GateStatus.UNAVAILABLE]
    ctx.record(
        "gates.completed",
        release=release.digest,
        details={
            "release": release.id, "gates": selected, "failed": failed, "unavailable": unavailable,
        },
    )  # fmt: skip
    summary = GatesResult(
        release=release.id,
        digest=release.digest,
        passed=not failed,
        gates=tuple(
            GateRow(r.gate, str(r.status), round(r.duration_s, 3), r.log_digest, r.summary)
            for r in results
        ),
    )
    if failed:
        raise GateFailedError(
            f"gates failed for {release.id}: {', '.join(failed)}", summary.as_dict()
        )
    return summary


def _write_log(logs: Path, result: GateResult) -> None:
    (logs / f"{result.gate}.log").write_bytes(result.log)
