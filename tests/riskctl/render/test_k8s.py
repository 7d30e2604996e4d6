"""The Kubernetes rendering as a pure function: the repository's policy in, manifest dicts out."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from riskctl.config import DeliveryConfig
from riskctl.errors import ConfigError, UsageError
from riskctl.render import ReleaseInfo, render_k8s, to_yaml
from riskctl.render.k8s import (
    CONTAINER_PORT,
    DAILY_RUN_SCHEDULE,
    DAILY_RUN_TIME_ZONE,
    DATABASE_URL_KEY,
    SECRET_NAME,
    RenderOptions,
    daily_run_script,
)
from riskctl.render.output import split_by_kind
from tests.riskctl.render.conftest import Render
from tests.riskctl.render.support import ENVIRONMENTS, IMAGE, only, pod_specs, with_env

ANALYSIS = {
    "analysis": {
        "templates": [{"templateName": "risk-service-canary"}],
        "args": [
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
        ],
    }
}


def _weights(steps: list[dict[str, Any]]) -> list[int]:
    return [s["setWeight"] for s in steps if "setWeight" in s]


# --- workloads per strategy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "workload", "services"),
    [
        ("dev", "Deployment", ["risk-service"]),
        ("staging", "Rollout", ["risk-service", "risk-service-preview"]),
        ("prod", "Rollout", ["risk-service", "risk-service-stable", "risk-service-canary"]),
    ],
)
def test_each_environment_gets_its_strategys_objects(
    render: Render, env: str, workload: str, services: list[str]
) -> None:
    """dev renders a Deployment, staging and prod a Rollout, each with its Services, a PDB and
    the daily-run CronJob, all in the environment's namespace."""
    docs = render(env)
    kinds = {d["kind"] for d in docs}
    assert workload in kinds
    assert {"ServiceAccount", "ConfigMap", "PodDisruptionBudget", "CronJob"} <= kinds
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Service"] == services
    assert {d["metadata"]["namespace"] for d in docs} == {f"risk-service-{env}"}


