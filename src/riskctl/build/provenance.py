"""An in-toto Statement v1 with a SLSA Provenance v1 predicate describing one build.

References: in-toto attestation ``spec/v1/statement.md``; SLSA ``spec/v1.0/provenance``.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["PREDICATE_TYPE", "STATEMENT_TYPE", "statement"]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/risk-service/riskctl/build-types/wheel@v1"


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def statement(
    *,
    subjects: Mapping[str, str],
    repository: str,
    commit: str,
    dirty: bool,
    epoch: int,
    builder_id: str,
    builder_version: str,
    invocation_id: str,
    started: datetime,
    finished: datetime,
    byproducts: Mapping[str, str],
) -> dict[str, Any]:
    """The statement: subjects and byproducts map file names to SHA-256 hex digests."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha}} for name, sha in subjects.items()],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "repository": repository,
                    "commit": commit,
                    "allowDirty": dirty,
                },
                "internalParameters": {
                    "SOURCE_DATE_EPOCH": epoch,
                    "python": platform.python_version(),
                },
                "resolvedDependencies": [
                    {"uri": f"git+{repository}@{commit}", "digest": {"gitCommit": commit}}
                ],
            },
            "runDetails": {
                "builder": {"id": builder_id, "version": {"riskctl": builder_version}},
                "metadata": {
                    "invocationId": invocation_id,
                    "startedOn": _ts(started),
                    "finishedOn": _ts(finished),
                },
                "byproducts": [
                    {"name": name, "digest": {"sha256": sha}} for name, sha in byproducts.items()
                ],
            },
        },
    }
