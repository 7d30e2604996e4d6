"""``riskctl render k8s``: one environment's delivery policy as Kubernetes manifests (SPEC §6).

A pure function of (policy, environment, options) → manifest dicts: no files, no clock, no
cluster. What it renders for one environment:

- ``Namespace`` (only with ``create_namespace``; Pod Security "restricted" enforced),
  ``ServiceAccount`` (no API token mounted), ``ConfigMap`` (non-secret ``RISK_SERVICE_*``);
- the workload, by the environment's strategy:

  ===========  ======================================================================
  canary       Argo Rollouts ``Rollout`` (``strategy.canary``): the steps of
               :func:`riskctl.rollout.plan.plan_steps` — the very plan the local
               controller runs — as ``setWeight`` / ``pause`` / ``analysis`` steps; a stable, a
               canary and a root ``Service``; an ``AnalysisTemplate`` on Prometheus
               comparing canary with stable (error rate, error increase, p99 latency,
               p99 against stable, sample size) with the thresholds of
               ``[environments.ENV.analysis]``
  bluegreen    ``Rollout`` (``strategy.blueGreen``): active and preview ``Service``,
               ``scaleDownDelaySeconds`` = ``keep_previous_s``, a pre-promotion
               ``AnalysisTemplate`` that checks the preview's ``/readyz``
  recreate     an ``apps/v1`` ``Deployment`` with the ``Recreate`` strategy and one
               ``Service``
  ===========  ======================================================================

- a ``PodDisruptionBudget`` (one pod at a time) and a ``CronJob`` for the daily run at
  05:00 America/New_York on weekdays (the service itself refuses non-NYSE sessions, which the
  job treats as "nothing to do").

Secrets are never rendered: the database URL is a ``secretKeyRef`` to a Secret the operator
creates (:data:`SECRET_NAME`, key :data:`DATABASE_URL_KEY`). A policy's ``database_url`` (which
may hold credentials) is deliberately ignored here.

What stays in riskctl (SPEC §6): gates, approvals, change windows, the shadow comparison and the
audit trail — the manifests only carry the rollout mechanics.

Size: over ~500 lines on purpose — one small pure builder per Kubernetes object, kept beside the
others because together they are the single mapping from a policy to manifests (the schemas in
``render/schemas`` check the result offline).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, assert_never
from urllib.parse import urlsplit

from riskctl.config import Analysis, DeliveryConfig, Environment
from riskctl.errors import UsageError
from riskctl.model import Strategy
from riskctl.riskclient import API_PREFIX, HEALTHZ, READYZ
from riskctl.rollout import Step, StepKind
from riskctl.rollout.plan import plan_steps

__all__ = [
    "APP",
    "CONTAINER_PORT",
    "DAILY_RUN_SCHEDULE",
    "DAILY_RUN_TIME_ZONE",
    "DATABASE_URL_KEY",
    "DEFAULT_KUBERNETES_VERSION",
    "SECRET_NAME",
    "ReleaseInfo",
    "RenderOptions",
    "argo_steps",
    "daily_run_script",
    "render_k8s",
]

Manifest = dict[str, Any]

APP = "risk-service"
#: The oldest Kubernetes minor the manifests are meant for (CronJob ``timeZone`` is GA since
#: 1.27); validating against an older schema catches fields only newer clusters accept.
DEFAULT_KUBERNETES_VERSION = "1.30"
#: The port ``risk-service serve`` listens on in the image (Dockerfile ``EXPOSE 8000``).
CONTAINER_PORT = 8000
#: The image's fixed non-root user and group (Dockerfile ``USER 10001:10001``).
RUN_AS = 10001
#: The pod listens on all of its interfaces: the Service reaches it on the pod's own IP.
LISTEN_ALL = "0.0.0.0"  # noqa: S104  # nosec B104
#: An emptyDir mounted over the image's /tmp (the pod's, not the host's).
SCRATCH_DIR = "/tmp"  # noqa: S108  # nosec B108
#: The image's home and working directory; its ``var/`` is the only writable place besides /tmp.
WORKDIR = "/srv/risk-service"
#: The Secret the operator creates in the namespace; riskctl never renders its values.
SECRET_NAME = f"{APP}-secrets"
DATABASE_URL_KEY = "database-url"
#: The daily run: 05:00 New York on weekdays, as ``risk-service scheduler`` fires
#: (risk_service.sessions.RUN_TIME / NEW_YORK); holidays are refused by the service itself.
DAILY_RUN_TIME_ZONE = "America/New_York"
DAILY_RUN_SCHEDULE = "0 5 * * 1-5"
#: A start later than 05:30 is skipped: the numbers are due at 06:00 New York.
DAILY_RUN_STARTING_DEADLINE_S = 1800
#: A run still going after an hour is stopped (and retried while backoffLimit allows).
DAILY_RUN_ACTIVE_DEADLINE_S = 3600
DAILY_RUN_BACKOFF_LIMIT = 2
#: ``risk-service daily-run`` exits 3 when the date is not an NYSE session.
NOT_A_SESSION_EXIT = 3
#: Prometheus needs several scrapes in a ``rate()`` window (four at the common 15 s interval),
#: so the Kubernetes analysis window is at least this long even when the local one is 10 s.
MIN_PROMETHEUS_WINDOW_S = 60
MIN_PROMETHEUS_INTERVAL_S = 15
#: Only the API's own routes count, as in the local analysis (riskctl.analysis.prometheus).
V1_ROUTES = API_PREFIX + ".*"
#: The Prometheus label that must carry the pods' ``rollouts-pod-template-hash`` label (a
#: ``labelmap`` relabelling of ``__meta_kubernetes_pod_label_*`` produces exactly this name).
POD_HASH_LABEL = "rollouts_pod_template_hash"
REQUESTS_METRIC = "risk_service_http_requests_total"
LATENCY_BUCKETS = "risk_service_http_request_duration_seconds_bucket"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_UNPINNED_TAGS = frozenset({"latest"})


@dataclass(frozen=True)
class ReleaseInfo:
    """What riskctl knows about the release the image was built from (for ``/version``)."""

    id: str
    version: str
    commit: str
    digest: str


@dataclass(frozen=True)
class RenderOptions:
    """Everything besides the policy that decides the manifests.

    ``image`` is required: riskctl builds wheels, not images, so it cannot know the image
    reference CI pushed. ``daily_run_image`` pins the CronJob separately (default: ``image``) so
    a pipeline can keep the daily run on the stable release until a canary is promoted.
    """

    env: str
    image: str
    namespace: str | None = None
    create_namespace: bool = False
    replicas: int | None = None
    prometheus_url: str | None = None
    daily_run_image: str | None = None
    fast_track: bool = False
    release: ReleaseInfo | None = None

    @property
    def resolved_namespace(self) -> str:
        """``namespace``, else ``risk-service-ENV``."""
        return self.namespace or f"{APP}-{self.env}"


# --- public entry point --------------------------------------------------------------------


def render_k8s(config: DeliveryConfig, options: RenderOptions) -> list[Manifest]:
    """The manifests of ``options.env``, in apply order. Raises :class:`UsageError` for an
    unknown environment or an unusable option (exit code 2)."""
    spec = config.environment(options.env)
    _check_options(spec, options)
    ns = options.resolved_namespace
    labels = _labels(options)
    docs: list[Manifest] = []
    if options.create_namespace:
        docs.append(_namespace(ns, labels))
    docs += [
        _service_account(ns, labels),
        _config_map(ns, labels, options.env),
        *_services(ns, labels, spec.strategy),
    ]
    if spec.strategy is Strategy.CANARY:
        docs.append(_canary_analysis(ns, labels, spec.analysis, _prometheus(options)))
    elif spec.strategy is Strategy.BLUEGREEN:
        docs.append(_preview_analysis(ns, labels, spec.analysis))
    docs += [
        _workload(config, spec, options, labels),
        _pod_disruption_budget(ns, labels),
        _daily_run(ns, labels, options),
    ]
    return docs


def argo_steps(steps: tuple[Step, ...], analysis_template: str) -> list[Manifest]:
    """Argo Rollouts canary steps for the local controller's plan (same order, same weights)."""
    out: list[Manifest] = []
    for step in steps:
        if step.kind is StepKind.SET_WEIGHT:
            out.append({"setWeight": int(step.value or 0)})
        elif step.kind is StepKind.PAUSE:
            # No value: wait for a promotion (`kubectl argo rollouts promote`).
            out.append(
                {"pause": {}}
                if step.value is None
                else {"pause": {"duration": f"{math.ceil(step.value)}s"}}
            )
        elif step.kind is StepKind.ANALYZE:
            out.append({"analysis": _analysis_ref(analysis_template)})
        else:
            assert_never(step.kind)
    return out


