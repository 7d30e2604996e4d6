"""Staging as Terraform (infra/terraform/staging): `make lint-terraform` (python-hcl2, then
checkov) passes on it and fails on a planted bad file; its selectors match what riskctl renders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from riskctl.config import load_config
from riskctl.render import RenderOptions, render_k8s
from tests.riskctl.render.support import DELIVERY_TOML, IMAGE

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "infra" / "terraform" / "staging"

pytestmark = pytest.mark.slow

#: A Deployment checkov must flag: privileged, root, no limits, no probes, image :latest.
FLAGGED = """
resource "kubernetes_deployment_v1" "careless" {
  metadata {
    name      = "careless"
    namespace = "risk-service-staging"
  }
  spec {
    selector {
      match_labels = { app = "careless" }
    }
    template {
      metadata {
        labels = { app = "careless" }
      }
      spec {
        container {
          name  = "careless"
          image = "busybox:latest"
          security_context {
            privileged = true
          }
        }
      }
    }
  }
}
"""


def lint(directory: Path) -> subprocess.CompletedProcess[str]:
    """`make lint-terraform TERRAFORM_DIR=directory`, as `make lint` runs it."""
    return subprocess.run(
        ["make", "--no-print-directory", "lint-terraform", f"TERRAFORM_DIR={directory}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the staging module to plant files in."""
    target = tmp_path / "staging"
    shutil.copytree(STAGING, target, ignore=shutil.ignore_patterns(".terraform", "manifests"))
    return target


def test_staging_passes_the_lint() -> None:
    """The committed staging module parses and has no checkov finding."""
    done = lint(STAGING)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Failed checks: 0" in done.stdout


def test_a_file_that_does_not_parse_fails_the_lint(copy: Path) -> None:
    """A planted .tf with a syntax error fails the hcl2 step, naming the file."""
    (copy / "broken.tf").write_text('resource "kubernetes_namespace_v1" "x" {\n  metadata {\n')
    done = lint(copy)
    assert done.returncode != 0
    assert "broken.tf" in done.stderr


def test_a_file_checkov_flags_fails_the_lint(copy: Path) -> None:
    """A planted privileged Deployment parses but fails the checkov step."""
    (copy / "careless.tf").write_text(FLAGGED)
    done = lint(copy)
    assert done.returncode != 0
    assert "terraform: 8 files parsed, 0 with errors" in done.stdout
    assert "CKV_K8S_16" in done.stdout  # "Container should not be privileged"
    assert "kubernetes_deployment_v1.careless" in done.stdout


def _module() -> dict[str, Any]:
    """Every block of the staging module, merged by block type."""
    merged: dict[str, Any] = {}
    for path in sorted(STAGING.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for key, blocks in hcl2.load(handle).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def _plain(value: Any) -> Any:
    """A parsed HCL value without the quotes python-hcl2 keeps around strings and keys."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _local(module: dict[str, Any], name: str) -> Any:
    """The value of ``local.name``."""
    for block in module["locals"]:
        if name in block:
            return _plain(block[name])
    raise KeyError(name)


def test_selectors_and_names_match_the_rendered_staging_manifests() -> None:
    """The network policies select the pods riskctl renders; the ConfigMap and account match."""
    rendered = render_k8s(
        load_config(DELIVERY_TOML).config, RenderOptions(env="staging", image=IMAGE)
    )
    module = _module()
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in rendered}
    workload = next(d for d in rendered if d["kind"] in {"Rollout", "Deployment"})
    cron = by_kind[("CronJob", "risk-service-daily-run")]
    api_labels = workload["spec"]["template"]["metadata"]["labels"]
    run_labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert _local(module, "api_pods").items() <= api_labels.items()
    assert _local(module, "daily_run_pods").items() <= run_labels.items()
    assert cron["spec"]["timeZone"] == "America/New_York"
    for pod in (workload, cron["spec"]["jobTemplate"]["spec"]["template"]):
        spec = pod["spec"] if "template" not in pod["spec"] else pod["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == "risk-service"
    accounts = {
        name: body
        for block in _plain(module["resource"])
        for kind, named in block.items()
        if kind == "kubernetes_service_account_v1"
        for name, body in named.items()
    }
    assert accounts["risk_service"]["metadata"][0]["name"] == "risk-service"
    assert ("ConfigMap", "risk-service-config") in by_kind
    namespace = next(v for v in _plain(module["variable"]) if "namespace" in v)["namespace"]
    assert namespace["default"] == workload["metadata"]["namespace"]
