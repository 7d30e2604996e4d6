"""The commands that set trust up: ``riskctl keygen`` (a person's key) and ``riskctl policy pin``
(put a policy in force, signed by an admin).

A pin may state what the admin means to pin, checked before anything is written:

* ``expect_digest`` — the file's ``sha256:`` digest, e.g. as reviewed in the pull request or
  computed with ``sha256sum``: a file that changed in between is refused;
* ``expect_ref`` — a commit (or a ref to one) of the protected default branch: the file must be
  byte for byte the one committed there at the same path, so what is pinned is what was
  reviewed and merged, not a working-tree edit.

Both are recorded in the signed pin statement (``expected_digest``, ``expected_ref``,
``commit``) and in the ``policy.pinned`` audit entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskctl.config import LoadedConfig
from riskctl.errors import UsageError
from riskctl.gitrepo import GitRepo
from riskctl.trust.keys import find_private_key, generate_key, public_line
from riskctl.trust.pin import PinError, pin_policy
from riskctl.usecases.context import Context as Session

__all__ = ["check_expectations", "keygen", "pin"]

_DIGEST = re.compile(r"(?:sha256:)?([0-9a-f]{64})")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@{}~^-]*")


def keygen(name: str, out: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """Create ``name``'s private key at ``out``, else ``$RISKCTL_KEYRING/NAME``; return the public
    line to paste into the policy's ``identities.NAME.keys``."""
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"--as {name!r}: an identity name, e.g. --as eng-1")
    if out:
        path = Path(out)
    elif environ.get("RISKCTL_KEYRING"):
        path = Path(environ["RISKCTL_KEYRING"]) / name
    else:
        raise UsageError("say where the private key goes: --out FILE or RISKCTL_KEYRING=DIR")
    key = generate_key(path)
    return {"identity": name, "private_key": str(path), "public_key": public_line(key.public, name)}


def _expected_digest(text: str) -> str:
    match = _DIGEST.fullmatch(text.strip().lower())
    if match is None:
        raise UsageError(
            f"--expect-digest {text!r}: a SHA-256 digest, sha256:<64 hex> (or the 64 hex "
            "digits sha256sum prints)"
        )
    return "sha256:" + match[1]


def _committed_digest(repo: GitRepo, ref: str, loaded: LoadedConfig) -> tuple[str, str, str]:
    """(commit, path in the repository, sha256 of the file as committed there)."""
    if not _REF.fullmatch(ref) or ".." in ref:
        raise UsageError(f"--expect-ref {ref!r}: a commit id or a ref such as origin/main")
    try:
        relative = loaded.path.resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        raise UsageError(
            f"{loaded.path} is not inside the repository {repo.root}: --expect-ref compares "
            "the file with the one committed at that ref"
        ) from None
    try:
        commit = repo.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except UsageError:
        raise UsageError(f"--expect-ref {ref!r} names no commit in {repo.root}") from None
    try:
        committed = repo.git("cat-file", "blob", f"{commit}:{relative}")
    except UsageError:
        raise PinError(
            f"{relative} does not exist at {ref} ({commit[:12]}): pin refused, nothing written"
        ) from None
    except UnicodeDecodeError:
        raise PinError(f"{relative} at {ref} is not UTF-8 text: pin refused") from None
    return commit, relative, "sha256:" + hashlib.sha256(committed.encode()).hexdigest()


def check_expectations(
    loaded: LoadedConfig,
    repo: GitRepo | None,
    *,
    expect_digest: str | None = None,
    expect_ref: str | None = None,
) -> dict[str, str]:
    """What the admin said they pin, checked against ``loaded``: :class:`PinError` on a
    mismatch; the facts to record in the pin otherwise."""
    facts: dict[str, str] = {}
    if expect_digest is not None:
        wanted = _expected_digest(expect_digest)
        if wanted != loaded.digest:
            raise PinError(
                f"{loaded.path} is {loaded.digest}, not the expected {wanted}: pin refused, "
                "nothing written"
            )
        facts["expected_digest"] = wanted
    if expect_ref is not None:
        if repo is None:
            raise UsageError("--expect-ref needs a git repository: run it in the checkout")
        commit, relative, committed = _committed_digest(repo, expect_ref, loaded)
        if committed != loaded.digest:
            raise PinError(
                f"{loaded.path} ({loaded.digest}) is not {relative} as committed at "
                f"{expect_ref} ({commit[:12]}: {committed}): pin refused, nothing written"
            )
        facts.update(expected_ref=expect_ref, commit=commit)
    return facts


def pin(
    session: Session, *, expect_digest: str | None = None, expect_ref: str | None = None
) -> dict[str, Any]:
    """Pin the session's policy file as the policy in force (an admin's signed statement),
    after checking it is the file the admin means (``expect_digest``, ``expect_ref``)."""
    trust = session.trust
    name = trust.actor
    if not name:
        raise UsageError("no acting identity: pass --as ADMIN")
    current = trust.pinned
    if trust.pin_error:
        raise UsageError(trust.pin_error)
    expected = check_expectations(
        session.loaded, session.repo, expect_digest=expect_digest, expect_ref=expect_ref
    )
    # The signer's key is checked against the authority (the pinned policy, or for the first
    # pin the file being pinned): TrustContext would check it against the pinned one only.
    key = find_private_key(name, trust.key_path, trust.environ)
    pinned = pin_policy(
        session.home,
        session.loaded,
        current,
        signer=name,
        key=key,
        now=session.clock.now(),
        expectations=expected,
    )
    trust.pinned = pinned
    session.record(
        "policy.pinned",
        details={
            "policy": pinned.digest,
            "previous": current.digest if current else None,
            "file": str(session.loaded.path),
            **expected,
        },
    )
    return {
        "policy": pinned.digest,
        "previous": current.digest if current else None,
        "signer": name,
        "pins": pinned.pins,
        **expected,
    }
