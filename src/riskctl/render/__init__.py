"""Renderings of the delivery policy for other platforms (SPEC §6): Kubernetes manifests with
Argo Rollouts. Their offline validation lives in :mod:`riskctl.render.validate`, imported on
demand (jsonschema takes a second to import)."""

from riskctl.render.k8s import ReleaseInfo, RenderOptions, render_k8s
from riskctl.render.output import file_names, split_by_kind, to_yaml

__all__ = ["ReleaseInfo", "RenderOptions", "file_names", "render_k8s", "split_by_kind", "to_yaml"]
