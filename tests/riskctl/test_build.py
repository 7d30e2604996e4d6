"""riskctl build: reproducible digests, dirty trees, SBOM and provenance against their schemas,
and the DSSE signature."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import cyclonedx.schema._res as cdx_schemas
import jsonschema
import pytest
from referencing import Registry, Resource

from riskctl.signing import dsse_verify, load_public_key
from tests.riskctl.conftest import Built, Cli
from tests.riskctl.fixture_project import commit_all

DATA = Path(__file__).parent / "data"


def _release_dir(built: Built, release: str) -> Path:
    return built.home / "releases" / release


def test_same_commit_builds_the_same_digest(built: Built, cli: Cli, tmp_path: Path) -> None:
    """Building the same commit again, into a fresh home, gives byte-identical artifacts."""
    cli.env["RISKCTL_HOME"] = str(tmp_path / "other-home")
    again = cli("build", "--json")
    assert again.code == 0, again.stderr
    out = again.json()
    assert out["digest"] == built.digest
    assert out["rebuilt_identical"] is False
    first = json.loads((_release_dir(built, built.release) / "release.json").read_text())
    for name in (first["wheel"], "requirements.lock"):
        assert out["artifacts"][name] == first["artifacts"][name]


def test_changed_file_changes_the_digest(built: Built, cli: Cli) -> None:
    """Any committed change to the project gives a different digest and records the diff."""
    (built.repo / "docs" / "index.md").write_text("# Fixture service, v2\n", encoding="utf-8")
    (built.repo / "src" / "fixture_svc" / "__init__.py").write_text('"""v2."""\n')
    commit_all(built.repo, "v2")
    out = cli("build", "--json").json()
    assert out["digest"] != built.digest
    assert out["release"] != built.release


def test_dirty_tree_is_refused_and_recorded(built: Built, cli: Cli) -> None:
    """Uncommitted changes are refused (exit 3) unless --allow-dirty, which marks the release."""
    (built.repo / "src" / "fixture_svc" / "extra.py").write_text("X = 1\n")
    refused = cli("build", "--json")
    assert refused.code == 3
    assert "dirty" in refused.json()["error"]
    assert cli.audit_actions()[-1] == "build.refused"
    allowed = cli("build", "--allow-dirty", "--json")
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["dirty"] is True
    assert allowed.json()["digest"] != built.digest


def test_build_output_names_the_contract_fields(built: Built) -> None:
    """The release record carries release, digest, commit, author and version."""
    record = json.loads((_release_dir(built, built.release) / "release.json").read_text())
    assert record["release"] == built.release
    assert record["digest"] == built.digest
    assert record["author"] == "eng-1"
    assert record["version"] == "1.0.0"
    assert len(record["commit"]) == 40


def test_signing_keys_are_private(built: Built) -> None:
    """Private keys are created with mode 0600."""
    for key in ("audit.key", "release.key"):
        mode = stat.S_IMODE((built.home / "keys" / key).stat().st_mode)
        assert mode == 0o600


def _statement(built: Built) -> dict[str, Any]:
    envelope = (_release_dir(built, built.release) / "provenance.dsse.json").read_bytes()
    return dsse_verify(envelope, load_public_key(built.home / "keys" / "release.pub"))


def test_provenance_validates_against_intoto_and_slsa_schemas(built: Built) -> None:
    """The signed statement is an in-toto Statement v1 with a valid SLSA v1 predicate."""
    statement = _statement(built)
    checker = jsonschema.FormatChecker()
    statement_schema = json.loads((DATA / "intoto-statement-v1.schema.json").read_text())
    predicate_schema = json.loads((DATA / "slsa-provenance-v1.schema.json").read_text())
    jsonschema.Draft202012Validator(statement_schema, format_checker=checker).validate(statement)
    jsonschema.Draft202012Validator(predicate_schema, format_checker=checker).validate(
        statement["predicate"]
    )
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    record = json.loads((_release_dir(built, built.release) / "release.json").read_text())
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert subjects[record["wheel"]] == record["artifacts"][record["wheel"]]


def test_provenance_schema_rejects_a_broken_statement(built: Built) -> None:
    """The vendored schemas are not vacuous: a subject without digest fails."""
    statement = _statement(built)
    statement["subject"] = [{"name": "x"}]
    schema = json.loads((DATA / "intoto-statement-v1.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(statement)


def test_sbom_validates_against_cyclonedx_1_6(built: Built) -> None:
    """The SBOM is CycloneDX 1.6 JSON (schema shipped by cyclonedx-python-lib)."""
    res = Path(cdx_schemas.__file__).parent
    schema = json.loads((res / "bom-1.6.SNAPSHOT.schema.json").read_text())
    registry: Registry = Registry()
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        contents = json.loads((res / name).read_text())
        uri = "http://cyclonedx.org/schema/" + name  # how bom-1.6 refers to them
        registry = registry.with_resource(uri, Resource.from_contents(contents))
    bom = json.loads((_release_dir(built, built.release) / "sbom.cdx.json").read_text())
    jsonschema.Draft7Validator(schema, registry=registry).validate(bom)
    assert bom["specVersion"] == "1.6"
    props = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
    assert props["riskctl:release-digest"] == built.digest


def test_dsse_signature_fails_when_one_byte_changes(built: Built) -> None:
    """Changing one byte of the payload or of the signature breaks verification."""
    path = _release_dir(built, built.release) / "provenance.dsse.json"
    public = load_public_key(built.home / "keys" / "release.pub")
    envelope = json.loads(path.read_bytes())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[10] ^= 0x01
    bad_payload = {**envelope, "payload": base64.b64encode(bytes(payload)).decode()}
    with pytest.raises(ValueError, match="no valid signature"):
        dsse_verify(json.dumps(bad_payload).encode(), public)
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 0x01
    bad_sig = {
        **envelope,
        "signatures": [{**envelope["signatures"][0], "sig": base64.b64encode(bytes(sig)).decode()}],
    }
    with pytest.raises(ValueError, match="no valid signature"):
        dsse_verify(json.dumps(bad_sig).encode(), public)
    with pytest.raises(ValueError, match="malformed"):
        dsse_verify(b"{}", public)
