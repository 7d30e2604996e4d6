"""The local target: every environment's instances on this host (SPEC §4, local target).

* Front doors: one HAProxy (master-worker) with a frontend per environment on the port of its
  ``url``, started when missing; traffic moves only through its runtime API.
* Instances: each runs from its immutable release virtualenv under supervisord, in one of two
  slots (``blue``/``green``) with its own port; the program name says which environment, slot
  and release (``riskctl-ENV-SLOT-REL``), so anything else is an orphan.
* Release commands: migrations, token creation and (for the daily-run guard) any
  ``risk-service`` command run from a release's venv with the environment's variables.
* Monitoring: ``envs/ENV/prometheus-targets.json``, the occupied slots as a Prometheus file_sd
  targets file, rewritten (atomically, only when it changes) each time the slots are routed.

The rollout decisions are not here: :mod:`riskctl.rollout.controller` drives this through the
:class:`~riskctl.targets.fleet.Fleet` interface (which :class:`LocalTarget` implements; the
in-memory :class:`~riskctl.targets.fake.FakeFleet` is the other implementation).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskctl._proc import run
from riskctl.config import DeliveryConfig, TargetSpec
from riskctl.errors import DeployFailedError
from riskctl.router.haproxy import SLOTS, FrontDoor, HAProxyProcess, HAProxyRouter, render_config
from riskctl.router.interface import RouterError, ServerState, ServerStats
from riskctl.targets.interface import Readiness
from riskctl.targets.supervisor import Supervisor

if TYPE_CHECKING:
    import httpx

__all__ = [
    "PROMETHEUS_TARGETS",
    "SLOTS",
    "LocalTarget",
    "program_name",
    "prometheus_targets",
    "write_prometheus_targets",
]

_EMPTY_PORT = 1  # where an empty slot points (nothing listens there)

#: Each environment's instances for a Prometheus server's ``file_sd_configs`` (SPEC §4: a
#: Prometheus server as analysis provider, ``prometheus_url``), under ``envs/ENV/``.
PROMETHEUS_TARGETS = "prometheus-targets.json"


def program_name(env: str, slot: str, release: str) -> str:
    """The supervisord program of one instance."""
    return f"riskctl-{env}-{slot}-{release}"


def prometheus_targets(
    env: str, slots: Mapping[str, tuple[int, str | None]]
) -> list[dict[str, Any]]:
    """file_sd entries: ``127.0.0.1:PORT`` per occupied slot (slot → (port, release)), labelled
    ``env``, ``slot`` and ``release``; the analysis finds an instance by that target."""
    out: list[dict[str, Any]] = []
    for slot in sorted(slots):
        port, release = slots[slot]
        labels = {"env": env, "slot": slot, **({"release": release} if release else {})}
        out.append({"targets": [f"127.0.0.1:{port}"], "labels": labels})
    return out


def write_prometheus_targets(
    path: Path, env: str, slots: Mapping[str, tuple[int, str | None]]
) -> bool:
    """Replace ``path`` with ``env``'s targets atomically (Prometheus re-reads it on change and
    must never see half a file); leave it alone when unchanged. Whether it was written."""
    text = json.dumps(prometheus_targets(env, slots), indent=2) + "\n"
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # a Prometheus server may run as another user
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def _short_runtime_dir(home: Path) -> Path:
    """HAProxy's sockets live here.

    HAProxy refuses a unix socket path over 97 bytes (sun_path less room for its temporary
    name while binding), so a deep home falls back to a short per-home directory in the temp dir.
    """
    wanted = home / "haproxy"
    if max(len(str(wanted / name)) for name in ("master.sock", "admin.sock")) <= 90:
        return wanted
    tag = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"riskctl-haproxy-{tag}"


class LocalTarget:
    """Release instances supervised by supervisord on 127.0.0.1, behind HAProxy front doors."""

    def __init__(self, home: Path, config: DeliveryConfig) -> None:
        self.home = home
        self.config = config
        self.spec: TargetSpec = config.target
        self.supervisor = Supervisor(home / "supervisor")
        self.haproxy = HAProxyProcess(_short_runtime_dir(home))

    # -- infrastructure ---------------------------------------------------------------------

    def doors(self) -> list[FrontDoor]:
        """One front door per configured environment."""
        return [FrontDoor(n, e.front_door_port) for n, e in self.config.environments.items()]

    def ensure_infrastructure(self) -> list[str]:
        """Start supervisord and HAProxy when missing (or reload HAProxy for new front doors)."""
        said: list[str] = []
        if self.supervisor.ensure_running():
            said.append(f"started supervisord ({self.supervisor.socket})")
        wanted = render_config(
            self.doors(),
            self.haproxy.runtime_dir,
            check_path=self.spec.ready_path,
            check_interval_ms=self.spec.check_interval_ms,
        )
        current = (
            self.haproxy.config_path.read_text() if self.haproxy.config_path.exists() else None
        )
        try:
            if current != wanted:
                self.haproxy.write_config(wanted)
            if not self.haproxy.running():
                self.haproxy.start()
                doors = ", ".join(f"{d.env} {d.url}" for d in self.doors())
                said.append(f"started HAProxy front doors ({doors})")
            elif current != wanted:
                self.haproxy.reload()
                said.append("reloaded HAProxy with new front doors (runtime weights kept)")
        except RouterError as exc:
            raise DeployFailedError(str(exc)) from None
        return said

    def infrastructure_running(self) -> bool:
        """HAProxy answers on its admin socket."""
        return self.haproxy.running()

    def router(self) -> HAProxyRouter:
        """The runtime API of the front doors."""
        return HAProxyRouter(self.haproxy.api())

    # -- routing ----------------------------------------------------------------------------

    def route(self, env: str, occupants: Mapping[str, int], weights: Mapping[str, int]) -> None:
        """Point each slot at its instance port and set weights (raise first, then lower).

        ``occupants`` maps occupied slots to ports; the other slots go to maintenance. The
        environment's Prometheus targets file follows (every slot change is routed).
        """
        router = self.router()
        backend = f"be_{env}"
        current = {s.server: s for s in router.stats(backend)}
        addresses = self.addresses(env)
        for slot, port in occupants.items():
            # Re-setting an unchanged address would restart the server's health checks.
            if addresses.get(slot) != ("127.0.0.1", port):
                router.set_address(backend, slot, "127.0.0.1", port)
            if current.get(slot) is None or current[slot].status.startswith("MAINT"):
                router.set_state(backend, slot, ServerState.READY)
        order = sorted(occupants, key=lambda s: -(weights.get(s, 0) - _weight_of(current, s)))
        for slot in order:
            router.set_weight(backend, slot, int(weights.get(slot, 0)))
        for slot in SLOTS:
            if slot not in occupants:
                router.set_weight(backend, slot, 0)
                if not _status(current, slot).startswith("MAINT"):
                    router.set_state(backend, slot, ServerState.MAINT)
                if addresses.get(slot) != ("127.0.0.1", _EMPTY_PORT):
                    router.set_address(backend, slot, "127.0.0.1", _EMPTY_PORT)
        self.publish_targets(env, occupants)

    def prometheus_targets_path(self, env: str) -> Path:
        """``env``'s file_sd targets file."""
        return self.home / "envs" / env / PROMETHEUS_TARGETS

    def publish_targets(self, env: str, occupants: Mapping[str, int]) -> bool:
        """Write the occupied slots (slot → port) with their releases as ``env``'s targets."""
        releases = dict(sorted(self.programs(env).values()))  # slot → release
        slots = {slot: (port, releases.get(slot)) for slot, port in occupants.items()}
        return write_prometheus_targets(self.prometheus_targets_path(env), env, slots)

    def addresses(self, env: str) -> dict[str, tuple[str, int]]:
        """slot → (host, port) HAProxy currently sends the slot's requests to."""
        text = self.haproxy.api().command(f"show servers state be_{env}")
        out: dict[str, tuple[str, int]] = {}
        for line in text.splitlines():
            cells = line.split()
            if len(cells) > 18 and cells[1] == f"be_{env}" and not line.startswith("#"):
                out[cells[3]] = (cells[4], int(cells[18]) if cells[18].isdigit() else 0)
        return out

    def stats(self, env: str) -> list[ServerStats]:
        """HAProxy's per-slot counters for ``env``."""
        return self.router().stats(f"be_{env}")

    def frontend_rate(self, env: str) -> float:
        """Requests per second arriving at ``env``'s front door (over the last second)."""
        text = self.haproxy.api().command("show stat")
        for line in text.splitlines():
            cells = line.split(",")
            if len(cells) > 46 and cells[0] == f"fe_{env}" and cells[1] == "FRONTEND":
                return float(cells[46] or 0)  # req_rate
        return 0.0

    # -- instances --------------------------------------------------------------------------

    def programs(self, env: str) -> dict[str, tuple[str, str]]:
        """program name → (slot, release) of every instance of ``env`` supervisord knows."""
        out: dict[str, tuple[str, str]] = {}
        for info in self.supervisor.programs():
            name = str(info["group"])
            for slot in SLOTS:
                prefix = f"riskctl-{env}-{slot}-"
                if name.startswith(prefix):
                    out[name] = (slot, name.removeprefix(prefix))
        return out

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
        """Run ``release`` in ``slot`` (idempotent); return whether it was started now."""
        name = program_name(env, slot, release)
        for other, (other_slot, _rel) in self.programs(env).items():
            if other_slot == slot and other != name:
                self.supervisor.remove(other)
        if self.supervisor.state(name) in ("RUNNING", "STARTING"):
            return False
        self.supervisor.remove(name)
        venv = _release_venv(release_dir, wheel, variables)
        command = [
            a.replace("{port}", str(port)).replace("{env}", env) for a in self.spec.service_command
        ]
        command[0] = str(venv / "bin" / command[0])
        self.supervisor.add(name, command, self._process_env(venv, variables), release_dir)
        return True

    def alive(self, env: str, slot: str, release: str) -> bool:
        """Is the instance running (not crashed, not stopped)?"""
        return self.supervisor.state(program_name(env, slot, release)) in ("RUNNING", "STARTING")

    def wait_ready(
        self, env: str, slot: str, *, release: str, port: int, digest: str, timeout: float
    ) -> Readiness:
        """Wait for readiness, then smoke-test health, readiness and the version's digest."""
        import httpx  # noqa: PLC0415 - ~0.1 s; not on abort's path (issue 11, item 4)

        name = program_name(env, slot, release)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                state = self.supervisor.state(name)
                if state in ("FATAL", "EXITED", "BACKOFF", "STOPPED", "ABSENT"):
                    return Readiness(False, f"{release} crashed on start ({state})", {})
                try:
                    ready = client.get(base + self.spec.ready_path)
                    if ready.status_code == 200:
                        return self._smoke(client, base, release, digest)
                    last = f"{self.spec.ready_path} answered {ready.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.1)
        return Readiness(False, f"{release} was not ready within {timeout:g} s ({last})", {})

    def _smoke(self, client: httpx.Client, base: str, release: str, digest: str) -> Readiness:
        health = client.get(base + self.spec.health_path)
        if health.status_code != 200:
            return Readiness(False, f"smoke test: {self.spec.health_path} {health.status_code}", {})
        version = client.get(base + self.spec.version_path)
        try:
            info: dict[str, Any] = version.json() if version.status_code == 200 else {}
        except ValueError:
            info = {}
        if info.get("artifact_digest") != digest:
            return Readiness(
                False,
                f"smoke test: {self.spec.version_path} reports digest "
                f"{info.get('artifact_digest')!r}, expected {digest}",
                info,
            )
        return Readiness(True, f"{release} ready; smoke tests passed", info)

    def wait_routable(self, env: str, slot: str, timeout: float) -> bool:
        """Wait until HAProxy's own health checks mark the slot UP (so weight may move to it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for server in self.stats(env):
                if server.server == slot and server.status == "UP":
                    return True
            time.sleep(0.05)
        return False

    def stop(self, env: str, slot: str, release: str, *, drain_s: float = 1.0) -> None:
        """Drain the slot (weight already 0), stop the instance, park the slot (idempotent)."""
        backend = f"be_{env}"
        if self.haproxy.running():
            router = self.router()
            router.set_weight(backend, slot, 0)
            router.set_state(backend, slot, ServerState.DRAIN)
            deadline = time.monotonic() + drain_s
            while time.monotonic() < deadline and _in_flight(self.haproxy, backend, slot):
                time.sleep(0.05)
        self.supervisor.remove(program_name(env, slot, release))
        if self.haproxy.running():
            router = self.router()
            router.set_state(backend, slot, ServerState.MAINT)
            router.set_address(backend, slot, "127.0.0.1", _EMPTY_PORT)

    def remove_orphans(self, env: str, wanted: Mapping[str, str]) -> list[str]:
        """Stop instances of ``env`` that are not ``wanted`` (slot → release)."""
        removed = []
        for name, (slot, release) in self.programs(env).items():
            if wanted.get(slot) != release:
                self.supervisor.remove(name)
                removed.append(name)
        return removed

    # -- release commands -------------------------------------------------------------------

    def _process_env(self, venv: Path, variables: Mapping[str, str]) -> dict[str, str]:
        return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.home), **variables}

    def release_command(
        self,
        release_dir: Path,
        wheel: str,
        args: Sequence[str],
        variables: Mapping[str, str],
        *,
        timeout: float = 600.0,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``args`` (e.g. ``risk-service daily-run --date …``) from the release's venv with
        the environment's variables; never raises for a non-zero exit."""
        venv = _release_venv(release_dir, wheel, variables)
        argv = [str(venv / "bin" / args[0]), *args[1:]]
        return run(
            argv,
            cwd=release_dir,
            env=self._process_env(venv, variables),
            timeout=timeout,
            check=False,
        )

    def migrate(self, release_dir: Path, wheel: str, variables: Mapping[str, str]) -> str:
        """Apply the release's migrations to the environment's store; its output, or raise."""
        out = self.release_command(release_dir, wheel, self.spec.db_upgrade_command, variables)
        text = (out.stdout + out.stderr).decode(errors="replace").strip()
        if out.returncode != 0:
            tail = " | ".join(text.splitlines()[-2:])
            raise DeployFailedError(f"migrations failed (exit {out.returncode}): {tail}")
        return text.splitlines()[-1] if text else "migrations applied"

    def api_token(
        self, env: str, release_dir: Path, wheel: str, variables: Mapping[str, str]
    ) -> str:
        """riskctl's bearer token for ``env`` (created once in its store, kept mode 0600)."""
        path = self.home / "envs" / env / "api-token"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        name = f"riskctl-{env}-{int(time.time())}"
        args = [a.replace("{name}", name) for a in self.spec.token_command]
        out = self.release_command(release_dir, wheel, args, variables)
        lines = out.stdout.decode(errors="replace").strip().splitlines()
        if out.returncode != 0 or not lines:
            detail = out.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise DeployFailedError(f"cannot create riskctl's API token in {env}: {detail[0]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(lines[-1].strip() + "\n")
        return lines[-1].strip()

    def shutdown(self) -> None:
        """Stop HAProxy, supervisord and every instance (tests, `make demo-clean`)."""
        self.haproxy.stop()
        self.supervisor.shutdown()


def _status(current: Mapping[str, ServerStats], slot: str) -> str:
    stats = current.get(slot)
    return stats.status if stats is not None else ""


def _weight_of(current: Mapping[str, ServerStats], slot: str) -> int:
    stats = current.get(slot)
    return stats.weight if stats is not None else 0


def _in_flight(process: HAProxyProcess, backend: str, slot: str) -> bool:
    try:
        text = process.api().command("show stat")
    except RouterError:
        return False
    for line in text.splitlines():
        cells = line.split(",")
        if len(cells) > 4 and cells[0] == backend and cells[1] == slot:
            return (cells[4] or "0") != "0"  # scur: current sessions
    return False


def _release_venv(release_dir: Path, wheel: str, variables: Mapping[str, str]) -> Path:
    """The release's verified venv (imported here: starting a release is not abort's path)."""
    from riskctl.targets.releasedir import ensure_venv  # noqa: PLC0415
    from riskctl.targets.verify import audited_digest  # noqa: PLC0415

    return ensure_venv(release_dir, wheel, digest=audited_digest(variables))
