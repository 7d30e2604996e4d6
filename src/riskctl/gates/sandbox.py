"""Where gate commands run: a sandbox from which riskctl's keys and audit store are unreachable.

A gate runs the release's own code (its tests, its service), so it is treated as hostile
(issue 8, finding 2; SLSA Build L3: "signing key not reachable from build steps"). Signing stays
in riskctl's process; a gate command gets:

* a scrubbed environment: an allow-list of variables, nothing of riskctl's
  (:func:`scrubbed_environment`);
* a work tree outside ``$RISKCTL_HOME`` (a fresh temporary directory per ``riskctl gates`` run);
* isolation, in this order of preference (:func:`choose`):

  1. ``bwrap`` — bubblewrap (Debian package ``bubblewrap``): a new mount namespace holding only
     the system directories, riskctl's interpreter and the work tree (read-write), as an
     unprivileged uid in a new user namespace with every capability dropped; no network unless
     the gate asks for the host's (``network = "host"``). The home is simply not there.
  2. ``uid`` — when bubblewrap cannot run and riskctl runs as root: the command runs as a
     separate unprivileged uid (``setpriv``), which file permissions keep out of the home
     (``$RISKCTL_HOME`` must not be readable by others).
  3. ``none`` — no isolation. Gates whose results count in an environment other than dev are
     then refused (:class:`IsolationUnavailableError`), never run unisolated.

Before any gate runs, :func:`probe` runs a small program inside the chosen sandbox that tries to
open the key directory and the audit store; if it can, the gates are refused.
``RISKCTL_GATE_ISOLATION`` (``auto``, ``bwrap``, ``uid``, ``none``) forces a choice.

Errors::

    UsageError
    └── IsolationUnavailableError   no sandbox that hides the keys could be set up
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from riskctl._proc import run
from riskctl.errors import UsageError

__all__ = [
    "Isolation",
    "IsolationUnavailableError",
    "Sandbox",
    "choose",
    "probe",
    "scrubbed_environment",
]

#: Variables a gate may inherit from riskctl's caller (locale and time zone only).
PASSED_THROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
#: Mounted as fresh tmpfs inside the sandbox (never the host's).
PRIVATE_TMP = ("/tmp", "/var/tmp")  # noqa: S108  # nosec B108
#: The unprivileged uid/gid gates run as (``nobody``); ``RISKCTL_GATE_UID`` overrides.
DEFAULT_UID = 65534
#: System files a gate may read (only those that exist are bound). Never all of /etc: it holds
#: host keys and credentials.
ETC_FILES = (
    "alternatives",
    "ca-certificates",
    "ssl",
    "passwd",
    "group",
    "hosts",
    "resolv.conf",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "os-release",
    "mime.types",
    "protocols",
    "services",
    "fonts",  # a headless browser in a test suite
    "chromium",
    "chromium.d",
    "gitconfig",
)


class IsolationUnavailableError(UsageError):
    """No sandbox keeps the keys out of reach; gates that count are refused."""


class Isolation(StrEnum):
    BWRAP = "bwrap"
    UID = "uid"
    NONE = "none"


@dataclass(frozen=True)
class Sandbox:
    """How gate commands are wrapped: ``readable`` paths are bound read-only (bwrap),
    ``work`` read-write; ``uid`` is who commands run as (bwrap and uid modes)."""

    isolation: Isolation = Isolation.NONE
    work: Path | None = None
    readable: tuple[Path, ...] = ()
    program: str | None = None
    uid: int = DEFAULT_UID

    def wrap(self, argv: Sequence[str], *, cwd: Path, network: bool = False) -> list[str]:
        """``argv`` as it must be run (same paths inside and outside the sandbox)."""
        if self.isolation is Isolation.NONE or self.program is None:
            return list(argv)
        if self.isolation is Isolation.UID:
            ids = [f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
            return [self.program, *ids, "--no-new-privs", "--", *argv]
        return [self.program, *self._bwrap_args(cwd, network), "--", *argv]

    def _bwrap_args(self, cwd: Path, network: bool) -> list[str]:
        args = ["--unshare-all", "--unshare-user", "--uid", str(self.uid), "--gid", str(self.uid)]
        args += ["--cap-drop", "ALL", "--die-with-parent", "--new-session"]
        if network:
            args.append("--share-net")
        args += ["--ro-bind", "/usr", "/usr", *_proc_mount(), "--dev", "/dev"]
        # Private, empty /tmp and /var/tmp inside the sandbox (mount points, not files used here).
        args += ["--tmpfs", PRIVATE_TMP[0], "--tmpfs", PRIVATE_TMP[1]]
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in ETC_FILES:
            path = Path("/etc") / name
            if path.exists():
                args += ["--ro-bind", str(path), str(path)]
        for path in self.readable:
            args += ["--ro-bind", str(path), str(path)]
        if self.work is not None:
            args += ["--bind", str(self.work), str(self.work)]
        return [*args, "--chdir", str(cwd)]


def _proc_mount() -> list[str]:
    """A fresh /proc; inside a bubblewrap sandbox already (riskctl's own tests running as a gate)
    the kernel refuses a new proc mount, and the sandbox's /proc — which shows only its own
    processes — is bound instead. Never the host's: /proc/PID/root would open the host's files."""
    try:
        nested = Path("/proc/1/comm").read_text(encoding="utf-8").strip() == "bwrap"
    except OSError:
        nested = False
    return ["--ro-bind", "/proc", "/proc"] if nested else ["--proc", "/proc"]


def interpreter_paths(python: str) -> tuple[Path, ...]:
    """The directories ``python`` needs: its virtualenv (if any) and its base installation."""
    exe = Path(python)
    paths = {Path(os.path.realpath(exe)).parent.parent}
    if (exe.parent.parent / "pyvenv.cfg").is_file():
        paths.add(exe.parent.parent.resolve())
    return tuple(sorted(p for p in paths if p != Path("/usr") and p != Path("/")))


def scrubbed_environment(
    *, python: str, source: Path, work: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The only variables a gate command sees: the allow-list, never any of riskctl's."""
    bin_dir = str(Path(python).parent)
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env.update(
        {
            "PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(work / "home"),
            "TMPDIR": str(work / "tmp"),
            "PYTHONPATH": str(source / "src"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": env.get("LANG", "C.UTF-8"),
        }
    )
    env.update(extra or {})
    return {k: v for k, v in env.items() if not k.startswith("RISKCTL_")}


def _uid() -> int:
    raw = os.environ.get("RISKCTL_GATE_UID", str(DEFAULT_UID))
    if not raw.isdigit() or int(raw) == 0:
        raise UsageError(f"RISKCTL_GATE_UID must be a non-zero numeric uid, not {raw!r}")
    return int(raw)


def _works(sandbox: Sandbox, python: str) -> bool:
    assert sandbox.work is not None  # noqa: S101 - built by choose()
    argv = sandbox.wrap([python, "-c", "pass"], cwd=sandbox.work)
    try:
        return run(argv, env=_probe_env(), check=False, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _probe_env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def choose(work: Path, python: str) -> Sandbox:
    """The most isolating sandbox that actually runs here (see the module docstring)."""
    wanted = os.environ.get("RISKCTL_GATE_ISOLATION", "auto")
    if wanted not in ("auto", *Isolation):
        raise UsageError(f"RISKCTL_GATE_ISOLATION must be auto, bwrap, uid or none, not {wanted!r}")
    readable = interpreter_paths(python)
    candidates: list[Sandbox] = []
    bwrap = shutil.which("bwrap")
    if wanted in ("auto", "bwrap") and bwrap:
        candidates.append(Sandbox(Isolation.BWRAP, work, readable, bwrap, _uid()))
    setpriv = shutil.which("setpriv")
    if wanted in ("auto", "uid") and setpriv and os.geteuid() == 0:
        candidates.append(Sandbox(Isolation.UID, work, readable, setpriv, _uid()))
    for candidate in candidates:
        if candidate.isolation is Isolation.UID:
            _hand_over(work, candidate.uid)
        if _works(candidate, python):
            return candidate
    if wanted not in ("auto", "none"):
        raise IsolationUnavailableError(
            f"gate isolation {wanted!r} was asked for (RISKCTL_GATE_ISOLATION) but cannot run "
            "here: install bubblewrap (apt-get install bubblewrap) or run riskctl as root"
        )
    return Sandbox(Isolation.NONE, work, readable)


def _hand_over(work: Path, uid: int) -> None:
    """Let ``uid`` write the work tree (uid mode); the home stays root's."""
    for root, dirs, files in os.walk(work):
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), uid, uid)
    os.chown(work, uid, uid)


#: Tries to read, list or write each path given; prints what it could reach.
_PROBE = """\
import os, sys
reached = []
for path in sys.argv[1:]:
    for how, test in (("read", os.R_OK), ("write", os.W_OK)):
        try:
            if os.path.isdir(path):
                os.listdir(path)
                if how == "write":
                    planted = os.path.join(path, ".riskctl-probe")
                    open(planted, "x").close()
                    os.unlink(planted)
            else:
                open(path, "rb" if how == "read" else "r+b").close()
        except OSError:
            continue
        reached.append(how + " " + path)
print("\\n".join(reached))
sys.exit(1 if reached else 0)
"""


def probe(sandbox: Sandbox, python: str, secrets: Sequence[Path]) -> list[str]:
    """What of ``secrets`` (key directory, audit store) a gate command could read or write
    inside ``sandbox`` — empty when the sandbox holds."""
    present = [str(p) for p in secrets if p.exists()]
    if not present:
        return []
    work = sandbox.work or Path.cwd()
    argv = sandbox.wrap([python, "-c", _PROBE, *present], cwd=work)
    try:
        out = run(argv, env=_probe_env(), check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"probe could not run: {exc}"]
    if out.returncode not in (0, 1):
        return [f"probe failed (exit {out.returncode}): {out.stderr.decode(errors='replace')}"]
    return [line for line in out.stdout.decode(errors="replace").splitlines() if line]
