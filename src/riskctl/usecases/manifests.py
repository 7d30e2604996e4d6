"""``riskctl render k8s``: the policy rendered as Kubernetes manifests (SPEC §6), optionally
validated offline, returned as YAML or written one file per kind into an empty directory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskctl import render
from riskctl.config import DeliveryConfig
from riskctl.errors import UsageError
from riskctl.render import ReleaseInfo, RenderOptions, split_by_kind, to_yaml
from riskctl.usecases._result import Result
from riskctl.usecases.context import Context

__all__ = ["Manifests", "release_info", "render_manifests"]


@dataclass(frozen=True)
class Manifests(Result):
    """What was rendered: ``manifests`` (and ``yaml``) when printed, ``files`` when written."""

    env: str
    namespace: str
    image: str
    release: str | None
    validated: str | None
    kinds: tuple[str, ...]
    manifests: tuple[Mapping[str, Any], ...] | None
    files: tuple[str, ...] | None
    yaml: str

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        del out["yaml"]  # the text form, not part of the JSON
        for key in ("manifests", "files"):
            if out[key] is None:
                del out[key]
        return out


def release_info(ctx: Context, ref: str) -> ReleaseInfo:
    """What ``/version`` should report for the release (id or digest) ``ref``."""
    found = ctx.ledger().release(ref)
    return ReleaseInfo(found.id, found.version, found.commit, found.digest)


def render_manifests(
    policy: DeliveryConfig,
    options: RenderOptions,
    *,
    validate_for: str | None = None,
    out: str | None = None,
) -> Manifests:
    """Render ``options.env``'s manifests; with ``validate_for`` (a Kubernetes version) check them
    offline; with ``out`` write one file per kind into that new or empty directory."""
    docs = render.render_k8s(policy, options)  # looked up now: tests may stand in for it
    if validate_for is not None:
        from riskctl.render.validate import check_manifests  # noqa: PLC0415 - jsonschema is slow

        check_manifests(docs, validate_for)
    files: tuple[str, ...] | None = None
    if out is not None:
        target = Path(out)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise UsageError(f"--out {out}: not an empty directory (stale manifests would apply)")
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in split_by_kind(docs):
            (target / name).write_text(text, encoding="utf-8")
            written.append(str(target / name))
        files = tuple(written)
    return Manifests(
        env=options.env,
        namespace=options.resolved_namespace,
        image=options.image,
        release=options.release.id if options.release else None,
        validated=validate_for,
        kinds=tuple(str(d["kind"]) for d in docs),
        manifests=tuple(docs) if out is None else None,
        files=files,
        yaml=to_yaml(docs) if out is None else "",
    )