def test_recreate_is_a_plain_deployment(render: Render) -> None:
    """dev's recreate strategy is an apps/v1 Deployment with the Recreate strategy, no Rollout."""
    docs = render("dev")
    deployment = only(docs, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 1
    assert not [d for d in docs if d["kind"] in ("Rollout", "AnalysisTemplate")]


def test_canary_steps_are_the_policys_weights_with_analysis(
    render: Render, policy: DeliveryConfig
) -> None:
    """prod's Rollout steps are delivery.toml's canary_steps (10, 50, 100) with an analysis after
    each partial weight, like the local controller's plan."""
    rollout = only(render("prod"), "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    assert list(policy.environments["prod"].canary_steps) == [10, 50, 100]
    assert canary["steps"] == [
        {"setWeight": 10},
        ANALYSIS,
        {"setWeight": 50},
        ANALYSIS,
        {"setWeight": 100},
    ]
    assert canary["stableService"] == "risk-service-stable"
    assert canary["canaryService"] == "risk-service-canary"


def test_canary_steps_follow_a_changed_policy(render: Render, policy: DeliveryConfig) -> None:
    """Other weights, a manual pause after 20 % and a pause before each analysis come from the
    policy file, in the local controller's order."""
    config = with_env(
        policy,
        "prod",
        canary_steps=(20, 60),
        analysis={"manual_pause_after": (20,), "pause_seconds": 30.5},
    )
    steps = only(render("prod", config), "Rollout")["spec"]["strategy"]["canary"]["steps"]
    assert steps == [
        {"setWeight": 20},
        {"pause": {}},
        {"pause": {"duration": "31s"}},
        ANALYSIS,
        {"setWeight": 60},
        {"pause": {"duration": "31s"}},
        ANALYSIS,
        {"setWeight": 100},
    ]


def test_fast_track_takes_the_fast_tracks_steps(render: Render, policy: DeliveryConfig) -> None:
    """--fast-track renders change_classes.fast_track.canary_steps (50, 100)."""
    steps = only(render("prod", fast_track=True), "Rollout")["spec"]["strategy"]["canary"]["steps"]
    assert _weights(steps) == list(policy.change_classes.fast_track.canary_steps) == [50, 100]


def test_blue_green_keeps_the_previous_colour_and_checks_the_preview(
    render: Render, policy: DeliveryConfig
) -> None:
    """staging's Rollout is blue-green: active/preview Services, scaleDownDelaySeconds from
    keep_previous_s, and a pre-promotion analysis whose template is rendered too."""
    docs = render("staging")
    blue_green = only(docs, "Rollout")["spec"]["strategy"]["blueGreen"]
    assert blue_green["activeService"] == "risk-service"
    assert blue_green["previewService"] == "risk-service-preview"
    assert blue_green["scaleDownDelaySeconds"] == policy.environments["staging"].keep_previous_s
    assert blue_green["scaleDownDelaySeconds"] == 600
    template = blue_green["prePromotionAnalysis"]["templates"][0]["templateName"]
    metric = only(docs, "AnalysisTemplate", template)["spec"]["metrics"][0]
    web = metric["provider"]["web"]
    assert web["url"].startswith("http://risk-service-preview.risk-service-staging.svc")
    assert web["url"].endswith(f":{CONTAINER_PORT}/readyz")
    assert metric["count"] == 10  # staging analysis: 10 s at 1 s intervals


def test_rollout_services_exist(render: Render) -> None:
    """Every Service a Rollout names is rendered, and every Service selects the API pods."""
    for env in ("staging", "prod"):
        docs = render(env)
        strategy = only(docs, "Rollout")["spec"]["strategy"]
        named = {v for s in strategy.values() for k, v in s.items() if k.endswith("Service")}
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        assert named <= set(services)
        for service in services.values():
            assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"


# --- analysis ------------------------------------------------------------------------------


def _metric(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    metrics = only(docs, "AnalysisTemplate", "risk-service-canary")["spec"]["metrics"]
    return next(m for m in metrics if m["name"] == name)


def test_canary_analysis_uses_the_policys_thresholds(render: Render) -> None:
    """Error rate, error increase, p99 and sample size are judged against delivery.toml's
    max_error_rate (0.05), max_error_increase (0.01), max_p99_seconds (2.0), min_samples (100)."""
    docs = render("prod")
    assert _metric(docs, "error-rate")["successCondition"] == "result[0] <= 0.05"
    assert _metric(docs, "error-rate")["failureCondition"] == "result[0] > 0.05"
    assert _metric(docs, "error-increase")["successCondition"] == "result[0] <= 0.01"
    assert _metric(docs, "p99-latency")["successCondition"] == "result[0] <= 2"
    assert _metric(docs, "sample-size")["successCondition"] == "result[0] >= 100"
    # Too few samples pauses (Inconclusive); it never fails the release.
    assert _metric(docs, "sample-size")["failureCondition"] == "false"
    for metric in only(docs, "AnalysisTemplate")["spec"]["metrics"]:
        assert metric["failureLimit"] == 0
        assert (
            metric["provider"]["prometheus"]["address"] == "http://prometheus.monitoring.svc:9090"
        )


def test_analysis_thresholds_follow_a_changed_policy(
    render: Render, policy: DeliveryConfig
) -> None:
    """Changing a threshold in the policy changes the rendered condition and query."""
    config = with_env(
        policy,
        "prod",
        analysis={
            "max_error_rate": 0.125,
            "max_error_increase": 1e-6,
            "max_latency_ratio": 2.5,
            "min_latency_increase_ms": 25,
        },
    )
    docs = render("prod", config)
    assert _metric(docs, "error-rate")["successCondition"] == "result[0] <= 0.125"
    # Plain decimals: no exponent for Prometheus or Argo's expression language to misread.
    assert _metric(docs, "error-increase")["successCondition"] == "result[0] <= 0.000001"
    vs_stable = _metric(docs, "p99-vs-stable")["provider"]["prometheus"]["query"]
    assert "* 2.5)" in vs_stable
    assert "+ 0.025)" in vs_stable


def test_queries_use_the_services_real_metric_names(render: Render) -> None:
    """The queries name the counter and histogram risk_service.api.metrics exports, only /v1
    routes, and compare the canary's pod hash with the stable one's."""
    from risk_service.api.metrics import LATENCY, REQUESTS  # noqa: PLC0415

    requests = REQUESTS.describe()[0].name + "_total"
    buckets = LATENCY.describe()[0].name + "_bucket"
    docs = render("prod")
    errors = _metric(docs, "error-increase")["provider"]["prometheus"]["query"]
    latency = _metric(docs, "p99-latency")["provider"]["prometheus"]["query"]
    assert f"{requests}{{" in errors
    assert f"{buckets}{{" in latency
    assert 'route=~"/v1/.*"' in errors
    assert '"{{args.canary-hash}}"' in errors
    assert '"{{args.stable-hash}}"' in errors
    assert 'namespace="risk-service-prod"' in latency
    assert errors.endswith(" or vector(NaN)")  # no data: Inconclusive, not an error


def test_canary_needs_a_prometheus_address(render: Render) -> None:
    """A canary environment without --prometheus-url is a usage error (no invented address)."""
    with pytest.raises(UsageError, match="--prometheus-url"):
        render("prod", prometheus_url=None)
    with pytest.raises(UsageError, match="http"):
        render("prod", prometheus_url="prometheus:9090")
    assert render("dev", prometheus_url=None)  # no analysis, no address needed


# --- pods ----------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pods_are_locked_down(render: Render, env: str) -> None:
    """Every pod runs non-root with a read-only root, no privilege escalation, no capabilities,
    RuntimeDefault seccomp, no API token, and resource requests and limits."""
    specs = pod_specs(render(env))
    assert len(specs) == 2
    for spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["runAsUser"] != 0
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert set(container["resources"]) == {"requests", "limits"}
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
            assert container["image"] == IMAGE


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_container_probes_health_and_readiness(render: Render, env: str) -> None:
    """The API container's liveness probe is /healthz and its readiness probe /readyz, on the
    named port that is the container port."""
    api = pod_specs(render(env))[0]["containers"][0]
    assert api["ports"] == [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}]
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert str(CONTAINER_PORT) in api["args"]


def test_service_account_mounts_no_token(render: Render) -> None:
    """The ServiceAccount itself disables token automounting."""
    assert only(render("prod"), "ServiceAccount")["automountServiceAccountToken"] is False


def test_config_map_holds_only_real_service_settings(render: Render) -> None:
    """Each ConfigMap key is RISK_SERVICE_ + a field of risk_service.config.Settings, and the
    environment is named."""
    from risk_service.config import Settings  # noqa: PLC0415

    data = only(render("staging"), "ConfigMap")["data"]
    assert data["RISK_SERVICE_ENVIRONMENT"] == "staging"
    for key in data:
        assert key.startswith("RISK_SERVICE_")
        assert key.removeprefix("RISK_SERVICE_").lower() in Settings.model_fields


def test_secrets_are_references_never_values(
    render: Render, policy: DeliveryConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With secret values in the process environment and a credentialed database_url in the
    policy, the output holds only a secretKeyRef: no secret value, no Secret object."""
    secrets = ("postgresql://risk:hunter2-s3cret@db.internal/risk", "anonymize-key-0xdeadbeef")
    monkeypatch.setenv("RISK_SERVICE_DATABASE_URL", secrets[0])
    monkeypatch.setenv("RISK_SERVICE_ANONYMIZE_KEY", secrets[1])
    config = with_env(policy, "prod", database_url=secrets[0])
    docs = render("prod", config)
    text = to_yaml(docs) + json.dumps(docs)
    for secret in secrets:
        assert secret not in text
    assert "hunter2" not in text
    assert "Secret" not in {d["kind"] for d in docs}
    for spec in pod_specs(docs):
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        ref = env["RISK_SERVICE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": SECRET_NAME, "key": DATABASE_URL_KEY}
        assert "value" not in env["RISK_SERVICE_DATABASE_URL"]


def test_release_identity_reaches_version_endpoint(render: Render) -> None:
    """With a known release, the pods get its version, commit and digest (what /version shows)
    and the version label; without one, none of them."""
    info = ReleaseInfo("rel-7", "1.4.0+g1a2b3c4", "1a2b3c4d" * 5, "sha256:" + "ab" * 32)
    spec = pod_specs(render("prod", release=info))[0]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["RISK_SERVICE_VERSION"] == "1.4.0+g1a2b3c4"
    assert env["RISK_SERVICE_GIT_SHA"] == "1a2b3c4d" * 5
    assert env["RISK_SERVICE_ARTIFACT_DIGEST"] == "sha256:" + "ab" * 32
    rollout = only(render("prod", release=info), "Rollout")
    assert rollout["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == (
        "1.4.0_g1a2b3c4"
    )
    plain = pod_specs(render("prod"))[0]["containers"][0]["env"]
    assert [e["name"] for e in plain] == ["RISK_SERVICE_DATABASE_URL"]


# --- daily run -----------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_daily_run_cronjob_fires_at_five_new_york(render: Render, env: str) -> None:
    """The CronJob runs `risk-service daily-run` at 05:00 America/New_York on weekdays, one at
    a time, with a starting deadline and a retry limit."""
    cron = only(render(env), "CronJob")["spec"]
    assert cron["timeZone"] == "America/New_York"
    assert cron["schedule"] == "0 5 * * 1-5"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert 0 < cron["startingDeadlineSeconds"] <= 3600
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 1
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    script = job["template"]["spec"]["containers"][0]["command"][-1]
    assert "risk-service daily-run --date" in script


def test_daily_run_schedule_matches_the_services_scheduler() -> None:
    """The CronJob fires when `risk-service scheduler` does: RUN_TIME in NEW_YORK."""
    from risk_service.sessions import NEW_YORK, RUN_TIME  # noqa: PLC0415

    minute, hour, *_ = DAILY_RUN_SCHEDULE.split()
    assert (int(hour), int(minute)) == (RUN_TIME.hour, RUN_TIME.minute)
    assert NEW_YORK.key == DAILY_RUN_TIME_ZONE


def _fake_service(tmp_path: Path, exit_code: int) -> dict[str, str]:
    """A `risk-service` on PATH that records its arguments and exits with ``exit_code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "risk-service"
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/args"\nexit {exit_code}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize(("service_exit", "job_exit"), [(0, 0), (3, 0), (1, 1), (2, 2)])
def test_daily_run_script_treats_a_non_session_as_nothing_to_do(
    tmp_path: Path, service_exit: int, job_exit: int
) -> None:
    """The job's shell passes today's New York date; exit 3 ("not an NYSE session") ends the
    job successfully, any other failure fails it (so Kubernetes retries it)."""
    env = _fake_service(tmp_path, service_exit)
    done = subprocess.run(
        ["/bin/sh", "-c", daily_run_script()], env=env, capture_output=True, check=False
    )
    assert done.returncode == job_exit
    args = (tmp_path / "args").read_text().split()
    assert args[:2] == ["daily-run", "--date"]
    day = dt.date.fromisoformat(args[2])
    utc_today = dt.datetime.now(dt.UTC).date()
    assert abs((day - utc_today).days) <= 1  # New York's date, within a day of UTC's


def test_daily_run_image_can_be_pinned_separately(render: Render) -> None:
    """--daily-run-image keeps the CronJob on another image (e.g. the stable release)."""
    stable = "registry.example.com/risk/risk-service:1.2.2"
    docs = render("prod", daily_run_image=stable)
    api, daily = pod_specs(docs)
    assert api["containers"][0]["image"] == IMAGE
    assert daily["containers"][0]["image"] == stable


# --- options and errors --------------------------------------------------------------------


def test_unknown_environment_is_a_usage_error(render: Render) -> None:
    """An environment the policy does not define is a usage error naming the known ones."""
    with pytest.raises(
        ConfigError, match=r"unknown environment 'qa' \(known: dev, staging, prod\)"
    ):
        render("qa")


@pytest.mark.parametrize(
    "image",
    [
        "risk-service",
        "registry.example.com:5000/risk-service",
        "risk-service:latest",
        "risk-service@sha256:1234",
        "risk service:1",
        "",
    ],
)
def test_floating_or_malformed_images_are_refused(render: Render, image: str) -> None:
    """An image without a fixed tag or a full sha256 digest is refused: it could change under
    the same manifest."""
    with pytest.raises(UsageError):
        render("dev", image=image)


@pytest.mark.parametrize(
    "image",
    [
        "risk-service:1.2.3",
        "registry.example.com:5000/team/risk-service:2026.11.26-1a2b3c4",
        "ghcr.io/acme/risk-service@sha256:" + "0" * 64,
    ],
)
def test_pinned_images_are_accepted(render: Render, image: str) -> None:
    """Tagged and digest-pinned references are used as given."""
    assert pod_specs(render("dev", image=image))[0]["containers"][0]["image"] == image


def test_namespace_options(render: Render) -> None:
    """--namespace renames the namespace everywhere; --create-namespace renders it first, with
    the restricted Pod Security Standard enforced."""
    docs = render("dev", namespace="risk-dev", create_namespace=True)
    assert docs[0]["kind"] == "Namespace"
    assert docs[0]["metadata"]["name"] == "risk-dev"
    assert docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {d["metadata"]["namespace"] for d in docs[1:]} == {"risk-dev"}
    with pytest.raises(UsageError, match="DNS label"):
        render("dev", namespace="Risk_Dev")


def test_replicas_option_and_defaults(render: Render) -> None:
    """--replicas overrides the per-strategy default (recreate 1, blue-green 2, canary 4)."""
    assert only(render("dev"), "Deployment")["spec"]["replicas"] == 1
    assert only(render("staging"), "Rollout")["spec"]["replicas"] == 2
    assert only(render("prod"), "Rollout")["spec"]["replicas"] == 4
    assert only(render("prod", replicas=10), "Rollout")["spec"]["replicas"] == 10
    with pytest.raises(UsageError):
        render("prod", replicas=0)


def test_rendering_is_deterministic_and_does_not_share_objects(policy: DeliveryConfig) -> None:
    """Two renders give equal output, and the YAML has no anchors (no shared sub-objects)."""
    options = RenderOptions(env="prod", image=IMAGE, prometheus_url="http://p:9090")
    first, second = render_k8s(policy, options), render_k8s(policy, options)
    assert first == second
    text = to_yaml(first)
    assert "&id" not in text
    assert "*id" not in text


def test_split_by_kind_numbers_files_in_apply_order(render: Render) -> None:
    """One file per kind, numbered in the order the kinds first appear (Namespace first)."""
    names = [name for name, _ in split_by_kind(render("prod", create_namespace=True))]
    assert names[0] == "00-namespace.yaml"
    assert names == [
        "00-namespace.yaml",
        "01-serviceaccount.yaml",
        "02-configmap.yaml",
        "03-service.yaml",
        "04-analysistemplate.yaml",
        "05-rollout.yaml",
        "06-poddisruptionbudget.yaml",
        "07-cronjob.yaml",
    ]
