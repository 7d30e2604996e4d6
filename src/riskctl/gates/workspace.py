"""The work tree one ``riskctl gates`` run uses: outside ``$RISKCTL_HOME``, sandboxed, removed
afterwards (issue 8, finding 2).

:func:`gate_workspace` extracts the release's source snapshot into a fresh temporary directory,
chooses the sandbox (:mod:`riskctl.gates.sandbox`), proves with a probe that the home's secrets
are out of its reach, and refuses — before any gate runs — when they are not and a selected gate
counts in an environment other than dev.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from riskctl.config import Environment
from riskctl.errors import PolicyRefusedError, UsageError
from riskctl.gates.sandbox import Isolation, Sandbox, choose, probe

__all__ = ["Workspace", "counted_gates", "gate_workspace", "secrets_of"]


@dataclass(frozen=True)
class Workspace:
    """Where the gates of one run execute: ``source`` inside ``work``, under ``sandbox``."""

    work: Path
    source: Path
    sandbox: Sandbox


def counted_gates(environments: Mapping[str, Environment]) -> frozenset[str]:
    """Gates whose results a deploy beyond dev relies on."""
    return frozenset(
        gate for name, env in environments.items() if name != "dev" for gate in env.required_gates
    )


def secrets_of(home: Path, database_url: str | None) -> list[Path]:
    """What a gate must never reach: the home, its keys and the audit store's file (a
    PostgreSQL store is kept out by the sandbox's network and the scrubbed environment)."""
    keys = home / "keys"
    found = sorted(keys.iterdir()) if keys.is_dir() else []
    store = home / "audit.sqlite"
    if database_url and database_url.startswith("sqlite:///"):
        store = Path(database_url.removeprefix("sqlite:///"))
    return [home, keys, *found, store]


@contextmanager
def gate_workspace(
    *,
    release: str,
    source_tar: Path,
    python: str,
    secrets: Iterable[Path],
    selected: Iterable[str],
    counted: frozenset[str],
) -> Iterator[Workspace]:
    """A sandboxed work tree for ``release``'s gates (removed on exit)."""
    work = Path(tempfile.mkdtemp(prefix=f"riskctl-gates-{release}-"))
    try:
        source = work / "src"
        for sub in (source, work / "home", work / "tmp"):
            sub.mkdir()
        try:
            with tarfile.open(source_tar) as tar:
                tar.extractall(source, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise UsageError(f"release {release} has no readable source snapshot: {exc}") from None
        sandbox = choose(work, python)
        reached = probe(sandbox, python, list(secrets))
        at_stake = sorted(set(selected) & counted)
        if at_stake and (sandbox.isolation is Isolation.NONE or reached):
            problems = [f"a gate command could reach: {'; '.join(reached)}"] if reached else []
            if sandbox.isolation is Isolation.NONE:
                problems.insert(
                    0,
                    "no gate isolation is available (install bubblewrap, or run riskctl as "
                    "root so gates run as an unprivileged uid)",
                )
            why = "; ".join(problems)
            raise PolicyRefusedError(
                f"gates refused: {why}; the results of {', '.join(at_stake)} count beyond dev, "
                "so they never run where riskctl's keys or audit store are reachable",
                (f"gate isolation ({why})",),
            )
        yield Workspace(work, source, sandbox)
    finally:
        shutil.rmtree(work, ignore_errors=True)
