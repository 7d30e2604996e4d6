"""An environment's persisted desired state, its controller lock and pending requests.

One directory per environment (``$RISKCTL_HOME/envs/ENV``)::

    state.json           the desired state: slot occupants, stable slot, warm colour, the
                         rollout (RolloutState) and its latest verdicts — written atomically
                         (temporary file, fsync, rename) *before* the controller acts on it
    controller.lock      flock held by the one controller driving this environment
    abort-request.json   `riskctl abort` asking a running controller to abort

Exceptions: :class:`ControllerBusyError` (another controller holds the lock).
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from riskctl.errors import UsageError
from riskctl.rollout.state import Phase, RolloutState

__all__ = [
    "ControllerBusyError",
    "EnvPhase",
    "EnvState",
    "EnvStore",
    "SlotOccupant",
    "derive_phase",
    "write_atomic",
]


class ControllerBusyError(UsageError):
    """Another riskctl process is driving this environment right now."""


class EnvPhase(enum.StrEnum):
    """Where an environment is (after Argo Rollouts' phases), persisted with its state.

    ``Preparing`` → ``Progressing`` ⇄ ``Paused`` → ``Finalizing`` → ``Healthy``; any of the first
    three → ``Aborting`` → ``Healthy`` (the stable release serves) or ``Idle`` (nothing did).
    ``Aborting`` and ``Finalizing`` mean the decision is persisted and its actions may not have
    run yet: a controller that finds one replays them. ``Degraded``: the stable instance was
    found not running.
    """

    IDLE = "Idle"  # nothing deployed
    PREPARING = "Preparing"  # the new instance migrates, starts, is smoke-tested and shadowed
    PROGRESSING = "Progressing"  # executing the strategy's steps
    PAUSED = "Paused"  # waiting for `riskctl promote` or `riskctl abort`
    ABORTING = "Aborting"  # canary weight 0, canary being stopped
    FINALIZING = "Finalizing"  # the new release is stable; the old one being retired
    HEALTHY = "Healthy"  # no rollout under way; the stable release serves
    DEGRADED = "Degraded"  # no rollout under way; the stable instance was found down


@dataclass(frozen=True)
class SlotOccupant:
    """The release that runs (or should run) in one slot."""

    release: str
    digest: str
    port: int
    release_dir: str = ""
    wheel: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvState:
    """What should be true of one environment."""

    env: str
    slots: Mapping[str, SlotOccupant] = field(default_factory=dict)
    stable_slot: str | None = None
    warm_slot: str | None = None  # the previous colour, kept running until warm_until
    warm_until: float | None = None  # epoch seconds
    rollout: RolloutState | None = None
    rollout_meta: Mapping[str, Any] = field(default_factory=dict)  # actor, strategy, digest…
    prepared: bool = False  # the rollout's instance started, ready, smoke-tested, shadowed
    finished: bool = True  # the rollout's terminal actions are done and recorded
    verdict: Mapping[str, Any] | None = None  # latest analysis verdict
    shadow: Mapping[str, Any] | None = None  # latest shadow comparison
    phase: EnvPhase | None = None  # None: derived from the fields above (older state files)

    def __post_init__(self) -> None:
        if self.phase is None:
            object.__setattr__(self, "phase", derive_phase(self))

    @property
    def stable(self) -> SlotOccupant | None:
        """The occupant of the stable slot."""
        return self.slots.get(self.stable_slot) if self.stable_slot else None

    @property
    def active(self) -> bool:
        """A rollout is in progress (not yet finished)."""
        return self.rollout is not None and not self.finished

    def weights(self) -> dict[str, int]:
        """Desired weight per occupied slot (percent)."""
        out = dict.fromkeys(self.slots, 0)
        ro = self.rollout
        if ro is not None and self.active and ro.canary_slot in self.slots:
            out[ro.canary_slot] = ro.canary_weight
            if self.stable_slot in out and self.stable_slot != ro.canary_slot:
                out[self.stable_slot] = 100 - ro.canary_weight
        elif self.stable_slot in out:
            out[self.stable_slot] = 100
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "env": self.env,
            "slots": {
                k: {**vars(v), "variables": dict(v.variables)} for k, v in self.slots.items()
            },
            "stable_slot": self.stable_slot,
            "warm_slot": self.warm_slot,
            "warm_until": self.warm_until,
            "rollout": self.rollout.to_dict() if self.rollout else None,
            "rollout_meta": dict(self.rollout_meta),
            "prepared": self.prepared,
            "finished": self.finished,
            "verdict": dict(self.verdict) if self.verdict else None,
            "shadow": dict(self.shadow) if self.shadow else None,
            "phase": str(self.phase),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvState:
        """Inverse of :meth:`to_dict`."""
        rollout = data.get("rollout")
        return cls(
            env=data["env"],
            slots={k: SlotOccupant(**v) for k, v in (data.get("slots") or {}).items()},
            stable_slot=data.get("stable_slot"),
            warm_slot=data.get("warm_slot"),
            warm_until=data.get("warm_until"),
            rollout=RolloutState.from_dict(rollout) if rollout else None,
            rollout_meta=dict(data.get("rollout_meta") or {}),
            prepared=bool(data.get("prepared", False)),
            finished=bool(data.get("finished", True)),
            verdict=data.get("verdict"),
            shadow=data.get("shadow"),
            phase=EnvPhase(data["phase"]) if data.get("phase") else None,
        )

    def evolve(self, **changes: Any) -> EnvState:
        """A copy with ``changes``."""
        return replace(self, **changes)


def derive_phase(state: EnvState) -> EnvPhase:
    """The phase that the flags of ``state`` imply (for states written before phases were)."""
    ro = state.rollout
    if ro is None or state.finished:
        return EnvPhase.HEALTHY if state.stable_slot in state.slots else EnvPhase.IDLE
    if ro.phase in (Phase.ABORTING, Phase.ABORTED):
        return EnvPhase.ABORTING
    if ro.phase is Phase.HEALTHY:
        return EnvPhase.FINALIZING
    if ro.phase is Phase.PAUSED:
        return EnvPhase.PAUSED
    return EnvPhase.PROGRESSING if state.prepared else EnvPhase.PREPARING


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class EnvStore:
    """Loads and saves one environment's state; holds its controller lock."""

    def __init__(self, root: Path, env: str) -> None:
        self.env = env
        self.dir = root / env
        self.state_path = self.dir / "state.json"
        self.lock_path = self.dir / "controller.lock"
        self.abort_path = self.dir / "abort-request.json"

    def load(self) -> EnvState:
        """The persisted state (empty when nothing was ever deployed here)."""
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return EnvState(self.env)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {self.state_path}: {exc}") from None
        return EnvState.from_dict(data)

    def save(self, state: EnvState) -> None:
        """Persist ``state`` atomically (before acting on it)."""
        text = json.dumps(state.to_dict(), indent=2, sort_keys=True) + "\n"
        write_atomic(self.state_path, text.encode())

    @contextlib.contextmanager
    def locked(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the controller lock (released by the kernel if this process dies)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                raise ControllerBusyError(
                    f"another riskctl (pid {holder}) is driving {self.env} right now; "
                    f"use `riskctl abort {self.env}` or wait for it"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

    def busy(self) -> bool:
        """Is a controller holding the lock right now?"""
        try:
            with self.locked():
                return False
        except ControllerBusyError:
            return True

    def request_abort(self, reason: str, actor: str) -> None:
        """Ask the running controller to abort (it polls for this)."""
        payload = json.dumps({"reason": reason, "actor": actor}).encode()
        write_atomic(self.abort_path, payload)

    def pending_abort(self) -> dict[str, str] | None:
        """The abort request, if any (left in place until :meth:`clear_abort`)."""
        try:
            data = json.loads(self.abort_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return {"reason": str(data.get("reason", "")), "actor": str(data.get("actor", ""))}

    def clear_abort(self) -> None:
        """Forget a handled abort request."""
        self.abort_path.unlink(missing_ok=True)
