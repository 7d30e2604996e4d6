"""Offline validation: every rendered manifest passes, and a broken one is caught with its path."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import kubernetes_validate
import pytest

from riskctl.render.validate import (
    ARGO_SCHEMAS,
    DEFAULT_KUBERNETES_VERSION,
    ManifestInvalidError,
    ValidatorUnavailableError,
    check_manifests,
    strict_schema,
    validate_manifests,
)
from tests.riskctl.render.conftest import Render
from tests.riskctl.render.support import ENVIRONMENTS, only

Doc = dict[str, Any]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_validates(render: Render, env: str) -> None:
    """All manifests of dev, staging and prod (Namespace included) pass the strict Kubernetes
    schemas and the vendored Argo Rollouts schemas."""
    docs = render(env, create_namespace=True)
    assert validate_manifests(docs) == []
    check_manifests(docs)  # does not raise


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_core_kinds_pass_kubernetes_validate_itself(render: Render, env: str) -> None:
    """The core kinds also pass kubernetes-validate's own entry point in strict mode (the
    library's API, not this package's reading of its schema files)."""
    core = [
        d for d in render(env, create_namespace=True) if d["apiVersion"] != "argoproj.io/v1alpha1"
    ]
    assert {d["kind"] for d in core} >= {"Service", "CronJob", "PodDisruptionBudget"}
    for doc in core:
        kubernetes_validate.validate(doc, DEFAULT_KUBERNETES_VERSION, strict=True)


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A mutation that sets ``path`` (dots, [n] indexes) to ``value``."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]

    def apply(doc: Doc) -> None:
        node: Any = doc
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value

    return apply


ROLLOUT_BREAKAGES = [
    # (what is wrong, mutation, reported path, message fragment)
    (
        "unknown strategy field",
        _set("spec.strategy.canary.stepz", []),
        "spec.strategy.canary.stepz",
        "unknown field",
    ),
    (
        "weight of the wrong type",
        _set("spec.strategy.canary.steps[0].setWeight", "ten"),
        "spec.strategy.canary.steps[0].setWeight",
        "is not of type 'integer'",
    ),
    (
        "unknown field inside a step",
        _set("spec.strategy.canary.steps[0].setWieght", 10),
        "spec.strategy.canary.steps[0].setWieght",
        "unknown field",
    ),
    (
        "int32 overflow",
        _set("spec.replicas", 2**40),
        "spec.replicas",
        "int32",
    ),
    (
        "typo in the pod's security context (Kubernetes PodSpec)",
        _set("spec.template.spec.containers[0].securityContext.runAsNonRot", True),
        "spec.template.spec.containers[0].securityContext.runAsNonRot",
        "unknown field",
    ),
    (
        "port of the wrong type (Kubernetes PodSpec)",
        _set("spec.template.spec.containers[0].ports[0].containerPort", "http"),
        "spec.template.spec.containers[0].ports[0].containerPort",
        "is not of type 'integer'",
    ),
    (
        "template metadata beyond labels and annotations",
        _set("spec.template.metadata.name", "x"),
        "spec.template.metadata.name",
        "unknown field",
    ),
    ("status in a manifest", _set("status", {}), "status", "unknown field"),
    ("unknown metadata field", _set("metadata.nmae", "x"), "metadata.nmae", "unknown field"),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [b[1:] for b in ROLLOUT_BREAKAGES],
    ids=[b[0] for b in ROLLOUT_BREAKAGES],
)
def test_a_broken_rollout_fails_with_the_bad_fields_path(
    render: Render, mutate: Callable[[Doc], None], path: str, fragment: str
) -> None:
    """A Rollout with an unknown field or a wrong type fails validation, naming the field."""
    rollout = copy.deepcopy(only(render("prod"), "Rollout"))
    mutate(rollout)
    problems = validate_manifests([rollout])
    assert [(p.kind, p.name, p.path) for p in problems] == [("Rollout", "risk-service", path)]
    assert fragment in problems[0].message
    with pytest.raises(ManifestInvalidError, match=re.escape(path)):
        check_manifests([rollout])


def test_a_broken_blue_green_rollout_fails(render: Render) -> None:
    """The blue-green strategy is checked too: its required activeService cannot be dropped."""
    rollout = copy.deepcopy(only(render("staging"), "Rollout"))
    del rollout["spec"]["strategy"]["blueGreen"]["activeService"]
    problems = validate_manifests([rollout])
    assert [p.path for p in problems] == ["spec.strategy.blueGreen"]
    assert "'activeService' is a required property" in problems[0].message


def test_a_broken_analysis_template_fails(render: Render) -> None:
    """A provider field the CRD does not know, or a metric without a provider, is caught."""
    template = copy.deepcopy(only(render("prod"), "AnalysisTemplate"))
    template["spec"]["metrics"][0]["provider"]["prometheus"]["timeout"] = 5
    del template["spec"]["metrics"][1]["provider"]
    problems = validate_manifests([template])
    assert sorted(p.path for p in problems) == [
        "spec.metrics[0].provider.prometheus.timeout",
        "spec.metrics[1]",
    ]


@pytest.mark.parametrize(
    ("kind", "mutate", "path"),
    [
        ("CronJob", _set("spec.timezone", "UTC"), "spec.timezone"),
        ("CronJob", _set("spec.startingDeadlineSeconds", "1800"), "spec.startingDeadlineSeconds"),
        (
            "CronJob",
            _set("spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy", 3),
            "spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy",
        ),
        ("Service", _set("spec.ports[0].port", "8000"), "spec.ports[0].port"),
        ("PodDisruptionBudget", _set("spec.maxUnavaliable", 1), "spec.maxUnavaliable"),
        ("ServiceAccount", _set("automountToken", False), "automountToken"),
    ],
)
def test_a_broken_core_manifest_fails(
    render: Render, kind: str, mutate: Callable[[Doc], None], path: str
) -> None:
    """Core kinds are checked strictly as well: unknown fields and wrong types fail."""
    doc = copy.deepcopy(only(render("prod"), kind, None if kind != "Service" else "risk-service"))
    mutate(doc)
    assert [p.path for p in validate_manifests([doc])] == [path]


def test_a_kind_without_schema_is_a_problem() -> None:
    """A manifest whose kind has no schema is reported, never silently passed."""
    docs = [{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
    problems = validate_manifests(docs)
    assert len(problems) == 1
    assert str(problems[0]) == "Widget/w: (document): no schema for Widget example.com/v1"


def test_unknown_kubernetes_versions_are_usage_errors(render: Render) -> None:
    """A version older than any shipped schema, or not a version, is a usage error (exit 2)."""
    docs = render("dev")
    with pytest.raises(ValidatorUnavailableError, match="no Kubernetes schemas for 1.2"):
        validate_manifests(docs, "1.2")
    with pytest.raises(ValidatorUnavailableError, match="not a Kubernetes version"):
        validate_manifests(docs, "latest")
    assert validate_manifests(docs, "v1.31.4") == []


def test_strict_schema_closes_objects_but_not_open_ones() -> None:
    """strict_schema forbids unknown fields where the CRD lists properties, keeps
    x-kubernetes-preserve-unknown-fields and explicit maps open, turns the Kubernetes markers
    into $refs, and is not fooled by a field named "properties"."""
    schema = {
        "type": "object",
        "properties": {
            "properties": {"type": "object", "properties": {"a": {"type": "string"}}},
            "open": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {},
            },
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "pod": {"x-riskctl-kubernetes-definition": "io.k8s.api.core.v1.PodSpec"},
            "list": {"type": "array", "items": {"type": "object", "properties": {"b": {}}}},
        },
    }
    strict = strict_schema(schema, "https://k8s.example/defs.json")
    assert strict["additionalProperties"] is False
    assert strict["properties"]["properties"]["additionalProperties"] is False
    assert "additionalProperties" not in strict["properties"]["open"]
    assert strict["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert strict["properties"]["pod"] == {
        "$ref": "https://k8s.example/defs.json#/$defs/io.k8s.api.core.v1.PodSpec"
    }
    assert strict["properties"]["list"]["items"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # the input is not modified


@pytest.mark.parametrize("file_name", sorted(ARGO_SCHEMAS.values()))
def test_vendored_schemas_record_their_source(file_name: str) -> None:
    """Each vendored Argo schema names its repository, commit and path, and the README lists
    the same commit."""
    schemas = resources.files("riskctl.render").joinpath("schemas")
    schema = json.loads(schemas.joinpath(file_name).read_text("utf-8"))
    source = schema["x-riskctl-source"]
    assert source["repository"] == "https://github.com/argoproj/argo-rollouts"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert source["path"].startswith("manifests/crds/")
    assert (source["apiVersion"], source["kind"]) in ARGO_SCHEMAS
    readme = schemas.joinpath("README.md").read_text("utf-8")
    assert source["commit"] in readme
    assert file_name in readme
