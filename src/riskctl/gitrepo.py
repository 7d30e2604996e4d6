"""Read-only git queries on the repository being released (never modifies index or worktree)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from riskctl._proc import run, which
from riskctl.errors import UsageError

__all__ = ["Commit", "GitRepo"]


@dataclass(frozen=True)
class Commit:
    """The facts of one commit that a release records."""

    sha: str
    author: str
    email: str
    epoch: int


class GitRepo:
    """A working tree: its HEAD, its dirtiness, exports and diffs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._git = which("git")

    @classmethod
    def discover(cls, start: Path) -> GitRepo:
        """The repository containing ``start``, or a usage error."""
        try:
            out = run([which("git"), "rev-parse", "--show-toplevel"], cwd=start)
        except subprocess.CalledProcessError:
            raise UsageError(f"{start} is not inside a git repository") from None
        return cls(Path(out.stdout.decode().strip()))

    def git(self, *args: str) -> str:
        try:
            return run([self._git, *args], cwd=self.root).stdout.decode()
        except subprocess.CalledProcessError as exc:
            message = exc.stderr.decode(errors="replace").strip().splitlines()
            raise UsageError(f"git {args[0]} failed: {message[0] if message else exc}") from None

    def head(self) -> Commit:
        try:
            out = self.git("log", "-1", "--format=%H%x00%an%x00%ae%x00%ct")
        except UsageError:
            raise UsageError("the repository has no commits yet") from None
        sha, author, email, epoch = out.strip().split("\x00")
        return Commit(sha, author, email, int(epoch))

    def dirty_paths(self) -> list[str]:
        """Modified, staged or untracked (not ignored) paths."""
        out = self.git("status", "--porcelain", "--untracked-files=all")
        return [line[3:] for line in out.splitlines() if line.strip()]

    def has_commit(self, sha: str) -> bool:
        try:
            self.git("cat-file", "-e", f"{sha}^{{commit}}")
        except UsageError:
            return False
        return True

    def changed_files(self, base: str, *, worktree: bool) -> list[str]:
        """Paths changed since ``base``: up to HEAD, or up to the working tree if ``worktree``."""
        args = ["diff", "--name-only", base] if worktree else ["diff", "--name-only", base, "HEAD"]
        files = set(self.git(*args).splitlines())
        if worktree:
            files.update(self.git("ls-files", "--others", "--exclude-standard").splitlines())
        return sorted(f for f in files if f)

    def tracked_files(self) -> list[str]:
        return [f for f in self.git("ls-files").splitlines() if f]

    def export_commit(self, sha: str, dest: Path) -> None:
        """Write the tree of ``sha`` into ``dest`` (``git archive``; no checkout)."""
        data = run([self._git, "archive", "--format=tar", sha], cwd=self.root).stdout
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")

    def export_worktree(self, dest: Path) -> None:
        """Copy tracked and untracked-but-not-ignored files as they are on disk."""
        listing = self.git("ls-files", "--cached", "--others", "--exclude-standard")
        for rel in sorted(set(listing.splitlines())):
            src = self.root / rel
            if not rel or not src.is_file():
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)

    def remote_url(self) -> str | None:
        try:
            url = self.git("remote", "get-url", "origin").strip()
        except UsageError:
            return None
        return url or None