# --- checks --------------------------------------------------------------------------------


def _check_options(spec: Environment, options: RenderOptions) -> None:
    ns = options.resolved_namespace
    if len(ns) > 63 or not _DNS_LABEL.match(ns):
        raise UsageError(f"namespace {ns!r} is not a DNS label (a-z, 0-9, '-', at most 63)")
    for flag, ref in (("--image", options.image), ("--daily-run-image", options.daily_run_image)):
        if ref is not None:
            _check_image(flag, ref)
    if options.replicas is not None and options.replicas < 1:
        raise UsageError("--replicas must be at least 1")
    if spec.strategy is Strategy.CANARY:
        _prometheus(options)
    if options.prometheus_url is not None:
        parts = urlsplit(options.prometheus_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--prometheus-url must be an http(s) URL: {options.prometheus_url!r}")


def _check_image(flag: str, ref: str) -> None:
    """An image reference with an explicit tag or digest: an implicit ``latest`` floats."""
    if not ref or any(c.isspace() for c in ref):
        raise UsageError(f"{flag} must be an image reference, got {ref!r}")
    name, _, digest = ref.partition("@")
    if digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise UsageError(f"{flag}: {digest!r} is not a sha256 digest")
        return
    # A ':' in the last path component starts the tag (one before it may be a registry port).
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag or tag in _UNPINNED_TAGS:
        repository = name.removesuffix(f":{tag}") if tag else name
        raise UsageError(
            f"{flag} {ref!r} has no fixed tag or digest; give e.g. {repository}:1.2.3 "
            "or …@sha256:<digest>"
        )


def _prometheus(options: RenderOptions) -> str:
    if options.prometheus_url is None:
        raise UsageError(
            f"environment {options.env!r} runs canary analysis on Prometheus: "
            "give --prometheus-url (the in-cluster address of the Prometheus server)"
        )
    return options.prometheus_url.rstrip("/")


# --- metadata ------------------------------------------------------------------------------


def _labels(options: RenderOptions) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/instance": f"{APP}-{options.env}",
        "app.kubernetes.io/part-of": APP,
        "app.kubernetes.io/managed-by": "riskctl",
    }


