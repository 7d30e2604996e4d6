"""`riskctl render k8s`: output on stdout or in a directory, validation, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

import riskctl.render as render_package
from riskctl.cli import app
from tests.riskctl.render.support import DELIVERY_TOML, IMAGE, PROMETHEUS


def run_cli(*args: str, **env: str) -> Result:
    """Run riskctl in-process against the repository's delivery.toml."""
    return CliRunner().invoke(
        app, [*args, "--config", str(DELIVERY_TOML)], env=env or None, catch_exceptions=False
    )


def k8s(env: str, *extra: str, **environ: str) -> Result:
    return run_cli(
        "render",
        "k8s",
        "--env",
        env,
        "--image",
        IMAGE,
        "--prometheus-url",
        PROMETHEUS,
        *extra,
        **environ,
    )


def test_prints_valid_multi_document_yaml(tmp_path: Path) -> None:
    """With --validate, prod's manifests go to stdout as one YAML stream and exit 0."""
    result = k8s("prod", "--validate", "--create-namespace")
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs][:2] == ["Namespace", "ServiceAccount"]
    rollout = next(d for d in docs if d["kind"] == "Rollout")
    weights = [
        s["setWeight"] for s in rollout["spec"]["strategy"]["canary"]["steps"] if "setWeight" in s
    ]
    assert weights == [10, 50, 100]


def test_unknown_environment_exits_2() -> None:
    """An environment delivery.toml does not define is a usage error (exit 2), named."""
    result = k8s("qa")
    assert result.exit_code == 2
    assert "unknown environment 'qa' (known: dev, staging, prod)" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("render", "k8s", "--env", "dev"),  # no --image
        ("render", "k8s", "--env", "dev", "--image", "risk-service"),  # floating image
        ("render", "k8s", "--env", "prod", "--image", IMAGE),  # canary without Prometheus
        ("render", "k8s", "--env", "dev", "--image", IMAGE, "--replicas", "0"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    """A missing or unusable option is a usage error (exit 2) and prints no manifests."""
    result = run_cli(*args)
    assert result.exit_code == 2
    assert "apiVersion" not in result.stdout


def test_out_writes_one_file_per_kind(tmp_path: Path) -> None:
    """--out DIR writes one numbered file per kind, each a valid YAML stream of that kind; a
    second render into the same, now non-empty, directory is refused (exit 2)."""
    out = tmp_path / "manifests"
    result = k8s("staging", "--out", str(out), "--validate")
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "00-serviceaccount.yaml",
        "01-configmap.yaml",
        "02-service.yaml",
        "03-analysistemplate.yaml",
        "04-rollout.yaml",
        "05-poddisruptionbudget.yaml",
        "06-cronjob.yaml",
    ]
    for name in files:
        kinds = {d["kind"].lower() for d in yaml.safe_load_all((out / name).read_text())}
        assert kinds == {name.split("-", 1)[1].removesuffix(".yaml")}
    services = list(yaml.safe_load_all((out / "02-service.yaml").read_text()))
    assert [s["metadata"]["name"] for s in services] == ["risk-service", "risk-service-preview"]
    assert "wrote 7 files" in result.stdout

    again = k8s("staging", "--out", str(out))
    assert again.exit_code == 2
    assert "not an empty directory" in again.stderr


def test_json_output_carries_the_manifests() -> None:
    """--json prints the manifests and what was rendered as one JSON object."""
    result = k8s("dev", "--json", "--validate")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["env"] == "dev"
    assert payload["namespace"] == "risk-service-dev"
    assert payload["validated"] == "1.30"
    assert [m["kind"] for m in payload["manifests"]] == payload["kinds"]
    assert "Deployment" in payload["kinds"]


def test_secret_environment_values_never_reach_the_output(tmp_path: Path) -> None:
    """With the service's secrets set in riskctl's environment, neither stdout, the --json
    payload nor the written files contain them."""
    secrets = {
        "RISK_SERVICE_DATABASE_URL": "postgresql://risk:hunter2-s3cret@db.internal/risk",
        "RISK_SERVICE_ANONYMIZE_KEY": "anonymize-key-0xdeadbeef",
    }
    outputs = [
        k8s("prod", **secrets).stdout,
        k8s("prod", "--json", **secrets).stdout,
    ]
    assert k8s("prod", "--out", str(tmp_path / "m"), **secrets).exit_code == 0
    outputs += [p.read_text() for p in (tmp_path / "m").iterdir()]
    assert all(outputs)
    for text in outputs:
        for value in secrets.values():
            assert value not in text
    assert "secretKeyRef" in outputs[0]


def test_a_schema_violation_exits_1_with_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a rendered manifest violates its schema, --validate exits 1, prints the bad field's
    path and no manifests."""
    real = render_package.render_k8s

    def broken(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        docs = real(*args, **kwargs)
        rollout = next(d for d in docs if d["kind"] == "Rollout")
        rollout["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = "10%"
        return docs

    monkeypatch.setattr(render_package, "render_k8s", broken)
    result = k8s("prod", "--validate")
    assert result.exit_code == 1
    assert "Rollout/risk-service: spec.strategy.canary.steps[0].setWeight" in result.stderr
    assert result.stdout == ""
    unchecked = k8s("prod")  # without --validate the same output is printed
    assert unchecked.exit_code == 0
    assert "setWeight: 10%" in unchecked.stdout


def test_unknown_release_exits_2(tmp_path: Path) -> None:
    """--release must name a release riskctl built (looked up in its audit trail)."""
    result = k8s("dev", "--release", "rel-does-not-exist", RISKCTL_HOME=str(tmp_path / "home"))
    assert result.exit_code == 2
    assert "unknown release 'rel-does-not-exist'" in result.stderr
