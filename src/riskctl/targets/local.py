"""The local target: each environment's instance runs from its release virtualenv under
supervisord on this host. This module implements ``recreate`` (stop old, start new, check health,
restore the old one on failure)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from riskctl.config import TargetSpec
from riskctl.model import Strategy
from riskctl.targets.interface import InstanceStatus, TargetOutcome, TargetRequest
from riskctl.targets.releasedir import ensure_venv
from riskctl.targets.supervisor import Supervisor

__all__ = ["LocalTarget"]


def _program(env: str, release_id: str) -> str:
    return f"riskctl-{env}-{release_id}"


class LocalTarget:
    """Release instances supervised by supervisord on 127.0.0.1."""

    strategies = frozenset({Strategy.RECREATE})

    def __init__(self, home: Path, spec: TargetSpec) -> None:
        self.home = home
        self.spec = spec
        self.supervisor = Supervisor(home / "supervisor")

    def _programs_for(self, env: str) -> list[str]:
        prefix = f"riskctl-{env}-"
        return sorted(
            {p["group"] for p in self.supervisor.programs() if p["group"].startswith(prefix)}
        )

    def _start(
        self,
        req: TargetRequest,
        release_dir: Path,
        release_id: str,
        wheel: str,
        variables: Mapping[str, str],
    ) -> str:
        venv = ensure_venv(release_dir, wheel)
        bin_dir = venv / "bin"
        command = [
            a.replace("{port}", str(req.port)).replace("{env}", req.env)
            for a in self.spec.service_command
        ]
        command[0] = str(bin_dir / command[0])
        name = _program(req.env, release_id)
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **variables}
        self.supervisor.add(name, command, env, release_dir)
        return name

    def _healthy(self, port: int, deadline: float, name: str) -> tuple[bool, dict[str, Any]]:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.supervisor.state(name) in ("FATAL", "EXITED", "BACKOFF"):
                    return False, {}
                try:
                    if client.get(base + self.spec.health_path).status_code == 200:
                        version = client.get(base + self.spec.version_path)
                        info = version.json() if version.status_code == 200 else {}
                        return True, info if isinstance(info, dict) else {}
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.2)
        return False, {}

    def deploy(self, request: TargetRequest) -> TargetOutcome:
        if request.strategy not in self.strategies:  # the caller checks first; belt and braces
            return TargetOutcome(False, f"strategy {request.strategy} is not supported here")
        steps: list[str] = []
        if self.supervisor.ensure_running():
            steps.append("started supervisord")
        for old in self._programs_for(request.env):
            self.supervisor.remove(old)
            steps.append(f"stopped {old}")
        name = self._start(
            request,
            request.release_dir,
            request.release.id,
            request.release.wheel,
            request.variables,
        )
        steps.append(f"started {name} on port {request.port}")
        deadline = time.monotonic() + self.spec.start_timeout_s
        ok, version = self._healthy(request.port, deadline, name)
        if ok:
            steps.append(f"{self.spec.health_path} answered 200")
            return TargetOutcome(
                True,
                f"{request.release.id} is serving {request.env}",
                tuple(steps),
                version=version,
            )
        steps.append(f"{name} did not become healthy; stopped it")
        self.supervisor.remove(name)
        if request.previous is None or request.previous_dir is None:
            return TargetOutcome(
                False, f"{request.release.id} did not become healthy", tuple(steps)
            )
        old = self._start(
            request,
            request.previous_dir,
            request.previous.id,
            request.previous.wheel,
            request.previous_variables,
        )
        restored, _ = self._healthy(request.port, time.monotonic() + self.spec.start_timeout_s, old)
        steps.append(f"restored {request.previous.id}: {'healthy' if restored else 'NOT healthy'}")
        return TargetOutcome(
            False,
            f"{request.release.id} did not become healthy; rolled back to {request.previous.id}",
            tuple(steps),
            rolled_back=True,
        )

    def status(self, env: str, port: int) -> InstanceStatus:
        programs = self._programs_for(env)
        if not programs:
            return InstanceStatus(env, None, "absent", None)
        name = programs[-1]
        release = name.removeprefix(f"riskctl-{env}-")
        try:
            healthy = (
                httpx.get(
                    f"http://127.0.0.1:{port}{self.spec.health_path}", timeout=1.0
                ).status_code
                == 200
            )
        except httpx.HTTPError:
            healthy = False
        return InstanceStatus(env, release, self.supervisor.state(name).lower(), healthy)

    def shutdown(self) -> None:
        self.supervisor.shutdown()