def _selector(labels: Mapping[str, str], component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": labels["app.kubernetes.io/name"],
        "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"],
        "app.kubernetes.io/component": component,
    }


def _meta(name: str, ns: str | None, labels: Mapping[str, str], **extra: str) -> Manifest:
    meta: Manifest = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    meta["labels"] = {**labels, **extra}
    return meta


# --- simple objects ------------------------------------------------------------------------


def _namespace(ns: str, labels: Mapping[str, str]) -> Manifest:
    # The pods below meet the "restricted" Pod Security Standard; enforce it for the namespace.
    pod_security = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(ns, None, labels, **pod_security),
    }


def _service_account(ns: str, labels: Mapping[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(APP, ns, labels),
        # The service never talks to the Kubernetes API: no token in its pods.
        "automountServiceAccountToken": False,
    }


def _config_map(ns: str, labels: Mapping[str, str], env: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{APP}-config", ns, labels),
        # Non-secret settings only (risk_service.config.Settings reads RISK_SERVICE_*).
        "data": {"RISK_SERVICE_ENVIRONMENT": env, "RISK_SERVICE_LOG_LEVEL": "INFO"},
    }


def _service(ns: str, labels: Mapping[str, str], name: str, role: str) -> Manifest:
    meta = _meta(name, ns, labels, **{"app.kubernetes.io/component": "api"})
    meta["annotations"] = {"risk-service/role": role}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            # Argo Rollouts adds the pod-template hash to the selector of the stable/canary and
            # active/preview Services; the root Service selects every API pod.
            "selector": _selector(labels, "api"),
            "ports": [
                {"name": "http", "port": CONTAINER_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def _services(ns: str, labels: Mapping[str, str], strategy: Strategy) -> list[Manifest]:
    if strategy is Strategy.CANARY:
        return [
            _service(ns, labels, APP, "root: every API pod (weights follow pod counts)"),
            _service(ns, labels, f"{APP}-stable", "stable"),
            _service(ns, labels, f"{APP}-canary", "canary"),
        ]
    if strategy is Strategy.BLUEGREEN:
        return [
            _service(ns, labels, APP, "active: the promoted colour"),
            _service(ns, labels, f"{APP}-preview", "preview: the new colour before promotion"),
        ]
    return [_service(ns, labels, APP, "every API pod")]


def _pod_disruption_budget(ns: str, labels: Mapping[str, str]) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(APP, ns, labels),
        # One pod at a time: keeps capacity during node drains and never blocks them, even
        # with a single replica (minAvailable would).
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _selector(labels, "api")}},
    }


