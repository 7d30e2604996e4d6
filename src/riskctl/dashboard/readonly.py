"""A deploy target that only looks: what runs where, without converging anything.

``riskctl status`` converges an environment before it reports (completes an interrupted abort,
restarts missing instances, re-applies weights) and records what it did; for that it takes the
environment's controller lock. A dashboard polling every few seconds must do none of that: taking
the lock, even briefly, would make a concurrent ``riskctl deploy`` fail with "another riskctl is
driving …". :class:`ReadOnlyRolloutTarget` reads the persisted desired state and asks HAProxy and
supervisord (read-only calls) for the live picture; whether a controller holds the lock is read
from ``/proc/locks`` instead of by trying to take it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from riskctl.config import LoadedConfig
from riskctl.errors import UsageError
from riskctl.rollout.controller import RolloutTarget
from riskctl.targets.interface import (
    DeployTarget,
    EventSink,
    InstanceStatus,
    TargetOutcome,
    TargetRequest,
)

__all__ = ["ReadOnlyRolloutTarget", "lock_held", "read_only_target"]

_PROC_LOCKS = Path("/proc/locks")
_DEVICE_INODE = re.compile(r"^([0-9a-f]+):([0-9a-f]+):(\d+)$")


def lock_held(path: Path, locks_table: Path = _PROC_LOCKS) -> bool | None:
    """Does some process hold a lock on ``path``? None when this system cannot tell.

    Linux lists every held lock in ``/proc/locks`` as ``MAJOR:MINOR:INODE`` (hex, hex, decimal)
    of the locked file; matching it against ``stat(path)`` observes the lock without touching it.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        table = locks_table.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for token in table.split():
        found = _DEVICE_INODE.match(token)
        if found and (int(found[1], 16), int(found[2], 16), int(found[3])) == wanted:
            return True
    return False


class ReadOnlyRolloutTarget(RolloutTarget):
    """:class:`RolloutTarget` for viewing: :meth:`status` never converges, locks or records;
    every command that would change something refuses."""

    def status(self, env: str, port: int) -> InstanceStatus:
        """The persisted state of ``env`` with the live weights and health, as it is."""
        run = self._run(env, _discard)
        st = run.store.load()
        held = lock_held(run.store.lock_path)
        details = self._details(run, st, bool(held))
        if held is None and st.active:
            details["controller"] = "unknown (cannot read /proc/locks)"
        stable = st.stable
        return InstanceStatus(
            env,
            stable.release if stable else None,
            "running" if st.slots else "absent",
            None,
            details,
        )

    def deploy(self, request: TargetRequest) -> TargetOutcome:
        """Refused: the dashboard changes nothing."""
        raise UsageError("the dashboard is read-only")

    def promote(self, env: str, actor: str, sink: EventSink) -> TargetOutcome:
        """Refused: the dashboard changes nothing."""
        raise UsageError("the dashboard is read-only")

    def abort(self, env: str, reason: str, actor: str, sink: EventSink) -> TargetOutcome:
        """Refused: the dashboard changes nothing."""
        raise UsageError("the dashboard is read-only")


def _discard(_action: str, _digest: str | None, _details: object) -> None:
    return None


def read_only_target(home: Path, loaded: LoadedConfig) -> DeployTarget:
    """A ``target_factory`` for :func:`riskctl.service.open_session`."""
    return ReadOnlyRolloutTarget(home, loaded.config)
