"""Offline validation of rendered manifests against the Kubernetes and Argo Rollouts schemas.

Core kinds (Deployment, Service, CronJob, …) are checked against the *strict* JSON schemas that
the ``kubernetes-validate`` package ships for each Kubernetes minor version (unknown fields are
errors). ``Rollout`` and ``AnalysisTemplate`` are checked against the vendored Argo Rollouts CRD
schemas in ``schemas/`` (see its README), made strict here by :func:`strict_schema`; their
embedded pod and job specs refer to the same Kubernetes definitions.

::

    RiskctlError
    ├── ManifestInvalidError       exit 1  a manifest violates its schema (``problems``)
    └── UsageError
        └── ValidatorUnavailableError  exit 2  kubernetes-validate missing, or no such version
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema
from referencing import Registry, Resource

from riskctl.errors import RiskctlError, UsageError
from riskctl.render.k8s import DEFAULT_KUBERNETES_VERSION

__all__ = [
    "ARGO_SCHEMAS",
    "DEFAULT_KUBERNETES_VERSION",
    "ManifestInvalidError",
    "Problem",
    "ValidatorUnavailableError",
    "check_manifests",
    "strict_schema",
    "validate_manifests",
]


#: (apiVersion, kind) → vendored schema file.
ARGO_SCHEMAS: Mapping[tuple[str, str], str] = {
    ("argoproj.io/v1alpha1", "Rollout"): "rollout-v1alpha1.json",
    ("argoproj.io/v1alpha1", "AnalysisTemplate"): "analysistemplate-v1alpha1.json",
}

_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_MARKER = "x-riskctl-kubernetes-definition"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


class ManifestInvalidError(RiskctlError):
    """At least one manifest violates its schema; ``problems`` lists each violation."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} schema violation(s):\n{lines}")
        self.problems = tuple(problems)
        self.results = {"problems": [p.as_dict() for p in problems]}


class ValidatorUnavailableError(UsageError):
    """The schemas to validate against are not available here."""


@dataclass(frozen=True)
class Problem:
    """One violation: which manifest, the path of the bad field, what is wrong."""

    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}: {self.path or '(document)'}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"kind": self.kind, "name": self.name, "path": self.path, "message": self.message}


def validate_manifests(
    docs: Iterable[Mapping[str, Any]], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[Problem]:
    """Every schema violation in ``docs`` (empty when all are valid)."""
    problems: list[Problem] = []
    for doc in docs:
        kind = str(doc.get("kind", "?"))
        meta = doc.get("metadata")
        name = str(meta.get("name", "?")) if isinstance(meta, Mapping) else "?"
        try:
            validator = _validator(str(doc.get("apiVersion", "")), kind, kubernetes_version)
        except _NoSchemaError as exc:
            problems.append(Problem(kind, name, "", str(exc)))
            continue
        for error in validator.iter_errors(doc):
            problems += [Problem(kind, name, path, msg) for path, msg in _describe(error)]
    return problems


def check_manifests(
    docs: Iterable[Mapping[str, Any]], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> None:
    """Raise :class:`ManifestInvalidError` unless every manifest is valid."""
    problems = validate_manifests(docs, kubernetes_version)
    if problems:
        raise ManifestInvalidError(problems)


def strict_schema(node: Any, definitions_id: str = _DEFINITIONS_ID) -> Any:
    """A copy of a CRD schema in which unknown fields are errors and the Kubernetes-type markers
    are ``$ref``s into the Kubernetes definitions (``definitions_id``).

    Walks the schema keywords (``properties``, ``items``, ``additionalProperties``, ``anyOf``…),
    so a field that happens to be called ``properties`` is not mistaken for the keyword.
    """
    if not isinstance(node, dict):
        return node
    if _MARKER in node:
        return {"$ref": f"{definitions_id}#/$defs/{node[_MARKER]}"}
    out = dict(node)
    if isinstance(node.get("properties"), dict):
        out["properties"] = {
            name: strict_schema(sub, definitions_id) for name, sub in node["properties"].items()
        }
        if "additionalProperties" not in node and not node.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            out[key] = strict_schema(node[key], definitions_id)
    for key in ("anyOf", "allOf", "oneOf"):
        if isinstance(node.get(key), list):
            out[key] = [strict_schema(sub, definitions_id) for sub in node[key]]
    return out


# --- internals -----------------------------------------------------------------------------


class _NoSchemaError(Exception):
    pass


_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("int32")  # type: ignore[untyped-decorator]
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")  # type: ignore[untyped-decorator]
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _describe(error: Any) -> list[tuple[str, str]]:
    """(path, message) of one jsonschema error; an unknown field is named in the path."""
    path = _path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(key) for key in error.instance if key not in known)
        if extra:
            return [(_path([*error.absolute_path, key]), "unknown field") for key in extra]
    return [(path, error.message)]


def _path(parts: Iterable[object]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _minor(version: str) -> tuple[int, int]:
    match = _VERSION.match(version)
    if not match:
        raise ValidatorUnavailableError(f"not a Kubernetes version: {version!r} (e.g. 1.30)")
    return int(match[1]), int(match[2])


@cache
def _kubernetes_dir(version: str) -> Traversable:
    """The strict schema directory of the newest minor not newer than ``version``."""
    try:
        root = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    except ModuleNotFoundError:
        raise ValidatorUnavailableError(
            "validation needs the kubernetes-validate package (in the dev extra: "
            "pip install kubernetes-validate)"
        ) from None
    wanted = _minor(version)
    found: dict[tuple[int, int], Traversable] = {}
    for entry in root.iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match:
            found[(int(match[1]), int(match[2]))] = entry
    usable = [minor for minor in found if minor <= wanted]
    if not usable:
        oldest = ".".join(map(str, min(found))) if found else "none"
        raise ValidatorUnavailableError(
            f"no Kubernetes schemas for {version} (oldest available: {oldest})"
        )
    return found[max(usable)]


@cache
def _definitions(version: str) -> Resource[Any]:
    text = _kubernetes_dir(version).joinpath("_definitions.json").read_text(encoding="utf-8")
    return Resource.from_contents(json.loads(text))


@cache
def _argo_schema(file_name: str) -> dict[str, Any]:
    text = resources.files("riskctl.render").joinpath("schemas", file_name).read_text("utf-8")
    schema: dict[str, Any] = strict_schema(json.loads(text))
    # The CRD leaves metadata open (`type: object`); the API server checks it as ObjectMeta.
    schema["properties"]["metadata"] = {"$ref": f"{_DEFINITIONS_ID}#/$defs/{_OBJECT_META}"}
    return schema


@cache
def _validator(api_version: str, kind: str, version: str) -> Any:
    definitions = _definitions(version)
    argo = ARGO_SCHEMAS.get((api_version, kind))
    if argo is not None:
        schema = _argo_schema(argo)
    else:
        # kubernetes-validate's file naming: "apps/v1" -> "apps-v1", "policy/v1" -> "policy-v1".
        group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        entry = _kubernetes_dir(version).joinpath(f"{kind.lower()}-{group}.json")
        if not api_version or not entry.is_file():
            raise _NoSchemaError(f"no schema for {kind} {api_version or '(no apiVersion)'}")
        schema = json.loads(entry.read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(_DEFINITIONS_ID, definitions)
    if "$id" in schema:
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)