# --- pods ----------------------------------------------------------------------------------


def _env(options: RenderOptions) -> list[Manifest]:
    env: list[Manifest] = [
        {
            "name": "RISK_SERVICE_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": DATABASE_URL_KEY}},
        }
    ]
    release = options.release
    if release is not None:
        env += [
            {"name": "RISK_SERVICE_VERSION", "value": release.version},
            {"name": "RISK_SERVICE_GIT_SHA", "value": release.commit},
            {"name": "RISK_SERVICE_ARTIFACT_DIGEST", "value": release.digest},
        ]
    return env


def _container_security() -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_spec(containers: list[Manifest], *, restart_policy: str | None = None) -> Manifest:
    spec: Manifest = {
        "serviceAccountName": APP,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        # The root filesystem is read-only: scratch space for the metrics directory
        # (PROMETHEUS_MULTIPROC_DIR under /tmp) and the working directory's var/.
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            {"name": "var", "emptyDir": {"sizeLimit": "1Gi"}},
        ],
    }
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    return spec


def _volume_mounts() -> list[Manifest]:
    return [
        {"name": "tmp", "mountPath": SCRATCH_DIR},
        {"name": "var", "mountPath": f"{WORKDIR}/var"},
    ]


def _api_container(options: RenderOptions) -> Manifest:
    def http_probe(path: str, period: int, failures: int) -> Manifest:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 3,
            "failureThreshold": failures,
        }

    return {
        "name": APP,
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "serve",
            "--host",
            LISTEN_ALL,
            "--port",
            str(CONTAINER_PORT),
            "--workers",
            "2",
        ],
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{APP}-config"}}],
        "env": _env(options),
        # Startup covers imports and the first store connection; liveness only asks whether
        # the process answers, readiness whether it can serve (store, schema, market data).
        "startupProbe": http_probe(HEALTHZ.path, 2, 30),
        "livenessProbe": http_probe(HEALTHZ.path, 10, 3),
        "readinessProbe": http_probe(READYZ.path, 5, 2),
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "2", "memory": "1Gi"},
        },
        "securityContext": _container_security(),
        "volumeMounts": _volume_mounts(),
    }


def _pod_template(options: RenderOptions, labels: Mapping[str, str]) -> Manifest:
    pod_labels = {**labels, **_selector(labels, "api")}
    if options.release is not None:
        pod_labels["app.kubernetes.io/version"] = _label_value(options.release.version)
    return {
        "metadata": {"labels": pod_labels},
        "spec": _pod_spec([_api_container(options)]),
    }


def _label_value(text: str) -> str:
    """``text`` as a label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:63].strip("._-")
    return cleaned or "unknown"


# --- workloads -----------------------------------------------------------------------------


def _replicas(spec: Environment, options: RenderOptions) -> int:
    if options.replicas is not None:
        return options.replicas
    # Without a traffic router Argo Rollouts splits traffic by pod counts: 4 pods make a 10 %
    # step one canary pod (25 %). A traffic router or more replicas gets closer; see the docs.
    return {Strategy.RECREATE: 1, Strategy.BLUEGREEN: 2, Strategy.CANARY: 4}[spec.strategy]


def _workload(
    config: DeliveryConfig, spec: Environment, options: RenderOptions, labels: Mapping[str, str]
) -> Manifest:
    ns = options.resolved_namespace
    body: Manifest = {
        "replicas": _replicas(spec, options),
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": _selector(labels, "api")},
        "template": _pod_template(options, labels),
    }
    meta = _meta(APP, ns, labels, **{"app.kubernetes.io/component": "api"})
    if spec.strategy is Strategy.RECREATE:
        # Argo Rollouts has no recreate strategy; a Deployment is the plain equivalent.
        body["strategy"] = {"type": "Recreate"}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": body}
    steps = plan_steps(spec.strategy, spec, _weights(config, spec, options), has_stable=True)
    if spec.strategy is Strategy.CANARY:
        body["strategy"] = {
            "canary": {
                "stableService": f"{APP}-stable",
                "canaryService": f"{APP}-canary",
                "steps": argo_steps(steps, f"{APP}-canary"),
            }
        }
    else:
        blue_green: Manifest = {
            "activeService": APP,
            "previewService": f"{APP}-preview",
            "autoPromotionEnabled": True,
            # The previous colour stays up this long: rollback is one selector change.
            "scaleDownDelaySeconds": math.ceil(spec.keep_previous_s),
        }
        if any(step.kind is StepKind.ANALYZE for step in steps):
            blue_green["prePromotionAnalysis"] = {"templates": [{"templateName": f"{APP}-preview"}]}
        body["strategy"] = {"blueGreen": blue_green}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": meta, "spec": body}


def _weights(config: DeliveryConfig, spec: Environment, options: RenderOptions) -> tuple[int, ...]:
    if options.fast_track:
        fast = config.change_classes.fast_track
        if not fast.enabled:
            raise UsageError("the policy file does not enable the fast track")
        return fast.canary_steps
    return spec.canary_steps


def _analysis_ref(template: str) -> Manifest:
    # Argo resolves these when the step starts: the new pods' and the stable pods' hashes.
    return {
        "templates": [{"templateName": template}],
        "args": [
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
        ],
    }


# --- analysis ------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A threshold as a plain decimal (``0.000001``, ``2``): no exponent, which both PromQL and
    Argo's expression language read the same way."""
    return f"{value:.12f}".rstrip("0").rstrip(".") or "0"


