"""An in-memory :class:`~riskctl.targets.fleet.Fleet` for fast tests of every transition.

It keeps what a real fleet would hold — which instance runs in which slot, the weights and
addresses the front door routes with — and checks the promises routing must keep: **no weight on
a slot whose instance is not running** (a request routed there would fail), checked after every
routing change, and no instance stopped while it still has weight. A breach raises
:class:`RoutingViolationError` at once, inside the controller's own call, so a test sees the
exact step that broke it.

It can also simulate a controller dying at a chosen point: ``crash_at=N`` makes the N-th
mutating call (start, stop, route, remove_orphans, migrate) raise :class:`SimulatedCrash`
*before* it does anything — as if the process had been killed between two actions.

::

    SimulatedCrash(BaseException)   the injected "kill" (not an Exception: nothing catches it)
    RoutingViolationError(AssertionError) weight on a slot with no running instance
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from riskctl.errors import DeployFailedError
from riskctl.router.interface import ServerStats
from riskctl.targets.interface import Readiness

__all__ = ["FakeFleet", "FakeInstance", "RoutingViolationError", "SimulatedCrash"]

SLOTS = ("blue", "green")


class SimulatedCrash(BaseException):
    """The controller process "died" here (injected by a test)."""


class RoutingViolationError(AssertionError):
    """Weight was routed to a slot whose instance is not running."""


@dataclass
class FakeInstance:
    """One instance the fake runs."""

    env: str
    slot: str
    release: str
    port: int
    ready: bool = True  # answers readiness and smoke tests (False: "crashes on start")


@dataclass
class FakeFleet:
    """Instances and front doors in memory; every routing change is checked and recorded."""

    crash_at: int | None = None  # the N-th mutating call raises SimulatedCrash (1-based)
    #: Releases that crash on start (never become ready).
    crashing: frozenset[str] = frozenset()
    migrations_fail: frozenset[str] = frozenset()
    infrastructure: bool = False
    instances: dict[str, FakeInstance] = field(default_factory=dict)  # program name → instance
    #: env → slot → (port, weight); a slot absent from the map is in maintenance.
    doors: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    #: Every routing change: (env, {slot: weight}) after the change.
    routed: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # mutating calls, in order
    migrated: list[str] = field(default_factory=list)

    # -- crash injection and the routing check ------------------------------------------------

    def boundary(self, what: str) -> None:
        """A crash point: raise SimulatedCrash here if it is the chosen one, else count it."""
        if self.crash_at is not None and len(self.calls) + 1 >= self.crash_at:
            self.crash_at = None  # a restarted controller runs normally
            raise SimulatedCrash(what)
        self.calls.append(what)

    def _check(self, env: str) -> None:
        door = self.doors.get(env, {})
        for slot, (port, weight) in door.items():
            if weight <= 0:
                continue
            running = [i for i in self.instances.values() if (i.env, i.slot) == (env, slot)]
            if not running or running[0].port != port or not running[0].ready:
                raise RoutingViolationError(
                    f"{env}: weight {weight} on slot {slot} (port {port}) but no running "
                    f"instance answers there ({running})"
                )
        self.routed.append((env, {slot: w for slot, (_p, w) in sorted(door.items())}))

    def _refuse_stopping_weighted(self, env: str, slot: str) -> None:
        """Stopping an instance that still has weight would drop the requests routed to it."""
        weight = self.doors.get(env, {}).get(slot, (0, 0))[1]
        if weight > 0:
            raise RoutingViolationError(f"{env}: stopping slot {slot} while it has weight {weight}")

    def kill(self, env: str, slot: str) -> None:
        """The world, not the controller: the instance in ``slot`` dies (no check)."""
        for name in [n for n, i in self.instances.items() if (i.env, i.slot) == (env, slot)]:
            del self.instances[name]

    def weights(self, env: str) -> dict[str, int]:
        """The weights the front door of ``env`` routes with now (absent slots: 0)."""
        door = self.doors.get(env, {})
        return {slot: door[slot][1] if slot in door else 0 for slot in SLOTS}

    def running(self, env: str) -> dict[str, str]:
        """slot → release of the instances of ``env`` that run now."""
        return {i.slot: i.release for i in self.instances.values() if i.env == env}

    # -- Fleet: infrastructure ----------------------------------------------------------------

    def ensure_infrastructure(self) -> list[str]:
        """Start the (imaginary) front doors once."""
        if self.infrastructure:
            return []
        self.infrastructure = True
        return ["started the fake front doors"]

    def infrastructure_running(self) -> bool:
        """Whether :meth:`ensure_infrastructure` ran."""
        return self.infrastructure

    def shutdown(self) -> None:
        """Forget every instance and door."""
        self.instances.clear()
        self.doors.clear()
        self.infrastructure = False

    # -- Fleet: routing ---------------------------------------------------------------------

    def route(self, env: str, occupants: Mapping[str, int], weights: Mapping[str, int]) -> None:
        """Occupied slots get their port and weight; the others go to maintenance."""
        self.boundary(f"route {env} {dict(weights)}")
        self.doors[env] = {
            slot: (port, int(weights.get(slot, 0))) for slot, port in occupants.items()
        }
        self._check(env)

    def stats(self, env: str) -> list[ServerStats]:
        """The door's view: weight and UP/MAINT per slot."""
        out = []
        door = self.doors.get(env, {})
        for slot in SLOTS:
            port, weight = door.get(slot, (0, 0))
            up = slot in door and any(
                (i.env, i.slot, i.port, i.ready) == (env, slot, port, True)
                for i in self.instances.values()
            )
            status = "UP" if up else ("DOWN" if slot in door else "MAINT")
            out.append(ServerStats(f"be_{env}", slot, status, weight, 0, 0, 0, 0, 0, ""))
        return out

    def frontend_rate(self, env: str) -> float:
        """No real requests arrive at a fake door."""
        return 0.0

    # -- Fleet: instances -------------------------------------------------------------------

    def programs(self, env: str) -> dict[str, tuple[str, str]]:
        """name → (slot, release) of ``env``'s instances."""
        return {n: (i.slot, i.release) for n, i in self.instances.items() if i.env == env}

    def start(
        self,
        env: str,
        slot: str,
        *,
        release: str,
        release_dir: Path,
        wheel: str,
        port: int,
        variables: Mapping[str, str],
    ) -> bool:
        """Run ``release`` in ``slot`` (replacing another release there)."""
        name = f"riskctl-{env}-{slot}-{release}"
        if name in self.instances:
            return False
        self.boundary(f"start {env} {slot} {release}")
        for other in [n for n, i in self.instances.items() if (i.env, i.slot) == (env, slot)]:
            del self.instances[other]
        ready = release not in self.crashing
        self.instances[name] = FakeInstance(env, slot, release, port, ready)
        return True

    def alive(self, env: str, slot: str, release: str) -> bool:
        """Does that instance run (a crashing release does not stay up)?"""
        inst = self.instances.get(f"riskctl-{env}-{slot}-{release}")
        return inst is not None and inst.ready

    def wait_ready(
        self, env: str, slot: str, *, release: str, port: int, digest: str, timeout: float
    ) -> Readiness:
        """Ready at once, unless the release is one of :attr:`crashing`."""
        inst = self.instances.get(f"riskctl-{env}-{slot}-{release}")
        if inst is None or not inst.ready:
            return Readiness(False, f"{release} crashed on start (FATAL)", {})
        return Readiness(True, f"{release} ready; smoke tests passed", {"artifact_digest": digest})

    def wait_routable(self, env: str, slot: str, timeout: float) -> bool:
        """The door sees the slot UP."""
        return any(s.server == slot and s.status == "UP" for s in self.stats(env))

    def stop(self, env: str, slot: str, release: str, *, drain_s: float = 1.0) -> None:
        """Weight 0 and maintenance for the slot first (as HAProxy drains), then stop."""
        self.boundary(f"stop {env} {slot} {release}")
        name = f"riskctl-{env}-{slot}-{release}"
        if name in self.instances:
            self._refuse_stopping_weighted(env, slot)
        self.doors.get(env, {}).pop(slot, None)
        self.instances.pop(name, None)

    def remove_orphans(self, env: str, wanted: Mapping[str, str]) -> list[str]:
        """Stop the instances of ``env`` that are not ``wanted`` (slot → release)."""
        orphans = [n for n, i in self.instances.items() if i.env == env
                   and wanted.get(i.slot) != i.release]  # fmt: skip
        if not orphans:
            return []
        self.boundary(f"remove orphans {env} {orphans}")
        for name in orphans:
            inst = self.instances[name]
            if self.doors.get(env, {}).get(inst.slot, (0, 0))[0] == inst.port:
                self._refuse_stopping_weighted(env, inst.slot)
            del self.instances[name]
        return orphans

    # -- Fleet: release commands --------------------------------------------------------------

    def migrate(self, release_dir: Path, wheel: str, variables: Mapping[str, str]) -> str:
        """Record the migration; fail for :attr:`migrations_fail` wheels."""
        self.boundary(f"migrate {wheel}")
        if wheel in self.migrations_fail:
            raise DeployFailedError("migrations failed (exit 1): fake")
        self.migrated.append(wheel)
        return "migrations applied"

    def api_token(
        self, env: str, release_dir: Path, wheel: str, variables: Mapping[str, str]
    ) -> str:
        """A fixed token (the fake's instances do not check it)."""
        return f"fake-token-{env}"
