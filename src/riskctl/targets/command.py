"""A deploy carried out by a command riskctl runs but does not drive (``riskctl deploy --via``).

For environments riskctl does not run itself — manifests from ``riskctl render k8s`` applied to a
cluster where Argo Rollouts does the canary, say — the policy, the audit trail, notifications and
DORA still go through ``riskctl deploy``: it checks the policy, records ``deploy.started``, runs
the command, and records ``deploy.succeeded`` or ``deploy.failed`` from its exit status.

The command gets the release in its environment (``RISKCTL_RELEASE``, ``RISKCTL_DIGEST``,
``RISKCTL_VERSION``, ``RISKCTL_ENV``, ``RISKCTL_STRATEGY``); its output goes to riskctl's stderr
(the CI log) and not into the audit trail, which records the command line and the exit status —
so pass secrets through the environment, never as arguments.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence

from riskctl._proc import which
from riskctl.errors import UsageError
from riskctl.model import Strategy
from riskctl.targets.interface import InstanceStatus, TargetOutcome, TargetRequest

__all__ = ["CommandTarget", "parse_command"]


def parse_command(text: str) -> tuple[str, ...]:
    """``--via``'s text as an argument list (shell quoting rules, no shell), or a usage error."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(f"--via: cannot parse {text!r}: {exc}") from exc
    if not argv:
        raise UsageError("--via needs a command")
    return argv


class CommandTarget:
    """Runs one command per deploy; success is its exit status 0."""

    strategies = frozenset(Strategy)  # the command decides how; riskctl records what was asked

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = tuple(argv)
        # Resolved now, so a missing program is a usage error before anything is recorded.
        self.program = argv[0] if os.sep in argv[0] else which(argv[0])

    def deploy(self, request: TargetRequest) -> TargetOutcome:
        release = request.release
        env = {
            **os.environ,
            "RISKCTL_RELEASE": release.id,
            "RISKCTL_DIGEST": release.digest,
            "RISKCTL_VERSION": release.version,
            "RISKCTL_ENV": request.env,
            "RISKCTL_STRATEGY": str(request.strategy),
        }
        shown = shlex.join(self.argv)
        try:
            code = _run_streamed([self.program, *self.argv[1:]], env)
        except OSError as exc:
            message = f"`{shown}` could not be started: {exc.strerror or exc}"
            return TargetOutcome(False, message, (message,), details=_details(None))
        ok = code == 0
        message = (
            f"`{shown}` deployed {release.id} to {request.env}"
            if ok
            else f"`{shown}` exited with status {code}"
        )
        return TargetOutcome(ok, message, (f"ran `{shown}`", message), details=_details(code))

    def status(self, env: str, port: int) -> InstanceStatus:
        """riskctl does not run this environment: the command's system knows what runs there."""
        return InstanceStatus(env, None, "external", None, {"via": shlex.join(self.argv)})


def _run_streamed(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv``, copying its output to our stderr as it comes (the operator or the CI log
    sees it live), and return its exit status. How long it may take is the caller's (a CI job's
    timeout); riskctl waits."""
    with subprocess.Popen(  # noqa: S603 - argv list, no shell, program resolved by the caller
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as proc:
        assert proc.stdout is not None  # noqa: S101 - stdout=PIPE above
        raw = getattr(sys.stderr, "buffer", None)  # bytes as they come: any encoding passes
        for line in proc.stdout:
            if raw is not None:
                raw.write(line)
                raw.flush()
            else:
                sys.stderr.write(line.decode(errors="replace"))
                sys.stderr.flush()
        return proc.wait()


def _details(code: int | None) -> dict[str, object]:
    return {"phase": "Healthy" if code == 0 else "Failed", "exit_code": code}