def _timing(analysis: Analysis) -> tuple[int, int, int]:
    """(window_s, interval_s, count): the local window, stretched to what Prometheus can see."""
    window = max(math.ceil(analysis.seconds), MIN_PROMETHEUS_WINDOW_S)
    interval = max(math.ceil(analysis.interval_s), MIN_PROMETHEUS_INTERVAL_S)
    return window, interval, max(1, math.ceil(window / interval))


def _selector_text(ns: str, hash_arg: str, extra: str = "") -> str:
    return (
        "{"
        f'namespace="{ns}",{POD_HASH_LABEL}="{{{{args.{hash_arg}}}}}",route=~"{V1_ROUTES}"'
        f"{extra}"
        "}"
    )


def _error_ratio(ns: str, hash_arg: str, window: int) -> str:
    five_xx = _selector_text(ns, hash_arg, ',status=~"5.."')
    errors = f"sum(rate({REQUESTS_METRIC}{five_xx}[{window}s]))"
    total = f"sum(rate({REQUESTS_METRIC}{_selector_text(ns, hash_arg)}[{window}s]))"
    # No 5xx series yet means no errors; no traffic at all leaves the ratio empty (below: NaN).
    return f"(({errors}) or vector(0)) / {total}"


def _p99(ns: str, hash_arg: str, window: int) -> str:
    buckets = f"rate({LATENCY_BUCKETS}{_selector_text(ns, hash_arg)}[{window}s])"
    return f"histogram_quantile(0.99, sum by (le) ({buckets}))"


def _metric(name: str, query: str, limit: str, analysis: Analysis, address: str) -> Manifest:
    """One Prometheus metric: pass within ``limit``, fail beyond it. Without data the query is
    NaN, neither condition holds and the measurement is Inconclusive: the rollout pauses for a
    person (as the local controller does when it cannot decide); it is neither promoted nor
    aborted."""
    _window, interval, count = _timing(analysis)
    return {
        "name": name,
        "initialDelay": f"{interval}s",
        "interval": f"{interval}s",
        "count": count,
        # A failure aborts at once (the local analysis acts on the first significant failure).
        "failureLimit": 0,
        "successCondition": f"result[0] <= {limit}",
        "failureCondition": f"result[0] > {limit}",
        "provider": {"prometheus": {"address": address, "query": f"({query}) or vector(NaN)"}},
    }


def _sample_size(query: str, minimum: str, analysis: Analysis, address: str) -> Manifest:
    """Enough canary requests to decide: too few is Inconclusive (a pause), never a failure —
    thin traffic says nothing against the release."""
    return _metric("sample-size", query, minimum, analysis, address) | {
        "successCondition": f"result[0] >= {minimum}",
        "failureCondition": "false",
    }


