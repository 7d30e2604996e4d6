"""riskctl's client of the risk service against the service's own OpenAPI document: every path,
method, query parameter and JSON field riskctl relies on exists there, with the auth it expects;
and riskctl's code addresses the service only through riskctl.riskclient."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from risk_service.api import create_app, sampling
from risk_service.config import Settings
from riskctl import riskclient
from riskctl.riskclient import ENDPOINTS, Endpoint

SRC = Path(__file__).resolve().parents[2] / "src" / "riskctl"


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document of the service as it is built (never served)."""
    store = tmp_path_factory.mktemp("contract") / "service.sqlite"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="dev",  # type: ignore[arg-type]
        database_url=f"sqlite:///{store}",
        log_level="WARNING",
    )
    return create_app(settings).openapi()


def _operation(spec: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    path = spec["paths"].get(endpoint.path)
    assert path is not None, f"the service has no {endpoint.path}"
    operation = path.get(endpoint.method.lower())
    assert operation is not None, f"the service has no {endpoint.describe()}"
    return dict(operation)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    if "anyOf" in schema:  # Optional[X]: the non-null branch
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _resolve(spec, schema)
    return schema


def _field_schema(spec: dict[str, Any], schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    """The schema of ``samples[].path``-style ``dotted`` within ``schema`` (fails if absent)."""
    for part in dotted.split("."):
        item = part.endswith("[]")
        name = part.removesuffix("[]")
        props = _resolve(spec, schema).get("properties", {})
        assert name in props, f"no field {name!r} in {sorted(props)}"
        schema = _resolve(spec, props[name])
        if item:
            assert schema.get("type") == "array", f"{name} is not an array"
            schema = _resolve(spec, schema["items"])
    return schema


def _json_schema(spec: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    return _resolve(spec, content["application/json"]["schema"])


def _ids() -> list[str]:
    return [e.describe() for e in ENDPOINTS]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_ids())
def test_each_operation_exists(openapi: dict[str, Any], endpoint: Endpoint) -> None:
    """The service publishes each path riskctl calls, with the method riskctl uses."""
    _operation(openapi, endpoint)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_ids())
def test_the_token_is_asked_where_riskctl_sends_it(
    openapi: dict[str, Any], endpoint: Endpoint
) -> None:
    """An authenticated endpoint takes the Authorization header; an open one does not."""
    params = _operation(openapi, endpoint).get("parameters", [])
    headers = {p["name"].lower() for p in params if p["in"] == "header"}
    assert (riskclient.AUTHORIZATION.lower() in headers) is endpoint.authenticated


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.query], ids=lambda e: e.path)
def test_query_parameters_exist(openapi: dict[str, Any], endpoint: Endpoint) -> None:
    """Each query parameter riskctl passes is one the operation declares."""
    params = _operation(openapi, endpoint).get("parameters", [])
    declared = {p["name"] for p in params if p["in"] == "query"}
    assert set(endpoint.query) <= declared


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.request_fields], ids=lambda e: e.describe()
)
def test_request_fields_exist_and_nothing_required_is_missing(
    openapi: dict[str, Any], endpoint: Endpoint
) -> None:
    """riskctl's request bodies use the service's field names and carry every required one."""
    body = _json_schema(openapi, _operation(openapi, endpoint)["requestBody"]["content"])
    assert set(endpoint.request_fields) <= set(body["properties"])
    assert set(body.get("required", ())) <= set(endpoint.request_fields)


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.response_fields], ids=lambda e: e.describe()
)
def test_response_fields_are_promised(openapi: dict[str, Any], endpoint: Endpoint) -> None:
    """Each field riskctl reads from a 200 answer is in the response schema (and required)."""
    ok = _operation(openapi, endpoint)["responses"]["200"]
    schema = _json_schema(openapi, ok["content"])
    for dotted in endpoint.response_fields:
        _field_schema(openapi, schema, dotted)
        parent, _, leaf = dotted.rpartition(".")
        holder = _field_schema(openapi, schema, parent) if parent else schema
        assert leaf.removesuffix("[]") in _resolve(openapi, holder).get("required", []), dotted


def test_the_endpoint_list_is_what_riskctl_calls() -> None:
    """ENDPOINTS holds every Endpoint riskclient defines, once."""
    defined = [v for v in vars(riskclient).values() if isinstance(v, Endpoint)]
    assert sorted(e.describe() for e in defined) == sorted(e.describe() for e in ENDPOINTS)
    assert len(set(ENDPOINTS)) == len(ENDPOINTS)


def test_replay_targets_and_marker_headers_match_the_service() -> None:
    """Replay goes only to calculation endpoints; the marker headers are those the service
    leaves out of its request samples."""
    assert {riskclient.VAR.path, riskclient.PORTFOLIO_VAR.path} == riskclient.REPLAYABLE
    assert sampling.SHADOW_HEADER in riskclient.SHADOW_HEADERS
    assert sampling.LOAD_HEADER in riskclient.LOAD_HEADERS
    assert riskclient.bearer("t") == {"Authorization": "Bearer t"}


def test_api_prefix_covers_the_versioned_paths(openapi: dict[str, Any]) -> None:
    """The versioned API's paths all start with API_PREFIX; the operational ones do not."""
    versioned = {p for p in openapi["paths"] if p.startswith(riskclient.API_PREFIX)}
    operational = set(openapi["paths"]) - versioned
    assert {"/healthz", "/readyz", "/version", "/metrics"} == operational
    assert {e.path for e in ENDPOINTS if e.authenticated} <= versioned


#: A literal that is a bare path, or a URL on this host (an f-string's pieces count alone).
_ADDRESS = re.compile(r"(?:https?://(?:127\.0\.0\.1|localhost)(?::\d+)?)?(/\S*)")


def _path_literals(source: str) -> Iterator[tuple[int, str]]:
    """String literals in ``source`` (not docstrings) that address a service path."""
    paths = {e.path for e in ENDPOINTS} | {riskclient.API_PREFIX}
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = _ADDRESS.fullmatch(node.value.strip())
            if found and id(node) not in docstrings:
                path = found.group(1).partition("?")[0]
                if any(path == p or path.startswith(p.rstrip("/") + "/") for p in paths):
                    yield node.lineno, node.value


def test_no_second_definition_of_a_service_path() -> None:
    """Outside riskclient, no riskctl code spells a service path (comments, docstrings and
    help texts aside): every client addresses the service through riskclient's names."""
    found = [
        f"{file.relative_to(SRC)}:{line}: {text!r}"
        for file in sorted(SRC.rglob("*.py"))
        if file.name != "riskclient.py"
        for line, text in _path_literals(file.read_text())
    ]
    assert found == []


def test_the_path_scan_flags_what_it_must() -> None:
    """Bare paths, loopback URLs and f-string pieces are found; other hosts' URLs, other
    paths, prose and docstrings are not."""
    source = '''
def f(port):
    """GET /v1/var answers."""
    a = "/v1/var"
    b = f"http://127.0.0.1:{port}/metrics"
    c = "http://localhost:8000/readyz?x=1"
    d = "/v1/admin/request-samples"
    e = "https://api.osv.dev/v1/querybatch"
    g = "/api/v1/query"
    h = "the digest /version reports"
    i = "/v1"
    j = "/healthzz"
'''
    assert sorted(line for line, _ in _path_literals(source)) == [4, 5, 6, 7]