def _canary_analysis(
    ns: str, labels: Mapping[str, str], analysis: Analysis, address: str
) -> Manifest:
    window, _, _ = _timing(analysis)
    canary_errors = _error_ratio(ns, "canary-hash", window)
    stable_errors = _error_ratio(ns, "stable-hash", window)
    canary_p99 = _p99(ns, "canary-hash", window)
    stable_p99 = _p99(ns, "stable-hash", window)
    floor = f"({stable_p99} + {_num(analysis.min_latency_increase_ms / 1000)})"
    scaled = f"({stable_p99} * {_num(analysis.max_latency_ratio)})"
    # max(scaled, floor): slower than stable only counts when slower by a material margin too.
    allowed = f"(({scaled} > {floor}) or {floor})"
    samples = f"sum(increase({REQUESTS_METRIC}{_selector_text(ns, 'canary-hash')}[{window}s]))"
    metrics = [
        _sample_size(samples, _num(analysis.min_samples), analysis, address),
        _metric("error-rate", canary_errors, _num(analysis.max_error_rate), analysis, address),
        _metric(
            "error-increase",
            f"({canary_errors}) - ({stable_errors})",
            _num(analysis.max_error_increase),
            analysis,
            address,
        ),
        _metric("p99-latency", canary_p99, _num(analysis.max_p99_seconds), analysis, address),
        _metric("p99-vs-stable", f"{canary_p99} - {allowed}", "0", analysis, address),
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": _meta(f"{APP}-canary", ns, labels),
        "spec": {"args": [{"name": "canary-hash"}, {"name": "stable-hash"}], "metrics": metrics},
    }


def _preview_analysis(ns: str, labels: Mapping[str, str], analysis: Analysis) -> Manifest:
    # Before promotion the preview colour has no live traffic, so there is nothing to compare
    # on Prometheus: the check is that the new pods are ready to serve (store reachable, schema
    # compatible, market data loaded), asked through the preview Service over the window.
    interval = max(1, math.ceil(analysis.interval_s))
    count = max(1, math.ceil(analysis.seconds / interval))
    url = f"http://{APP}-preview.{ns}.svc.cluster.local:{CONTAINER_PORT}{READYZ.path}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": _meta(f"{APP}-preview", ns, labels),
        "spec": {
            "metrics": [
                {
                    "name": "preview-ready",
                    "interval": f"{interval}s",
                    "count": count,
                    "failureLimit": 0,
                    "successCondition": 'result == "ready"',
                    "provider": {
                        "web": {"url": url, "jsonPath": "{$.status}", "timeoutSeconds": 5}
                    },
                }
            ]
        },
    }


# --- daily run -----------------------------------------------------------------------------


def daily_run_script() -> str:
    """The CronJob's shell: today's New York date, and "not a session" (exit 3) is no failure.

    ``TZ=America/New_York date`` gives the business date; should the image lack tzdata, ``date``
    falls back to UTC, which is the same calendar day from 05:00 to 19:00 New York — the job
    starts between 05:00 and 05:30 (``startingDeadlineSeconds``).
    """
    return (
        f'day="$(TZ={DAILY_RUN_TIME_ZONE} date +%F)"\n'
        'risk-service daily-run --date "$day"\n'
        "status=$?\n"
        f'if [ "$status" -eq {NOT_A_SESSION_EXIT} ]; then\n'
        '  echo "$day is not an NYSE session: no risk run"\n'
        "  exit 0\n"
        "fi\n"
        'exit "$status"\n'
    )


def _daily_run(ns: str, labels: Mapping[str, str], options: RenderOptions) -> Manifest:
    container: Manifest = {
        "name": "daily-run",
        "image": options.daily_run_image or options.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", daily_run_script()],
        "envFrom": [{"configMapRef": {"name": f"{APP}-config"}}],
        "env": _env(options),
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
        "securityContext": _container_security(),
        "volumeMounts": _volume_mounts(),
    }
    pod_labels = {**labels, **_selector(labels, "daily-run")}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(
            f"{APP}-daily-run", ns, labels, **{"app.kubernetes.io/component": "daily-run"}
        ),
        "spec": {
            "schedule": DAILY_RUN_SCHEDULE,
            "timeZone": DAILY_RUN_TIME_ZONE,
            # One run at a time: a re-run of the same date replaces its results, but two at
            # once would race for the same transaction.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": DAILY_RUN_STARTING_DEADLINE_S,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "backoffLimit": DAILY_RUN_BACKOFF_LIMIT,
                    "activeDeadlineSeconds": DAILY_RUN_ACTIVE_DEADLINE_S,
                    "template": {
                        "metadata": {"labels": pod_labels},
                        "spec": _pod_spec([container], restart_policy="Never"),
                    },
                },
            },
        },
    }
